//! Launching a hand-written `.wgsl` file on burn's wgpu tensors.
//!
//! burn 0.22 runs wgpu through CubeCL. A CubeCL kernel may carry its own source text instead of
//! IR ([`CubeKernel::source`] → [`PrecompiledSource`] tagged `"wgsl"`); the wgpu runtime hands
//! that text to naga and builds the pipeline layout from the shader itself. So a shader here is
//! a `.wgsl` file (`include_str!`), a few `{{ placeholder }}` substitutions, and a list of
//! buffers bound in order as `@group(0) @binding(0..n)`. The conventions are in
//! `shaders/README.md`.
//!
//! Tensors cross between burn and the kernels as CubeCL primitives (`CubeTensor`: a buffer
//! handle, shape and strides) through burn's `extension` feature.

use burn::backend::Cube;
use burn::tensor::{DType, Int, Shape, Tensor};
use burn_cubecl::cubecl::ir::metadata::Info;
use burn_cubecl::cubecl::ir::UIntKind;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::cubecl::server::{Handle, KernelArguments};
use burn_cubecl::cubecl::{CubeKernel, PrecompiledSource};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

/// Threads per workgroup for every shader: within WebGPU's default
/// `maxComputeInvocationsPerWorkgroup` (256) and a power of two for tree reductions.
pub const WORKGROUP: u32 = 256;

/// Threads for a "one workgroup per row" kernel over rows of `d` values: about two values per
/// thread, between 32 and [`WORKGROUP`]. A 128-wide per-head norm row then gets 64 threads
/// instead of 256 of which half would idle through every barrier round.
pub fn row_workgroup(d: usize) -> u32 {
    (d.div_ceil(2).next_power_of_two() as u32).clamp(32, WORKGROUP)
}

/// WebGPU's default `maxComputeWorkgroupsPerDimension`.
const MAX_GROUPS_PER_DIM: u32 = 65_535;

/// One WGSL shader: a template and the workgroup size its `{{ wg }}` placeholder becomes. The
/// text is filled in only by [`CubeKernel::source`], which CubeCL calls on a compilation-cache
/// miss, so the launches of a decode or training step do no string work.
pub struct Shader {
    name: &'static str,
    template: &'static str,
    workgroup: u32,
}

impl Shader {
    /// `template` is a `.wgsl` file's text; `{{ wg }}` becomes [`WORKGROUP`].
    pub fn new(name: &'static str, template: &'static str) -> Self {
        Self::sized(name, template, WORKGROUP)
    }

    /// Like [`Shader::new`] with `workgroup` threads (a power of two ≤ 256) for row kernels
    /// whose rows are narrower than [`WORKGROUP`] (see [`row_workgroup`]).
    pub fn sized(name: &'static str, template: &'static str, workgroup: u32) -> Self {
        debug_assert!(workgroup.is_power_of_two() && workgroup <= WORKGROUP);
        Self { name, template, workgroup }
    }
}

impl KernelMetadata for Shader {
    fn name(&self) -> &'static str {
        self.name
    }

    fn id(&self) -> KernelId {
        // The compilation cache is keyed by this id and never sees the text: name and
        // workgroup size determine the text completely.
        KernelId::new::<Self>().info((self.name, self.workgroup))
    }

    fn address_type(&self) -> ElemType {
        UIntKind::U32.into()
    }
}

impl CubeKernel for Shader {
    fn define(&self) -> KernelDefinition {
        // No IR: the text is the kernel. The definition only fills the cache key's settings.
        let settings = KernelSettings::new(CubeDim::new_1d(self.workgroup).0, ExecutionMode::Checked, AddressType::U32);
        KernelDefinition { body: Scope::root(settings.clone()), settings, info: Info::default() }
    }

    fn source(&self) -> Option<PrecompiledSource> {
        let source = self.template.replace("{{ wg }}", &self.workgroup.to_string());
        debug_assert!(!source.contains("{{"), "shader {} has an unfilled placeholder", self.name);
        Some(PrecompiledSource { source, entrypoint_name: "main".into(), lang: "wgsl" })
    }
}

/// A grid of `groups` workgroups, folded onto a second axis past 65,535 (shaders compute
/// `wid.x + wid.y * nwg.x` and return early past the end).
pub fn grid(groups: usize) -> CubeCount {
    let groups = groups.max(1) as u32;
    if groups <= MAX_GROUPS_PER_DIM {
        CubeCount::Static(groups, 1, 1)
    } else {
        CubeCount::Static(MAX_GROUPS_PER_DIM, groups.div_ceil(MAX_GROUPS_PER_DIM), 1)
    }
}

/// Launch `shader` on `groups` workgroups with `buffers` bound in order.
pub fn launch(like: &CubeTensor, shader: Shader, groups: usize, buffers: Vec<&Handle>) {
    let bindings = buffers.into_iter().map(|h| h.clone().binding()).collect();
    like.client.launch(Box::new(shader), grid(groups), KernelArguments::new().with_buffers(bindings));
}

/// A small buffer of u32 words (sizes, flags, f32 bits) — the last binding of every
/// shader.
pub fn params(like: &CubeTensor, words: &[u32]) -> Handle {
    upload(like, words.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>().as_slice())
}

/// A buffer holding `bytes`, on `like`'s device.
pub fn upload(like: &CubeTensor, bytes: &[u8]) -> Handle {
    like.client.create_from_slice(bytes)
}

/// An uninitialised contiguous tensor of `shape` and 4-byte `dtype` (f32 or i32) on `like`'s
/// device.
pub fn empty(like: &CubeTensor, shape: Vec<usize>, dtype: DType) -> CubeTensor {
    debug_assert!(matches!(dtype, DType::F32 | DType::I32), "the shaders read 4-byte words");
    let shape = Shape::from(shape);
    let handle = like.client.empty(shape.num_elements().max(1) * 4);
    CubeTensor::new_contiguous(like.client.clone(), like.device.clone(), shape, handle, dtype)
}

/// A plain (not autodiff) f32 wgpu tensor as a contiguous CubeCL primitive.
pub fn to_cube<const D: usize>(t: Tensor<D>) -> CubeTensor {
    let t = t.without_autodiff();
    debug_assert_eq!(t.dtype(), DType::F32, "WGSL kernels take f32 tensors");
    into_contiguous(t.try_into_primitive::<Cube>().expect("a wgpu tensor (KernelChoice::Wgsl needs a wgpu device)"))
}

/// Wrap a CubeCL primitive back into a plain burn tensor.
pub fn from_cube<const D: usize>(t: CubeTensor) -> Tensor<D> {
    Tensor::from_primitive::<Cube>(t)
}

/// Wrap a CubeCL i32 primitive back into a plain burn int tensor.
pub fn from_cube_int<const D: usize>(t: CubeTensor) -> Tensor<D, Int> {
    Tensor::from_primitive::<Cube>(t)
}

/// `f32` as the u32 word a shader `bitcast<f32>`s back.
pub fn f32_word(v: f32) -> u32 {
    v.to_bits()
}
