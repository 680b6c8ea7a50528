//! Loading Hugging Face safetensors checkpoints (single file or sharded) from bytes.
//!
//! The core reads no files: the caller hands over each shard's bytes with its file name (for
//! error messages). Tensors are checked against the config by name and shape, converted from
//! F32/F16/BF16 to the compute dtype, and placed on the device.

use std::collections::{BTreeSet, HashMap};

use burn::module::Param;
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

use super::config::Qwen3Config;
use super::qwen3::{Attention, DecoderLayer, Linear, Mlp, Qwen3, RmsNorm};
use super::vocab::VocabMatrix;
use crate::error::{CoreError, Result};

/// One safetensors file's bytes and the name to show in errors.
pub struct Shard<'a> {
    pub file: String,
    pub bytes: &'a [u8],
}

/// The shard file names listed by a `model.safetensors.index.json`, in sorted order.
pub fn shard_files_from_index(bytes: &[u8], file: &str) -> Result<Vec<String>> {
    let err = |reason: String| CoreError::ShardIndex { file: file.into(), reason };
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| err("no `weight_map` object".into()))?;
    let mut files = BTreeSet::new();
    for (name, f) in map {
        let f = f.as_str().ok_or_else(|| err(format!("weight_map[{name:?}] is not a file name")))?;
        if f.contains('/') || f.contains('\\') || f.contains("..") {
            return Err(err(format!("weight_map[{name:?}] = {f:?} is not a plain file name")));
        }
        files.insert(f.to_string());
    }
    if files.is_empty() {
        return Err(err("`weight_map` is empty".into()));
    }
    Ok(files.into_iter().collect())
}

/// Parsed shards with a name → shard lookup.
pub struct Checkpoint<'a> {
    shards: Vec<(String, SafeTensors<'a>)>,
    index: HashMap<String, usize>,
}

impl<'a> Checkpoint<'a> {
    pub fn parse(shards: &[Shard<'a>]) -> Result<Self> {
        let mut parsed = Vec::with_capacity(shards.len());
        let mut index = HashMap::new();
        for (i, shard) in shards.iter().enumerate() {
            let st = SafeTensors::deserialize(shard.bytes).map_err(|e| CoreError::Safetensors {
                file: shard.file.clone(),
                reason: e.to_string(),
            })?;
            for name in st.names() {
                index.insert(name.to_string(), i);
            }
            parsed.push((shard.file.clone(), st));
        }
        Ok(Self { shards: parsed, index })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Names of every tensor in the checkpoint.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(|s| s.as_str())
    }

    fn files(&self) -> String {
        self.shards.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The tensor `name` as f32 values, checked against `expected` shape.
    pub fn read_f32(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let (shape, values) = self.read(name)?;
        if shape != expected {
            let file = self.shards[self.index[name]].0.clone();
            return Err(CoreError::ShapeMismatch { name: name.into(), file, expected: expected.to_vec(), found: shape });
        }
        Ok(values)
    }

    /// The tensor `name`: its shape and its values as f32.
    pub fn read(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let &i = self.index.get(name).ok_or_else(|| CoreError::MissingTensor {
            name: name.into(),
            files: self.files(),
        })?;
        let (file, st) = &self.shards[i];
        let view = st.tensor(name).map_err(|e| CoreError::Safetensors { file: file.clone(), reason: e.to_string() })?;
        let data = view.data();
        let values = match view.dtype() {
            Dtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::F16 => data.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::BF16 => data.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            other => {
                return Err(CoreError::UnsupportedWeightDtype {
                    name: name.into(),
                    file: file.clone(),
                    found: format!("{other:?}"),
                })
            }
        };
        Ok((view.shape().to_vec(), values))
    }
}

/// A tensor's values as f32 on the host (synchronous read: native code and saving only).
pub fn to_f32_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.cast(FloatDType::F32).into_data().try_to_vec::<f32>().map_err(|e| CoreError::Readback(format!("{e:?}")))
}

/// Little-endian f32 bytes of `values`.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// One safetensors file of `(name, shape, bytes)` tensors stored as `dtype`, with the
/// `{"format": "pt"}` metadata PyTorch writes.
pub fn serialize_safetensors(dtype: Dtype, tensors: &[(String, Vec<usize>, Vec<u8>)]) -> Result<Vec<u8>> {
    let views = tensors.iter().map(|(name, shape, bytes)| {
        let view = safetensors::tensor::TensorView::new(dtype, shape.clone(), bytes).expect("shape matches data");
        (name.clone(), view)
    });
    let meta = Some(std::collections::HashMap::from([("format".to_string(), "pt".to_string())]));
    safetensors::serialize(views, meta).map_err(|e| CoreError::Training(format!("serialising safetensors: {e}")))
}

/// Builds model parameters from a checkpoint on one device in one dtype.
struct Builder<'c, 'a> {
    ckpt: &'c Checkpoint<'a>,
    device: &'c Device,
    dtype: FloatDType,
    max_buffer_bytes: Option<u64>,
}

impl Builder<'_, '_> {
    fn tensor<const D: usize>(&self, name: &str, shape: [usize; D]) -> Result<Param<Tensor<D>>> {
        let values = self.ckpt.read_f32(name, &shape)?;
        let t = Tensor::<D>::from_data(TensorData::new(values, shape), self.device).cast(self.dtype);
        Ok(Param::from_tensor(t))
    }

    /// A `[v, e]` matrix split into row chunks that fit one device buffer.
    fn vocab(&self, name: &str, v: usize, e: usize) -> Result<VocabMatrix> {
        let values = self.ckpt.read_f32(name, &[v, e])?;
        let bytes = if self.dtype == FloatDType::F32 { 4 } else { 2 };
        let rows = VocabMatrix::rows_per_chunk(v, e, bytes, self.max_buffer_bytes);
        if rows == v {
            let t = Tensor::<2>::from_data(TensorData::new(values, [v, e]), self.device).cast(self.dtype);
            return Ok(VocabMatrix { chunks: vec![Param::from_tensor(t)] });
        }
        let chunks = values
            .chunks(rows * e)
            .map(|c| {
                let n = c.len() / e;
                Param::from_tensor(Tensor::<2>::from_data(TensorData::new(c.to_vec(), [n, e]), self.device).cast(self.dtype))
            })
            .collect();
        Ok(VocabMatrix { chunks })
    }

    fn linear(&self, name: &str, out: usize, inp: usize) -> Result<Linear> {
        Ok(Linear::new(self.tensor(&format!("{name}.weight"), [out, inp])?))
    }

    fn norm(&self, name: &str, dim: usize, eps: f64) -> Result<RmsNorm> {
        Ok(RmsNorm { weight: self.tensor(&format!("{name}.weight"), [dim])?, eps })
    }
}

/// Build a [`Qwen3`] from checkpoint shards. Every tensor the config implies must be present
/// with the right shape; `lm_head.weight` is ignored when embeddings are tied.
///
/// `max_buffer_bytes` is the device's largest buffer (`None` on the CPU): vocabulary matrices are
/// split to fit it.
pub fn load_qwen3(cfg: &Qwen3Config, shards: &[Shard<'_>], device: &Device, dtype: FloatDType, max_buffer_bytes: Option<u64>) -> Result<Qwen3> {
    let ckpt = Checkpoint::parse(shards)?;
    let b = Builder { ckpt: &ckpt, device, dtype, max_buffer_bytes };
    let (e, i, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
    let (h, g, d) = (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim);
    let eps = cfg.rms_norm_eps;

    let embed_tokens = b.vocab("model.embed_tokens.weight", v, e)?;
    let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
    for l in 0..cfg.num_hidden_layers {
        let p = format!("model.layers.{l}");
        layers.push(DecoderLayer {
            self_attn: Attention {
                q_proj: b.linear(&format!("{p}.self_attn.q_proj"), h * d, e)?,
                k_proj: b.linear(&format!("{p}.self_attn.k_proj"), g * d, e)?,
                v_proj: b.linear(&format!("{p}.self_attn.v_proj"), g * d, e)?,
                o_proj: b.linear(&format!("{p}.self_attn.o_proj"), e, h * d)?,
                q_norm: b.norm(&format!("{p}.self_attn.q_norm"), d, eps)?,
                k_norm: b.norm(&format!("{p}.self_attn.k_norm"), d, eps)?,
                heads: h,
                kv_heads: g,
                head_dim: d,
            },
            mlp: Mlp {
                gate_proj: b.linear(&format!("{p}.mlp.gate_proj"), i, e)?,
                up_proj: b.linear(&format!("{p}.mlp.up_proj"), i, e)?,
                down_proj: b.linear(&format!("{p}.mlp.down_proj"), e, i)?,
            },
            input_layernorm: b.norm(&format!("{p}.input_layernorm"), e, eps)?,
            post_attention_layernorm: b.norm(&format!("{p}.post_attention_layernorm"), e, eps)?,
        });
    }
    let norm = b.norm("model.norm", e, eps)?;
    let lm_head = if cfg.tie_word_embeddings { None } else { Some(b.vocab("lm_head.weight", v, e)?) };
    Ok(Qwen3 { embed_tokens, layers, norm, lm_head, kernels: Default::default() })
}
