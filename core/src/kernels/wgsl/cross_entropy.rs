//! Fused linear + masked cross-entropy on wgpu, never materialising `[tokens, vocab]`.
//!
//! The vocabulary is walked in column blocks of at most `block_bytes` of logits. Per block:
//! `z = x·W_bᵀ` (burn's tuned matmul), then `shaders/cross_entropy_chunk.wgsl` folds z into a
//! running log-sum-exp per row and leaves `exp(z − m)` in z's buffer, and the gradient
//! accumulator is rescaled and extended: `acc ← acc·alpha + exp(z − m)·W_b`. After the last
//! block, loss_i = m_i + ln s_i − z_i[label_i] and ∂loss_i/∂x_i = acc_i / s_i − W[label_i].
//! The gradient is computed during the forward pass (as Liger-Kernel's fused linear
//! cross-entropy does) and kept as the autodiff state, so backward is one scale by the
//! upstream gradient. Peak extra memory: one `[n, block]` block plus the `[n, e]` accumulator.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Cube};
use burn::tensor::{DType, FloatDType, Int, Tensor, TensorData};
use burn_cubecl::tensor::CubeTensor;

use super::launch::{empty, from_cube, launch, params, to_cube, upload, Shader};
use crate::model::vocab::VocabMatrix;

const CHUNK: &str = include_str!("../../../../shaders/cross_entropy_chunk.wgsl");

/// Backward of a scalar whose gradient was computed in the forward pass: state = ∂loss/∂x.
#[derive(Debug)]
struct PrecomputedGradient;

impl Backward<Cube, 1> for PrecomputedGradient {
    type State = CubeTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let g = grads.consume::<Cube>(&ops.node); // [1]
        if let Some(node) = node_x {
            let grad = from_cube::<2>(ops.state) * from_cube::<1>(g).unsqueeze::<2>(); // [n, e]
            grads.register::<Cube>(node.id, to_cube(grad));
        }
    }
}

/// Loss sum `[1]` and, when `with_grad`, ∂(loss sum)/∂x `[n, e]` for plain f32 `x: [n, e]` and
/// labels all inside the vocabulary.
fn loss_and_grad(x: Tensor<2>, head: &VocabMatrix, labels: &[i32], block_bytes: u64, with_grad: bool) -> (Tensor<1>, Option<Tensor<2>>) {
    let [n, e] = x.dims();
    let device = x.device();
    let xc = to_cube(x.clone());
    let label_buf = upload(&xc, &labels.iter().flat_map(|l| l.to_le_bytes()).collect::<Vec<u8>>());
    let state = empty(&xc, vec![n, 3], DType::F32); // (m, s, target logit) per row
    let cols = ((block_bytes as usize) / (4 * n)).max(1);
    let mut acc: Option<Tensor<2>> = None; // Σ exp(z − m)·W, [n, e]
    let mut offset = 0usize;
    for chunk in &head.chunks {
        let rows = chunk.dims()[0];
        for start in (0..rows).step_by(cols) {
            let len = cols.min(rows - start);
            let w = chunk.val().narrow(0, start, len).cast(FloatDType::F32); // [len, e]
            let z = to_cube(x.clone().matmul(w.clone().transpose())); // [n, len]
            let alpha = empty(&xc, vec![n], DType::F32);
            let p = params(&xc, &[n as u32, len as u32, offset as u32, (offset == 0) as u32]);
            launch(&xc, Shader::new("cross_entropy_chunk", CHUNK), n, vec![&z.handle, &label_buf, &state.handle, &alpha.handle, &p]);
            if with_grad {
                let contrib = from_cube::<2>(z).matmul(w); // [n, e]
                acc = Some(match acc {
                    None => contrib,
                    Some(a) => a * from_cube::<1>(alpha).reshape([n, 1]) + contrib,
                });
            }
            offset += len;
        }
    }
    let state = from_cube::<2>(state); // [n, 3]
    let m = state.clone().narrow(1, 0, 1);
    let s = state.clone().narrow(1, 1, 1);
    let target = state.narrow(1, 2, 1);
    let loss = (m + s.clone().log() - target).sum(); // [1]
    let grad = acc.map(|acc| {
        let ids = Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [n]), &device);
        let w_label = head.lookup(ids).cast(FloatDType::F32); // [n, e]
        debug_assert_eq!(w_label.dims(), [n, e]);
        acc / s - w_label
    });
    (loss, grad)
}

/// `Σ_i −log softmax(x_i·Wᵀ)[label_i]` over rows whose label is not −100, for `x: [n, e]` and
/// the (frozen) vocabulary matrix `W: [v, e]`; `[1]`, f32. Differentiable in x.
pub fn linear_cross_entropy_sum(x: Tensor<2>, head: &VocabMatrix, labels: &[i32], block_bytes: u64) -> Tensor<1> {
    // 1. Only supervised rows cost vocabulary work.
    let (x, labels) = match crate::kernels::supervised_rows(x, labels) {
        Ok(rows) => rows,
        Err(zero) => return zero, // zero loss, zero gradient, still in the graph
    };
    let x = x.cast(FloatDType::F32); // [n, e]

    // 2. Plain inputs: the loss alone.
    if !x.is_autodiff() {
        return loss_and_grad(x, head, &labels, block_bytes, false).0;
    }
    // 3. Autodiff: the gradient is computed now and becomes the backward step's state.
    let x = x.try_into_primitive::<Autodiff<Cube>>().expect("an autodiff wgpu tensor");
    let (xp, x_node) = x.into_parts();
    let x_values = from_cube::<2>(xp);
    match PrecomputedGradient.prepare::<NoCheckpointing>([x_node]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let (loss, grad) = loss_and_grad(x_values, head, &labels, block_bytes, true);
            let grad = to_cube(grad.expect("requested"));
            Tensor::<1>::from_primitive::<Autodiff<Cube>>(prep.finish(grad, to_cube(loss)))
        }
        OpsKind::UnTracked(prep) => {
            let (loss, _) = loss_and_grad(x_values, head, &labels, block_bytes, false);
            Tensor::<1>::from_primitive::<Autodiff<Cube>>(prep.finish(to_cube(loss)))
        }
    }
}
