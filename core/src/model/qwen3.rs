//! Qwen3 decoder, read top to bottom (after candle's `qwen3.rs` and nanoGPT's `model.py`).
//!
//! Weights keep PyTorch's names and layouts (`Linear.weight` is `[out, in]`), so loading a
//! Hugging Face checkpoint and saving PEFT adapters need no renaming table. Shapes use
//! b = batch, t = new positions, s = all cached positions, h = query heads, g = key/value heads,
//! d = head_dim, e = hidden size, v = vocabulary.

use burn::module::{Module, Param};
use burn::tensor::activation::silu;
use burn::tensor::{DType, FloatDType, Int, Tensor};

use crate::kernels::Kernels;

use super::config::Qwen3Config;
use super::inputs::StepInput;
use super::kv_cache::KvCache;
use super::vocab::VocabMatrix;

/// A bias-free linear layer in PyTorch layout, `weight: [out, in]`, with an optional LoRA
/// adapter: `y = x·Wᵀ + scale·(dropout(x)·Aᵀ)·Bᵀ`. The adapter is applied as two thin matmuls
/// rather than by merging `W + scale·B·A` each step: for rank r ≪ in, out that costs
/// r·(in+out) multiply-adds per token instead of in·out, and W is never copied.
#[derive(Module, Debug)]
pub struct Linear {
    pub weight: Param<Tensor<2>>,
    pub lora: Option<Lora>,
}

impl Linear {
    pub fn new(weight: Param<Tensor<2>>) -> Self {
        Self { weight, lora: None }
    }

    /// x: `[b, t, in]` → `[b, t, out]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, i] = x.dims();
        let w = self.weight.val(); // [out, in]
        let out = w.dims()[0];
        let x2 = x.reshape([b * t, i]); // [b·t, in]
        let y = x2.clone().matmul(w.transpose()); // [b·t, out]
        let y = match &self.lora {
            Some(lora) => y + lora.forward(x2),
            None => y,
        };
        y.reshape([b, t, out])
    }
}

/// A LoRA adapter of one linear layer, in PEFT's layout: `lora_A.weight: [r, in]`,
/// `lora_B.weight: [out, r]`, scale = alpha / r.
#[derive(Module, Debug)]
pub struct Lora {
    pub a: Param<Tensor<2>>,
    pub b: Param<Tensor<2>>,
    #[module(skip)]
    pub scale: f64,
    /// Dropout probability on the adapter's input; applied only while `training`.
    #[module(skip)]
    pub dropout: f64,
    #[module(skip)]
    pub training: bool,
}

impl Lora {
    /// x: `[n, in]` → `scale·(dropout(x)·Aᵀ)·Bᵀ`: `[n, out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = if self.training && self.dropout > 0.0 {
            let keep = 1.0 - self.dropout;
            let mask = x.random_like(burn::tensor::Distribution::Bernoulli(keep));
            x * mask / keep
        } else {
            x
        };
        let a = self.a.val().cast(float_dtype(x.dtype()));
        let b = self.b.val().cast(float_dtype(x.dtype()));
        x.matmul(a.transpose()).matmul(b.transpose()) * self.scale // [n, out]
    }
}

/// RMSNorm, computed in float32 whatever the compute dtype (as transformers does).
#[derive(Module, Debug)]
pub struct RmsNorm {
    pub weight: Param<Tensor<1>>,
    #[module(skip)]
    pub eps: f64,
}

impl RmsNorm {
    /// Normalises the last dimension of any-rank `x` with the chosen kernels.
    pub fn forward<const D: usize>(&self, x: Tensor<D>, kernels: Kernels) -> Tensor<D> {
        kernels.rms_norm(x, self.weight.val(), self.eps)
    }
}

fn float_dtype(d: DType) -> FloatDType {
    d.into()
}

/// Grouped-query self-attention with per-head RMSNorm on queries and keys before RoPE.
#[derive(Module, Debug)]
pub struct Attention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub o_proj: Linear,
    pub q_norm: RmsNorm,
    pub k_norm: RmsNorm,
    #[module(skip)]
    pub heads: usize,
    #[module(skip)]
    pub kv_heads: usize,
    #[module(skip)]
    pub head_dim: usize,
}

impl Attention {
    pub fn forward(&self, x: Tensor<3>, input: &StepInput, cache: &mut KvCache, layer: usize, kernels: Kernels) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (h, g, d) = (self.heads, self.kv_heads, self.head_dim);

        // 1. Project and split heads.                                 // [b, t, h*d] → [b, h, t, d]
        let q = self.q_proj.forward(x.clone()).reshape([b, t, h, d]);
        let k = self.k_proj.forward(x.clone()).reshape([b, t, g, d]);
        let v = self.v_proj.forward(x).reshape([b, t, g, d]).swap_dims(1, 2); // [b, g, t, d]

        // 2. Per-head RMSNorm over d, then rotary embedding.
        let q = kernels.rotary(self.q_norm.forward(q, kernels).swap_dims(1, 2), &input.cos, &input.sin); // [b, h, t, d]
        let k = kernels.rotary(self.k_norm.forward(k, kernels).swap_dims(1, 2), &input.cos, &input.sin); // [b, g, t, d]

        // 3. Append to the cache; attend over every cached position.     // [b, g, s, d]
        let (k, v) = cache.append(layer, k, v);

        // 4. softmax(q·kᵀ/√d, masked)·v per kv group, without materialising repeated keys
        //    (kernels::reference::attention). The causal + padding mask is true where blocked.
        let out = kernels.attention(q, k, v, input.mask.as_ref(), 1.0 / (d as f64).sqrt()); // [b, h, t, d]

        // 5. Merge heads, output projection.
        let out = out.swap_dims(1, 2).reshape([b, t, h * d]);
        self.o_proj.forward(out) // [b, t, e]
    }
}

/// SwiGLU feed-forward: `down(silu(gate(x)) * up(x))`.
#[derive(Module, Debug)]
pub struct Mlp {
    pub gate_proj: Linear,
    pub up_proj: Linear,
    pub down_proj: Linear,
}

impl Mlp {
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let gate = silu(self.gate_proj.forward(x.clone())); // [b, t, i]
        self.down_proj.forward(gate * self.up_proj.forward(x)) // [b, t, e]
    }
}

/// One pre-norm decoder block.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    pub self_attn: Attention,
    pub mlp: Mlp,
    pub input_layernorm: RmsNorm,
    pub post_attention_layernorm: RmsNorm,
}

impl DecoderLayer {
    pub fn forward(&self, x: Tensor<3>, input: &StepInput, cache: &mut KvCache, layer: usize, kernels: Kernels) -> Tensor<3> {
        let attn_in = self.input_layernorm.forward(x.clone(), kernels);
        let x = x + self.self_attn.forward(attn_in, input, cache, layer, kernels);
        x.clone() + self.mlp.forward(self.post_attention_layernorm.forward(x, kernels))
    }
}

/// Which positions need logits: all of them (scoring, training) or the last (decoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogitsFor {
    All,
    Last,
}

/// The Qwen3 causal language model (`Qwen3ForCausalLM`).
#[derive(Module, Debug)]
pub struct Qwen3 {
    /// `model.embed_tokens.weight`: `[v, e]` (split by rows where buffers are limited).
    pub embed_tokens: VocabMatrix,
    pub layers: Vec<DecoderLayer>,
    pub norm: RmsNorm,
    /// `lm_head.weight` `[v, e]`, absent when tied to the embedding.
    pub lm_head: Option<VocabMatrix>,
    /// RMSNorm/RoPE (and, in the trainer and generation, cross-entropy and sampling)
    /// implementation: set once from `--kernels` by `LoadedModel`.
    #[module(skip)]
    pub kernels: Kernels,
}

impl Qwen3 {
    /// Run `input` (new tokens) through the network, extending `cache`; returns logits
    /// `[b, t, v]` for `LogitsFor::All` or `[b, 1, v]` for `LogitsFor::Last`, in float32.
    pub fn forward(&self, input: &StepInput, cache: &mut KvCache, logits: LogitsFor) -> Tensor<3> {
        let hidden = self.forward_hidden(input, cache);
        let t = hidden.dims()[1];
        let hidden = match logits {
            LogitsFor::All => hidden,
            LogitsFor::Last => hidden.narrow(1, t - 1, 1),
        };
        self.lm_head(self.norm.forward(hidden, self.kernels))
    }

    /// Final hidden states before the last norm: `[b, t, e]`.
    pub fn forward_hidden(&self, input: &StepInput, cache: &mut KvCache) -> Tensor<3> {
        let [b, t] = input.ids.dims();
        let e = self.embed_tokens.dims()[1];

        // 1. Token embeddings.                                          // [b, t, e]
        let ids: Tensor<1, Int> = input.ids.clone().reshape([b * t]);
        let mut x = self.embed_tokens.lookup(ids).reshape([b, t, e]);

        // 2. Decoder layers.
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x, input, cache, i, self.kernels);
        }
        x
    }

    /// Vocabulary projection (tied or not), returned in float32: `[b, t, e]` → `[b, t, v]`.
    pub fn lm_head(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, e] = x.dims();
        let head = self.output_matrix();
        let v = head.dims()[0];
        head.project(x.reshape([b * t, e])).reshape([b, t, v]).cast(FloatDType::F32)
    }

    /// The `[v, e]` matrix of the vocabulary projection (the embedding when tied).
    pub fn output_matrix(&self) -> &VocabMatrix {
        self.lm_head.as_ref().unwrap_or(&self.embed_tokens)
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.layers.len())
    }
}

/// Hyper-parameters the forward pass reads (kept beside, not inside, the weights).
pub fn attention_dims(cfg: &Qwen3Config) -> (usize, usize, usize) {
    (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim)
}
