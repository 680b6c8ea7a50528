//! Reference twins of the WGSL kernels, written with plain burn tensor ops. They run on every
//! backend (the CPU included) and are what the kernels are tested against.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Bool, FloatDType, Int, Tensor, TensorData};

use crate::model::vocab::VocabMatrix;

/// RMSNorm over the last dimension, in f32 whatever the compute dtype (as transformers does):
/// `x / sqrt(mean(x²) + eps) · w`, returned in x's dtype.
pub fn rms_norm<const D: usize>(x: Tensor<D>, w: Tensor<1>, eps: f64) -> Tensor<D> {
    let dtype: FloatDType = x.dtype().into();
    let x32 = x.cast(FloatDType::F32);
    let variance = x32.clone().square().mean_dim(D - 1); // [.., 1]
    let normed = x32 * (variance + eps).sqrt().recip();
    let dims = normed.dims();
    let w = w.cast(FloatDType::F32);
    let mut shape = [1usize; D];
    shape[D - 1] = dims[D - 1];
    let w = w.reshape(shape).expand(dims);
    (normed * w).cast(dtype)
}

/// `x * cos + rotate_half(x) * sin` with `rotate_half(x) = cat(-x[.., d/2..], x[.., ..d/2])`.
///
/// x: `[batch, heads, t, head_dim]`; cos, sin: `[batch, 1, t, head_dim]`.
pub fn rotary(x: Tensor<4>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<4> {
    let [b, h, t, d] = x.dims();
    let half = d / 2;
    let x1 = x.clone().narrow(3, 0, half);
    let x2 = x.clone().narrow(3, half, half);
    let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
    // Tables are f32; match the compute dtype (f16 runs).
    let dtype: FloatDType = x.dtype().into();
    let cos = cos.clone().cast(dtype).expand([b, h, t, d]);
    let sin = sin.clone().cast(dtype).expand([b, h, t, d]);
    x * cos + rotated * sin
}

/// Attention probabilities `softmax(scale · q·kᵀ)` in f32, with blocked positions (`mask`
/// true) filled with `f32::MIN` first: a finite fill keeps fully-masked padding rows finite
/// (uniform), as transformers does with `finfo.min`.
///
/// q: `[b, h, t, d]`; k: `[b, g, s, d]` with `h = g·r` — the `r` query heads of kv group `j` are
/// heads `j·r..(j+1)·r` (transformers' `repeat_kv` order), so repeated keys are never
/// materialised; mask: `[b, 1, t, s]`. Returns `[b, h, t, s]`.
pub fn attention_probs(q: Tensor<4>, k: Tensor<4>, mask: Option<&Tensor<4, Bool>>, scale: f64) -> Tensor<4> {
    let [b, h, t, d] = q.dims();
    let [_, g, s, _] = k.dims();
    let q = q.reshape([b, g, (h / g) * t, d]); // [b, g, r·t, d]
    let scores = q.matmul(k.swap_dims(2, 3)).reshape([b, h, t, s]); // [b, h, t, s]
    let scores = scores.cast(FloatDType::F32) * scale;
    let scores = match mask {
        Some(mask) => scores.mask_fill(mask.clone().expand([b, h, t, s]), f32::MIN),
        None => scores,
    };
    softmax(scores, 3)
}

/// Scaled dot-product attention with grouped keys and values: `attention_probs · v`.
///
/// q: `[b, h, t, d]`; k, v: `[b, g, s, d]`; mask: `[b, 1, t, s]`. Returns `[b, h, t, d]` in v's
/// dtype. Autodiff keeps the `[b, h, t, s]` scores and probabilities of every layer for the
/// backward pass; [`crate::kernels::wgsl::attention`] recomputes them instead.
pub fn attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: Option<&Tensor<4, Bool>>, scale: f64) -> Tensor<4> {
    let [b, h, t, d] = q.dims();
    let [_, g, s, _] = k.dims();
    let dtype: FloatDType = v.dtype().into();
    let probs = attention_probs(q, k, mask, scale).cast(dtype); // [b, h, t, s]
    probs.reshape([b, g, (h / g) * t, s]).matmul(v).reshape([b, h, t, d]) // [b, h, t, d]
}

/// `Σ_i −log softmax(x_i · Wᵀ)[target_i]` for `x: [n, e]` (every row supervised). When the
/// `[n, v]` logits fit one buffer this is `log_softmax` + `gather`; otherwise the vocabulary is
/// walked in blocks with a running log-sum-exp, so no buffer exceeds `max_buffer_bytes`.
pub fn cross_entropy_sum(x: Tensor<2>, head: &VocabMatrix, targets: Vec<i32>, max_buffer_bytes: Option<u64>) -> Tensor<1> {
    let n = targets.len();
    let [v, _] = head.dims();
    let device = x.device();
    let fits = max_buffer_bytes.is_none_or(|limit| (n * v * 4) as u64 <= limit);
    if head.chunks.len() == 1 && fits {
        let logits = head.project(x).cast(FloatDType::F32); // [n, v]
        let logp = log_softmax(logits, 1);
        let t = Tensor::<2, Int>::from_data(TensorData::new(targets, [n, 1]), &device);
        return logp.gather(1, t).sum().neg();
    }
    let block_rows = max_buffer_bytes.map_or(v, |limit| ((limit as usize) / (4 * n)).max(1));
    let targets = Tensor::<2, Int>::from_data(TensorData::new(targets, [n, 1]), &device);
    let (mut maxes, mut sums, mut picked) = (Vec::new(), Vec::new(), Vec::new());
    let mut offset = 0i64;
    for chunk in &head.chunks {
        let rows = chunk.dims()[0];
        for start in (0..rows).step_by(block_rows) {
            let len = block_rows.min(rows - start);
            let w = chunk.val().narrow(0, start, len); // [len, e]
            let logits = x.clone().matmul(w.transpose()).cast(FloatDType::F32); // [n, len]
            let m = logits.clone().max_dim(1).detach(); // [n, 1]
            sums.push((logits.clone() - m.clone()).exp().sum_dim(1)); // [n, 1]
            maxes.push(m);
            let local = targets.clone().sub_scalar(offset);
            let inside = local.clone().greater_equal_elem(0).bool_and(local.clone().lower_elem(len as i64));
            picked.push(logits.gather(1, local.clamp(0, len as i64 - 1)) * inside.float()); // [n, 1]
            offset += len as i64;
        }
    }
    let big_m = Tensor::cat(maxes.clone(), 1).max_dim(1); // [n, 1]
    let total = sums
        .into_iter()
        .zip(maxes)
        .map(|(s, m)| s * (m - big_m.clone()).exp())
        .reduce(|a, b| a + b)
        .expect("at least one block"); // [n, 1]
    let lse = big_m + total.log(); // [n, 1]
    let target_logit = picked.into_iter().reduce(|a, b| a + b).expect("at least one block");
    (lse - target_logit).sum()
}
