//! Attention whose backward pass recomputes the probabilities instead of keeping them.
//!
//! Plain autodiff keeps, for every layer, the `[b, h, t, s]` scores, their scaled and masked
//! copies, the softmax's intermediates and the probabilities: at seq 1024 with Qwen3-0.6B's 16
//! heads that is several 64 MB tensors per layer, 28 layers deep, which is most of a LoRA step's
//! memory. This step keeps only q, k and v (`[b, h|g, t|s, d]`, 16× smaller at head_dim 128)
//! and the shared mask; its backward recomputes the probabilities, one layer at a time, and
//! applies attention's gradient in closed form (as FlashAttention's backward does):
//!
//! ```text
//! P  = softmax(c·Q·Kᵀ, masked)      dV = Pᵀ·dO        dP = dO·Vᵀ
//! dS = P ⊙ (dP − rowsum(dP ⊙ P)), 0 where masked      dQ = c·dS·K      dK = c·dSᵀ·Q
//! ```
//!
//! Both passes walk the queries in blocks of rows, so no `[b, h, rows, s]` tensor exceeds
//! `block_bytes` (32 MiB from [`crate::kernels::Kernels::attention`]): the transient memory is
//! bounded, and long sequences work on devices whose largest buffer is small (WebGPU's default
//! and llvmpipe's 128 MiB hold the scores of only 2,048 tokens × 8 heads).
//!
//! Forward and recomputation are [`reference::attention_probs`] on plain (non-autodiff) wgpu
//! tensors, so they run burn's own matmul and softmax kernels: no hand-written shader would beat
//! its tiled matmul, and the memory saving comes from what is kept, not from how it is computed.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Cube};
use burn::tensor::{Bool, FloatDType, Tensor};
use burn_cubecl::tensor::CubeTensor;

use super::launch::from_cube;
use crate::kernels::reference;

/// What the backward step keeps: f32 q `[b, h, t, d]`, k and v `[b, g, s, d]`, the mask
/// `[b, 1, t, s]` (the same buffer for every layer), the scale and the query rows per block.
#[derive(Debug, Clone)]
struct Saved {
    q: CubeTensor,
    k: CubeTensor,
    v: CubeTensor,
    mask: Option<CubeTensor>,
    scale: f64,
    block_rows: usize,
}

/// Query rows per block: as many as keep one `[b, h, rows, s]` f32 tensor within
/// `block_bytes`, at least one.
fn rows_per_block(b: usize, h: usize, s: usize, block_bytes: u64) -> usize {
    let row_bytes = (b * h * s * 4).max(1) as u64;
    (block_bytes / row_bytes).max(1) as usize
}

/// `(start, len)` of each block of `rows` over `t` query positions.
fn blocks(t: usize, rows: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..t).step_by(rows.max(1)).map(move |start| (start, rows.min(t - start)))
}

/// The forward pass on plain tensors, block by block: `reference::attention` of each block of
/// query rows, concatenated. `[b, h, t, d]`.
fn forward_blocks(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: Option<&Tensor<4, Bool>>, scale: f64, rows: usize) -> Tensor<4> {
    let t = q.dims()[2];
    if rows >= t {
        return reference::attention(q, k, v, mask, scale);
    }
    let outs = blocks(t, rows)
        .map(|(start, len)| {
            let mask = mask.map(|m| m.clone().narrow(2, start, len));
            reference::attention(q.clone().narrow(2, start, len), k.clone(), v.clone(), mask.as_ref(), scale)
        })
        .collect();
    Tensor::cat(outs, 2)
}

#[derive(Debug)]
struct AttentionBackward;

impl Backward<Cube, 3> for AttentionBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_q, node_k, node_v] = ops.parents;
        let d_out = from_cube::<4>(grads.consume::<Cube>(&ops.node)); // [b, h, t, d]
        let Saved { q, k, v, mask, scale, block_rows } = ops.state;
        let (q, k, v) = (from_cube::<4>(q), from_cube::<4>(k), from_cube::<4>(v));
        let mask = mask.map(Tensor::<4, Bool>::from_primitive::<Cube>);
        let [b, h, t, d] = q.dims();
        let [_, g, s, _] = k.dims();
        let r = h / g; // the r query heads of a kv group, stacked: [b, g, r·rows, ·]

        let (mut dq_blocks, mut dk, mut dv) = (Vec::new(), None::<Tensor<4>>, None::<Tensor<4>>);
        for (start, len) in blocks(t, block_rows) {
            let q_blk = q.clone().narrow(2, start, len); // [b, h, len, d]
            let mask_blk = mask.as_ref().map(|m| m.clone().narrow(2, start, len)); // [b, 1, len, s]
            let d_out = d_out.clone().narrow(2, start, len).reshape([b, g, r * len, d]);

            // 1. Recompute the probabilities the forward pass did not keep.   // [b, g, r·len, s]
            let p = reference::attention_probs(q_blk.clone(), k.clone(), mask_blk.as_ref(), scale).reshape([b, g, r * len, s]);

            // 2. dV = Pᵀ·dO, summed over the group's query heads by the matmul.  // [b, g, s, d]
            if node_v.is_some() {
                let part = p.clone().swap_dims(2, 3).matmul(d_out.clone());
                dv = Some(dv.map_or(part.clone(), |acc| acc + part));
            }
            if node_q.is_none() && node_k.is_none() {
                continue;
            }

            // 3. Softmax backward: dS = P ⊙ (dP − Σ_s dP ⊙ P), with dP = dO·Vᵀ. Blocked
            //    positions get no gradient (as mask_fill's backward gives none); this matters
            //    only on fully masked padding rows, where P is uniform rather than 0.
            let dp = d_out.matmul(v.clone().swap_dims(2, 3)); // [b, g, r·len, s]
            let ds = p.clone() * (dp.clone() - (dp * p).sum_dim(3));
            let ds = match &mask_blk {
                Some(m) => ds.reshape([b, h, len, s]).mask_fill(m.clone().expand([b, h, len, s]), 0.0).reshape([b, g, r * len, s]),
                None => ds,
            } * scale;

            // 4. Through the scores c·Q·Kᵀ: dQ = c·dS·K, dK = c·dSᵀ·Q.
            if node_q.is_some() {
                dq_blocks.push(ds.clone().matmul(k.clone()).reshape([b, h, len, d])); // [b, h, len, d]
            }
            if node_k.is_some() {
                let part = ds.swap_dims(2, 3).matmul(q_blk.reshape([b, g, r * len, d])); // [b, g, s, d]
                dk = Some(dk.map_or(part.clone(), |acc| acc + part));
            }
        }
        if let (Some(node), Some(dv)) = (node_v, dv) {
            grads.register::<Cube>(node.id, into_cube(dv));
        }
        if let (Some(node), Some(dk)) = (node_k, dk) {
            grads.register::<Cube>(node.id, into_cube(dk));
        }
        if let Some(node) = node_q {
            grads.register::<Cube>(node.id, into_cube(Tensor::cat(dq_blocks, 2)));
        }
    }
}

fn into_cube<const D: usize>(t: Tensor<D>) -> CubeTensor {
    t.try_into_primitive::<Cube>().expect("a wgpu tensor")
}

/// Grouped-query attention, `reference::attention`'s twin: q `[b, h, t, d]`, k and v
/// `[b, g, s, d]`, mask `[b, 1, t, s]` (true = blocked) → `[b, h, t, d]` in v's dtype, computed
/// in f32. Differentiable in q, k and v; the backward pass recomputes the probabilities.
/// Query rows go in blocks whose `[b, h, rows, s]` scores fit `block_bytes`, forward and
/// backward; without autodiff (generation) only the blocking differs from the reference.
pub fn attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: Option<&Tensor<4, Bool>>, scale: f64, block_bytes: u64) -> Tensor<4> {
    let [b, h, _, _] = q.dims();
    let block_rows = rows_per_block(b, h, k.dims()[2], block_bytes);
    if !(q.is_autodiff() || k.is_autodiff() || v.is_autodiff()) {
        return forward_blocks(q, k, v, mask, scale, block_rows);
    }
    let dtype: FloatDType = v.dtype().into();
    let parts = |x: Tensor<4>| {
        let x = x.cast(FloatDType::F32).autodiff();
        x.try_into_primitive::<Autodiff<Cube>>().expect("an autodiff wgpu tensor").into_parts()
    };
    let ((qp, q_node), (kp, k_node), (vp, v_node)) = (parts(q), parts(k), parts(v));
    let mask = mask.map(|m| m.clone().without_autodiff().try_into_primitive::<Cube>().expect("a wgpu mask"));

    // The forward pass on plain tensors: nothing of it is recorded.
    let plain_mask = mask.clone().map(Tensor::<4, Bool>::from_primitive::<Cube>);
    let out = forward_blocks(from_cube(qp.clone()), from_cube(kp.clone()), from_cube(vp.clone()), plain_mask.as_ref(), scale, block_rows);
    let out = into_cube(out);
    let out = match AttentionBackward.prepare::<NoCheckpointing>([q_node, k_node, v_node]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(Saved { q: qp, k: kp, v: vp, mask, scale, block_rows }, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::<4>::from_primitive::<Autodiff<Cube>>(out).cast(dtype)
}
