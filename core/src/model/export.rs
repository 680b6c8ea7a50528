//! Writing a model back as Hugging Face safetensors (after merging an adapter), with PyTorch's
//! state-dict names, sharded like `save_pretrained` when large.

use std::collections::BTreeMap;


use super::qwen3::{Linear, Qwen3, RmsNorm};
use super::weights::{f32_bytes, serialize_safetensors, to_f32_vec};
use crate::error::{CoreError, Result};

/// Storage dtype of exported weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveDType {
    F32,
    F16,
    BF16,
}

impl std::str::FromStr for SaveDType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(Self::F32),
            "f16" | "float16" => Ok(Self::F16),
            "bf16" | "bfloat16" => Ok(Self::BF16),
            _ => Err(format!("unknown dtype {s:?}: use f32, f16 or bf16")),
        }
    }
}

impl SaveDType {
    fn encode(self, values: &[f32]) -> Vec<u8> {
        match self {
            Self::F32 => f32_bytes(values),
            Self::F16 => values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect(),
            Self::BF16 => values.iter().flat_map(|v| half::bf16::from_f32(*v).to_le_bytes()).collect(),
        }
    }
    fn st(self) -> safetensors::Dtype {
        match self {
            Self::F32 => safetensors::Dtype::F32,
            Self::F16 => safetensors::Dtype::F16,
            Self::BF16 => safetensors::Dtype::BF16,
        }
    }
    pub fn torch_name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F16 => "float16",
            Self::BF16 => "bfloat16",
        }
    }
}

/// Every weight of the model with its state-dict name (adapters must be merged first).
fn state_dict(model: &Qwen3) -> Result<Vec<(String, Vec<usize>, Vec<f32>)>> {
    let mut out = Vec::new();
    let lin = |out: &mut Vec<_>, name: String, l: &Linear| -> Result<()> {
        if l.lora.is_some() {
            return Err(CoreError::Training(format!("{name} still has an adapter; merge it before exporting")));
        }
        let w = l.weight.val();
        out.push((format!("{name}.weight"), w.dims().to_vec(), to_f32_vec(w)?));
        Ok(())
    };
    let norm = |out: &mut Vec<_>, name: String, n: &RmsNorm| -> Result<()> {
        let w = n.weight.val();
        out.push((format!("{name}.weight"), w.dims().to_vec(), to_f32_vec(w)?));
        Ok(())
    };
    let e = model.embed_tokens.full();
    out.push(("model.embed_tokens.weight".into(), e.dims().to_vec(), to_f32_vec(e)?));
    for (i, layer) in model.layers.iter().enumerate() {
        let p = format!("model.layers.{i}");
        let a = &layer.self_attn;
        lin(&mut out, format!("{p}.self_attn.q_proj"), &a.q_proj)?;
        lin(&mut out, format!("{p}.self_attn.k_proj"), &a.k_proj)?;
        lin(&mut out, format!("{p}.self_attn.v_proj"), &a.v_proj)?;
        lin(&mut out, format!("{p}.self_attn.o_proj"), &a.o_proj)?;
        norm(&mut out, format!("{p}.self_attn.q_norm"), &a.q_norm)?;
        norm(&mut out, format!("{p}.self_attn.k_norm"), &a.k_norm)?;
        lin(&mut out, format!("{p}.mlp.gate_proj"), &layer.mlp.gate_proj)?;
        lin(&mut out, format!("{p}.mlp.up_proj"), &layer.mlp.up_proj)?;
        lin(&mut out, format!("{p}.mlp.down_proj"), &layer.mlp.down_proj)?;
        norm(&mut out, format!("{p}.input_layernorm"), &layer.input_layernorm)?;
        norm(&mut out, format!("{p}.post_attention_layernorm"), &layer.post_attention_layernorm)?;
    }
    norm(&mut out, "model.norm".into(), &model.norm)?;
    if let Some(head) = &model.lm_head {
        let w = head.full();
        out.push(("lm_head.weight".into(), w.dims().to_vec(), to_f32_vec(w)?));
    }
    Ok(out)
}

/// The model as safetensors files (`model.safetensors`, or `model-0000k-of-0000n.safetensors`
/// plus the index JSON when over `max_shard_bytes`): file name → bytes.
pub fn export_safetensors(model: &Qwen3, dtype: SaveDType, max_shard_bytes: usize) -> Result<BTreeMap<String, Vec<u8>>> {
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> =
        state_dict(model)?.into_iter().map(|(n, s, v)| (n, s, dtype.encode(&v))).collect();
    let mut shards: Vec<Vec<usize>> = vec![Vec::new()];
    let mut size = 0;
    for (i, (_, _, b)) in tensors.iter().enumerate() {
        if size > 0 && size + b.len() > max_shard_bytes {
            shards.push(Vec::new());
            size = 0;
        }
        size += b.len();
        shards.last_mut().expect("one shard").push(i);
    }
    let n = shards.len();
    let mut files = BTreeMap::new();
    let mut weight_map = serde_json::Map::new();
    let total: usize = tensors.iter().map(|t| t.2.len()).sum();
    for (k, members) in shards.iter().enumerate() {
        let file = if n == 1 { "model.safetensors".to_string() } else { format!("model-{:05}-of-{n:05}.safetensors", k + 1) };
        for &i in members {
            weight_map.insert(tensors[i].0.clone(), serde_json::Value::String(file.clone()));
        }
        let shard: Vec<_> = members.iter().map(|&i| tensors[i].clone()).collect();
        files.insert(file, serialize_safetensors(dtype.st(), &shard)?);
    }
    if n > 1 {
        let index = serde_json::json!({"metadata": {"total_size": total}, "weight_map": weight_map});
        files.insert("model.safetensors.index.json".into(), serde_json::to_vec_pretty(&index).expect("json"));
    }
    Ok(files)
}
