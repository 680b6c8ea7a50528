//! Randomly initialised Qwen3 of any shape, for benchmarks and demos where no checkpoint is at
//! hand (weights ~ U(-a, a) with a = 1/sqrt(fan_in), norms at 1).

use burn::module::Param;
use burn::tensor::{Device, Distribution, FloatDType, Tensor};

use super::config::Qwen3Config;
use super::qwen3::{Attention, DecoderLayer, Linear, Mlp, Qwen3, RmsNorm};
use super::vocab::VocabMatrix;

fn uniform<const D: usize>(shape: [usize; D], fan_in: usize, device: &Device, dtype: FloatDType) -> Param<Tensor<D>> {
    let a = 1.0 / (fan_in as f64).sqrt();
    Param::from_tensor(Tensor::<D>::random(shape, Distribution::Uniform(-a, a), device).cast(dtype))
}

fn linear(out: usize, inp: usize, device: &Device, dtype: FloatDType) -> Linear {
    Linear::new(uniform([out, inp], inp, device, dtype))
}

fn norm(dim: usize, eps: f64, device: &Device, dtype: FloatDType) -> RmsNorm {
    RmsNorm { weight: Param::from_tensor(Tensor::<1>::ones([dim], device).cast(dtype)), eps }
}

/// A Qwen3 with random weights in `dtype` on `device`. `device.seed(..)` first for repeatability.
pub fn random_qwen3(cfg: &Qwen3Config, device: &Device, dtype: FloatDType, max_buffer_bytes: Option<u64>) -> Qwen3 {
    let bytes = if dtype == FloatDType::F32 { 4 } else { 2 };
    let rows = VocabMatrix::rows_per_chunk(cfg.vocab_size, cfg.hidden_size, bytes, max_buffer_bytes);
    let vocab = || VocabMatrix {
        chunks: (0..cfg.vocab_size)
            .step_by(rows)
            .map(|start| uniform([rows.min(cfg.vocab_size - start), cfg.hidden_size], cfg.hidden_size, device, dtype))
            .collect(),
    };
    let (e, i) = (cfg.hidden_size, cfg.intermediate_size);
    let (h, g, d) = (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim);
    let eps = cfg.rms_norm_eps;
    let layers = (0..cfg.num_hidden_layers)
        .map(|_| DecoderLayer {
            self_attn: Attention {
                q_proj: linear(h * d, e, device, dtype),
                k_proj: linear(g * d, e, device, dtype),
                v_proj: linear(g * d, e, device, dtype),
                o_proj: linear(e, h * d, device, dtype),
                q_norm: norm(d, eps, device, dtype),
                k_norm: norm(d, eps, device, dtype),
                heads: h,
                kv_heads: g,
                head_dim: d,
            },
            mlp: Mlp {
                gate_proj: linear(i, e, device, dtype),
                up_proj: linear(i, e, device, dtype),
                down_proj: linear(e, i, device, dtype),
            },
            input_layernorm: norm(e, eps, device, dtype),
            post_attention_layernorm: norm(e, eps, device, dtype),
        })
        .collect();
    Qwen3 {
        embed_tokens: vocab(),
        layers,
        norm: norm(e, eps, device, dtype),
        lm_head: (!cfg.tie_word_embeddings).then(vocab),
        kernels: Default::default(),
    }
}
