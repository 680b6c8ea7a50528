//! RMSNorm on wgpu: `shaders/rms_norm_forward.wgsl`, `rms_norm_backward.wgsl` (input gradient)
//! and `rms_norm_backward_weight.wgsl` (weight gradient, only when the weight trains), with the
//! backward registered in burn's autodiff graph.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Cube};
use burn::tensor::{DType, FloatDType, Tensor};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::launch::{empty, f32_word, from_cube, launch, params, row_workgroup, to_cube, Shader};

const FORWARD: &str = include_str!("../../../../shaders/rms_norm_forward.wgsl");
const BACKWARD: &str = include_str!("../../../../shaders/rms_norm_backward.wgsl");
const BACKWARD_WEIGHT: &str = include_str!("../../../../shaders/rms_norm_backward_weight.wgsl");

/// x: `[rows, d]`, w: `[d]` → (y `[rows, d]`, 1/rms `[rows]`).
fn forward_raw(x: &CubeTensor, w: &CubeTensor, eps: f64) -> (CubeTensor, CubeTensor) {
    let [rows, d] = [x.meta.shape()[0], x.meta.shape()[1]];
    let y = empty(x, vec![rows, d], DType::F32);
    let rstd = empty(x, vec![rows], DType::F32);
    if rows > 0 {
        let p = params(x, &[rows as u32, d as u32, f32_word(eps as f32)]);
        launch(x, Shader::sized("rms_norm_forward", FORWARD, row_workgroup(d)), rows, vec![&x.handle, &w.handle, &y.handle, &rstd.handle, &p]);
    }
    (y, rstd)
}

/// dL/dx for upstream gradient `g: [rows, d]`.
fn backward_input(g: &CubeTensor, x: &CubeTensor, w: &CubeTensor, rstd: &CubeTensor) -> CubeTensor {
    let [rows, d] = [x.meta.shape()[0], x.meta.shape()[1]];
    let dx = empty(x, vec![rows, d], DType::F32);
    if rows > 0 {
        let p = params(x, &[rows as u32, d as u32]);
        launch(x, Shader::sized("rms_norm_backward", BACKWARD, row_workgroup(d)), rows, vec![&g.handle, &x.handle, &w.handle, &rstd.handle, &dx.handle, &p]);
    }
    dx
}

/// dL/dw: `[d]`.
fn backward_weight(g: &CubeTensor, x: &CubeTensor, rstd: &CubeTensor) -> CubeTensor {
    let [rows, d] = [x.meta.shape()[0], x.meta.shape()[1]];
    let dw = empty(x, vec![d], DType::F32);
    let p = params(x, &[rows as u32, d as u32]);
    let groups = d.div_ceil(super::launch::WORKGROUP as usize);
    launch(x, Shader::new("rms_norm_backward_weight", BACKWARD_WEIGHT), groups, vec![&g.handle, &x.handle, &rstd.handle, &dw.handle, &p]);
    dw
}

/// The backward step: state = (x, w, 1/rms), all `f32` and contiguous.
#[derive(Debug)]
struct RmsNormBackward;

impl Backward<Cube, 2> for RmsNormBackward {
    type State = (CubeTensor, CubeTensor, CubeTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let g = into_contiguous(grads.consume::<Cube>(&ops.node));
        let (x, w, rstd) = ops.state;
        if let Some(node) = node_w {
            grads.register::<Cube>(node.id, backward_weight(&g, &x, &rstd));
        }
        if let Some(node) = node_x {
            grads.register::<Cube>(node.id, backward_input(&g, &x, &w, &rstd));
        }
    }
}

/// RMSNorm over the last dimension of `x: [rows, d]` with weight `w: [d]`, computed in f32 and
/// returned in x's dtype. Differentiable in x and w when either is an autodiff tensor.
pub fn rms_norm(x: Tensor<2>, w: Tensor<1>, eps: f64) -> Tensor<2> {
    let dtype: FloatDType = x.dtype().into();
    let x = x.cast(FloatDType::F32);
    let w = w.cast(FloatDType::F32);
    if !(x.is_autodiff() || w.is_autodiff()) {
        let (y, _) = forward_raw(&to_cube(x), &to_cube(w), eps);
        return from_cube::<2>(y).cast(dtype);
    }
    let x = x.autodiff().try_into_primitive::<Autodiff<Cube>>().expect("an autodiff wgpu tensor");
    let w = w.autodiff().try_into_primitive::<Autodiff<Cube>>().expect("an autodiff wgpu tensor");
    let (xp, x_node) = x.into_parts();
    let (wp, w_node) = w.into_parts();
    let (xp, wp) = (into_contiguous(xp), into_contiguous(wp));
    let (y, rstd) = forward_raw(&xp, &wp, eps);
    let out = match RmsNormBackward.prepare::<NoCheckpointing>([x_node, w_node]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((xp, wp, rstd), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Tensor::<2>::from_primitive::<Autodiff<Cube>>(out).cast(dtype)
}
