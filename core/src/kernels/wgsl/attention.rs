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
/// `[b, 1, t, s]` (the same buffer for every layer) and the scale.
#[derive(Debug, Clone)]
struct Saved {
    q: CubeTensor,
    k: CubeTensor,
    v: CubeTensor,
    mask: Option<CubeTensor>,
    scale: f64,
}

#[derive(Debug)]
struct AttentionBackward;

impl Backward<Cube, 3> for AttentionBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_q, node_k, node_v] = ops.parents;
        let d_out = from_cube::<4>(grads.consume::<Cube>(&ops.node)); // [b, h, t, d]
        let Saved { q, k, v, mask, scale } = ops.state;
        let (q, k, v) = (from_cube::<4>(q), from_cube::<4>(k), from_cube::<4>(v));
        let mask = mask.map(Tensor::<4, Bool>::from_primitive::<Cube>);
        let [b, h, t, d] = q.dims();
        let [_, g, s, _] = k.dims();
        let rt = (h / g) * t; // the r query heads of a kv group, stacked: [b, g, r·t, ·]

        // 1. Recompute the probabilities the forward pass did not keep.   // [b, g, r·t, s]
        let p = reference::attention_probs(q.clone(), k.clone(), mask.as_ref(), scale).reshape([b, g, rt, s]);
        let d_out = d_out.reshape([b, g, rt, d]);

        // 2. dV = Pᵀ·dO, summed over the group's query heads by the matmul.  // [b, g, s, d]
        if let Some(node) = node_v {
            let dv = p.clone().swap_dims(2, 3).matmul(d_out.clone());
            grads.register::<Cube>(node.id, into_cube(dv));
        }
        if node_q.is_none() && node_k.is_none() {
            return;
        }

        // 3. Softmax backward: dS = P ⊙ (dP − Σ_s dP ⊙ P), with dP = dO·Vᵀ. Blocked positions
        //    get no gradient (as mask_fill's backward gives none); this matters only on fully
        //    masked padding rows, where P is uniform rather than 0.              // [b, g, r·t, s]
        let dp = d_out.matmul(v.swap_dims(2, 3));
        let ds = p.clone() * (dp.clone() - (dp * p).sum_dim(3));
        let ds = match &mask {
            Some(mask) => ds.reshape([b, h, t, s]).mask_fill(mask.clone().expand([b, h, t, s]), 0.0).reshape([b, g, rt, s]),
            None => ds,
        } * scale;

        // 4. Through the scores c·Q·Kᵀ: dQ = c·dS·K, dK = c·dSᵀ·Q.
        if let Some(node) = node_q {
            let dq = ds.clone().matmul(k).reshape([b, h, t, d]); // [b, h, t, d]
            grads.register::<Cube>(node.id, into_cube(dq));
        }
        if let Some(node) = node_k {
            let dk = ds.swap_dims(2, 3).matmul(q.reshape([b, g, rt, d])); // [b, g, s, d]
            grads.register::<Cube>(node.id, into_cube(dk));
        }
    }
}

fn into_cube<const D: usize>(t: Tensor<D>) -> CubeTensor {
    t.try_into_primitive::<Cube>().expect("a wgpu tensor")
}

/// Grouped-query attention, `reference::attention`'s twin: q `[b, h, t, d]`, k and v
/// `[b, g, s, d]`, mask `[b, 1, t, s]` (true = blocked) → `[b, h, t, d]` in v's dtype, computed
/// in f32. Differentiable in q, k and v; the backward pass recomputes the probabilities.
/// Without autodiff (generation) it is the reference itself.
pub fn attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: Option<&Tensor<4, Bool>>, scale: f64) -> Tensor<4> {
    if !(q.is_autodiff() || k.is_autodiff() || v.is_autodiff()) {
        return reference::attention(q, k, v, mask, scale);
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
    let out = reference::attention(
        from_cube(qp.clone()),
        from_cube(kp.clone()),
        from_cube(vp.clone()),
        plain_mask.as_ref(),
        scale,
    );
    let out = into_cube(out);
    let out = match AttentionBackward.prepare::<NoCheckpointing>([q_node, k_node, v_node]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(Saved { q: qp, k: kp, v: vp, mask, scale }, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::<4>::from_primitive::<Autodiff<Cube>>(out).cast(dtype)
}
