//! Rotary embedding on wgpu: `shaders/rope.wgsl`, whose backward (the transpose of the rotation)
//! is the same shader with `direction = 1`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Cube};
use burn::tensor::{DType, FloatDType, Tensor};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::launch::{empty, from_cube, launch, params, to_cube, Shader, WORKGROUP};

const SOURCE: &str = include_str!("../../../../shaders/rope.wgsl");

/// x: `[b, h, t, d]`, cos/sin: `[b, 1, t, d]`; `backward` applies the transposed rotation.
fn rotate(x: &CubeTensor, cos: &CubeTensor, sin: &CubeTensor, backward: bool) -> CubeTensor {
    let s = x.meta.shape();
    let [b, h, t, d] = [s[0], s[1], s[2], s[3]];
    let y = empty(x, vec![b, h, t, d], DType::F32);
    let n = b * h * t * d;
    if n > 0 {
        let p = params(x, &[b as u32, h as u32, t as u32, d as u32, backward as u32]);
        launch(x, Shader::new("rope", SOURCE), n.div_ceil(WORKGROUP as usize), vec![&x.handle, &cos.handle, &sin.handle, &y.handle, &p]);
    }
    y
}

/// The backward step: state = the (constant) cos and sin tables.
#[derive(Debug)]
struct RopeBackward;

impl Backward<Cube, 1> for RopeBackward {
    type State = (CubeTensor, CubeTensor);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let g = into_contiguous(grads.consume::<Cube>(&ops.node));
        if let Some(node) = node_x {
            let (cos, sin) = ops.state;
            grads.register::<Cube>(node.id, rotate(&g, &cos, &sin, true));
        }
    }
}

/// `x·cos + rotate_half(x)·sin` for x: `[b, h, t, d]`, tables `[b, 1, t, d]` (constants).
/// Computed in f32, returned in x's dtype; differentiable in x.
pub fn rotary(x: Tensor<4>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<4> {
    let dtype: FloatDType = x.dtype().into();
    let x = x.cast(FloatDType::F32);
    let cos = to_cube(cos.clone().cast(FloatDType::F32));
    let sin = to_cube(sin.clone().cast(FloatDType::F32));
    if !x.is_autodiff() {
        return from_cube::<4>(rotate(&to_cube(x), &cos, &sin, false)).cast(dtype);
    }
    let x = x.try_into_primitive::<Autodiff<Cube>>().expect("an autodiff wgpu tensor");
    let (xp, x_node) = x.into_parts();
    let xp = into_contiguous(xp);
    let y = rotate(&xp, &cos, &sin, false);
    let out = match RopeBackward.prepare::<NoCheckpointing>([x_node]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((cos, sin), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Tensor::<4>::from_primitive::<Autodiff<Cube>>(out).cast(dtype)
}
