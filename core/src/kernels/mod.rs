//! Hand-written WGSL kernels for the training and decoding hot paths, each beside a reference
//! twin in plain burn ops.
//!
//! | kernel | shaders | WGSL launch | reference |
//! | --- | --- | --- | --- |
//! | RMSNorm (also per-head q/k norm), fwd + bwd | `rms_norm_*.wgsl` | [`wgsl::rms_norm`] | [`reference::rms_norm`] |
//! | rotary embedding, fwd + bwd | `rope.wgsl` | [`wgsl::rotary`] | [`reference::rotary`] |
//! | fused linear + masked cross-entropy, loss + ∂/∂hidden | `cross_entropy_chunk.wgsl` | [`wgsl::linear_cross_entropy_sum`] | [`reference::cross_entropy_sum`] |
//! | attention in query blocks with a recomputing backward (no shader: burn's matmul and softmax) | — | [`wgsl::attention`] | [`reference::attention`] |
//! | decode sampling (greedy/temperature/top-k/top-p/min-p, top log-probs) | `sample.wgsl` | [`wgsl::sample_rows`] | `generate::sampler::sample` |
//!
//! Which one runs is decided once, by [`KernelChoice::resolve`] when a model is loaded, and
//! kept in `Qwen3::kernels`: `auto` takes the WGSL kernels on wgpu devices and the reference
//! on the CPU; `--kernels reference|wgsl` forces either.

pub mod reference;
pub mod wgsl;

use burn::backend::DispatchDevice;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::error::{CoreError, Result};
use crate::model::vocab::VocabMatrix;

/// What the user asked for (`--kernels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelChoice {
    /// WGSL on wgpu devices, the reference elsewhere.
    #[default]
    Auto,
    Reference,
    Wgsl,
}

impl std::str::FromStr for KernelChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "reference" | "ref" => Ok(Self::Reference),
            "wgsl" => Ok(Self::Wgsl),
            _ => Err(format!("unknown kernels {s:?}: use auto, reference or wgsl")),
        }
    }
}

/// The implementation in use (a resolved [`KernelChoice`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    #[default]
    Reference,
    Wgsl,
}

/// Whether `device` runs on wgpu (where the WGSL kernels can launch).
pub fn is_wgpu(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Cube(_))
}

impl KernelChoice {
    /// The implementation for tensors on `device`; asking for WGSL off wgpu is an error.
    pub fn resolve(self, device: &Device) -> Result<Kernels> {
        match self {
            Self::Auto if is_wgpu(device) => Ok(Kernels::Wgsl),
            Self::Auto | Self::Reference => Ok(Kernels::Reference),
            Self::Wgsl if is_wgpu(device) => Ok(Kernels::Wgsl),
            Self::Wgsl => Err(CoreError::Device {
                device: format!("{device:?}"),
                reason: "the WGSL kernels need a wgpu device; use --device wgpu (or --kernels reference)".into(),
            }),
        }
    }
}

/// The rows of `x: [n, e]` whose label is not −100 (an index select only when some are
/// dropped) and their labels; `Err` holds the zero loss, still in the autodiff graph, when no
/// label is supervised. Both cross-entropy implementations start here, so only supervised
/// tokens cost vocabulary work.
pub(crate) fn supervised_rows(x: Tensor<2>, labels: &[i32]) -> std::result::Result<(Tensor<2>, Vec<i32>), Tensor<1>> {
    let keep: Vec<i32> = (0..labels.len() as i32).filter(|&i| labels[i as usize] != -100).collect();
    if keep.is_empty() {
        return Err(x.sum() * 0.0);
    }
    if keep.len() == labels.len() {
        return Ok((x, labels.to_vec()));
    }
    let kept_labels = keep.iter().map(|&i| labels[i as usize]).collect();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(keep.clone(), [keep.len()]), &x.device());
    Ok((x.select(0, idx), kept_labels))
}

/// Budget for one block of logits in the fused cross-entropy (bytes): small enough that the
/// block is a fraction of the model's activations, large enough to keep matmuls efficient.
pub const CROSS_ENTROPY_BLOCK_BYTES: u64 = 32 << 20;

/// Budget for one block of attention scores `[b, heads, rows, s]` (bytes): a quarter of the
/// smallest common largest-buffer (WebGPU's default 128 MiB), so a block fits every device.
pub const ATTENTION_BLOCK_BYTES: u64 = 32 << 20;

impl Kernels {
    /// RMSNorm over the last dimension of `x`, weight `w: [d]`.
    pub fn rms_norm<const D: usize>(self, x: Tensor<D>, w: Tensor<1>, eps: f64) -> Tensor<D> {
        match self {
            Self::Reference => reference::rms_norm(x, w, eps),
            Self::Wgsl => {
                let dims = x.dims();
                let d = dims[D - 1];
                let rows = dims.iter().product::<usize>() / d.max(1);
                wgsl::rms_norm(x.reshape([rows, d]), w, eps).reshape(dims)
            }
        }
    }

    /// Rotary embedding of `x: [b, h, t, d]` with tables `[b, 1, t, d]`.
    pub fn rotary(self, x: Tensor<4>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<4> {
        match self {
            Self::Reference => reference::rotary(x, cos, sin),
            Self::Wgsl => wgsl::rotary(x, cos, sin),
        }
    }

    /// Grouped-query attention `softmax(scale·q·kᵀ, masked)·v`; q: `[b, h, t, d]`, k, v:
    /// `[b, g, s, d]`, mask: `[b, 1, t, s]` (true = blocked) → `[b, h, t, d]`. On wgpu the
    /// backward pass recomputes the `[b, h, t, s]` probabilities instead of keeping them, and
    /// both passes take the queries in blocks of at most [`ATTENTION_BLOCK_BYTES`] of scores.
    pub fn attention(self, q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: Option<&Tensor<4, Bool>>, scale: f64) -> Tensor<4> {
        match self {
            Self::Reference => reference::attention(q, k, v, mask, scale),
            Self::Wgsl => wgsl::attention(q, k, v, mask, scale, ATTENTION_BLOCK_BYTES),
        }
    }

    /// `Σ −log softmax(x·Wᵀ)[target]` over the rows of `x: [n, e]` whose target is not −100;
    /// `[1]`, f32, differentiable in x. `max_buffer_bytes` is the device's largest buffer.
    pub fn cross_entropy_sum(self, x: Tensor<2>, head: &VocabMatrix, targets: Vec<i32>, max_buffer_bytes: Option<u64>) -> Tensor<1> {
        match self {
            Self::Reference => match supervised_rows(x, &targets) {
                Ok((x, targets)) => reference::cross_entropy_sum(x, head, targets, max_buffer_bytes),
                Err(zero) => zero,
            },
            // The fused kernel computes no gradient for the vocabulary matrix. cotlab's LoRA
            // never trains it, but should it ever require a gradient, the reference (which
            // has one) runs rather than silently dropping it.
            Self::Wgsl if head.chunks.iter().any(|c| c.val().is_require_grad()) => {
                Self::Reference.cross_entropy_sum(x, head, targets, max_buffer_bytes)
            }
            Self::Wgsl => {
                let block = max_buffer_bytes.map_or(CROSS_ENTROPY_BLOCK_BYTES, |m| m.min(CROSS_ENTROPY_BLOCK_BYTES));
                wgsl::linear_cross_entropy_sum(x, head, &targets, block)
            }
        }
    }
}
