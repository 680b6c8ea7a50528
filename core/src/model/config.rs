//! Qwen3 configuration, deserialised from Hugging Face's own `config.json` (field names
//! unchanged), plus named presets for the released dense sizes.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// The fields of a Hugging Face `Qwen3Config` that shape the network.
///
/// Unknown fields are kept in `extra` so that unsupported features (rope scaling, sliding
/// windows, MoE) can be rejected by name in [`Qwen3Config::validate`] instead of ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qwen3Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    /// Explicit in Qwen3 and often ≠ hidden_size / num_attention_heads (0.6B: 128 ≠ 1024/16).
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default = "default_max_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default)]
    pub torch_dtype: Option<String>,
    /// Every other field of config.json, kept so unsupported ones can be named.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn default_rope_theta() -> f64 {
    1_000_000.0
}
fn default_max_positions() -> usize {
    40_960
}
fn default_act() -> String {
    "silu".into()
}

impl Qwen3Config {
    /// Parse and validate `config.json` bytes. `file` names the source in error messages.
    pub fn from_json(bytes: &[u8], file: &str) -> Result<Self> {
        let cfg: Self = serde_json::from_slice(bytes).map_err(|e| CoreError::ConfigParse {
            file: file.into(),
            reason: e.to_string(),
        })?;
        cfg.validate(file)?;
        Ok(cfg)
    }

    /// Reject configurations this implementation would silently get wrong.
    pub fn validate(&self, file: &str) -> Result<()> {
        let unsupported = |field: &str, found: String, hint: &str| {
            Err(CoreError::UnsupportedConfig {
                file: file.into(),
                field: field.into(),
                found,
                hint: hint.into(),
            })
        };
        if let Some(mt) = &self.model_type {
            if mt != "qwen3" {
                return unsupported(
                    "model_type",
                    format!("{mt:?}"),
                    "cotlab implements dense Qwen3 (model_type \"qwen3\") only",
                );
            }
        }
        for key in ["rope_scaling", "rope_parameters"] {
            if let Some(v) = self.extra.get(key) {
                if !v.is_null() && !is_default_rope_parameters(v) {
                    return unsupported(
                        key,
                        v.to_string(),
                        "RoPE scaling (YaRN, linear, dynamic) is not implemented; remove it to run at the native context length",
                    );
                }
            }
        }
        if self.extra.get("use_sliding_window").and_then(|v| v.as_bool()) == Some(true) {
            return unsupported(
                "use_sliding_window",
                "true".into(),
                "sliding-window attention is not implemented; set it to false",
            );
        }
        if let Some(types) = self.extra.get("layer_types").and_then(|v| v.as_array()) {
            if let Some(t) = types.iter().find(|t| t.as_str() != Some("full_attention")) {
                return unsupported("layer_types", t.to_string(), "only full attention layers are implemented");
            }
        }
        for key in ["num_experts", "num_experts_per_tok", "moe_intermediate_size"] {
            if let Some(v) = self.extra.get(key) {
                if !v.is_null() && v.as_u64() != Some(0) {
                    return unsupported(key, v.to_string(), "Mixture-of-Experts Qwen3 models are not supported; use a dense checkpoint");
                }
            }
        }
        if self.hidden_act != "silu" {
            return unsupported("hidden_act", format!("{:?}", self.hidden_act), "Qwen3 uses \"silu\"");
        }
        if self.attention_bias {
            return unsupported("attention_bias", "true".into(), "Qwen3 attention has no bias; biased projections are not implemented");
        }
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("head_dim", self.head_dim),
        ];
        for (field, v) in positive {
            if v == 0 {
                return unsupported(field, "0".into(), "must be positive");
            }
        }
        if self.num_attention_heads % self.num_key_value_heads != 0 {
            return unsupported(
                "num_key_value_heads",
                self.num_key_value_heads.to_string(),
                &format!("must divide num_attention_heads ({})", self.num_attention_heads),
            );
        }
        if self.head_dim % 2 != 0 {
            return unsupported("head_dim", self.head_dim.to_string(), "rotary embeddings need an even head_dim");
        }
        Ok(())
    }

    /// Query heads that share one key/value head.
    pub fn kv_groups(&self) -> usize {
        self.num_attention_heads / self.num_key_value_heads
    }

    /// Number of parameters (embedding counted once when tied).
    pub fn parameter_count(&self) -> usize {
        let (h, i, d) = (self.hidden_size, self.intermediate_size, self.head_dim);
        let q = h * self.num_attention_heads * d;
        let kv = 2 * h * self.num_key_value_heads * d;
        let o = self.num_attention_heads * d * h;
        let mlp = 3 * h * i;
        let norms = 2 * h + 2 * d;
        let layer = q + kv + o + mlp + norms;
        let embed = self.vocab_size * h;
        let head = if self.tie_word_embeddings { 0 } else { self.vocab_size * h };
        embed + self.num_hidden_layers * layer + h + head
    }

    /// Bytes of weights at `bytes_per_param`, plus the KV cache for `tokens` positions.
    pub fn memory_estimate(&self, bytes_per_param: usize, tokens: usize) -> (usize, usize) {
        let weights = self.parameter_count() * bytes_per_param;
        let kv = 2 * self.num_hidden_layers * self.num_key_value_heads * self.head_dim * tokens * bytes_per_param;
        (weights, kv)
    }

    /// Named presets matching the released dense Qwen3 checkpoints.
    pub fn preset(name: &str) -> Option<Self> {
        // (hidden, intermediate, layers, heads, kv_heads, tied)
        let (h, i, l, nh, kv, tied) = match name.to_ascii_lowercase().trim_start_matches("qwen3-") {
            "0.6b" => (1024, 3072, 28, 16, 8, true),
            "1.7b" => (2048, 6144, 28, 16, 8, true),
            "4b" => (2560, 9728, 36, 32, 8, true),
            "8b" => (4096, 12288, 36, 32, 8, false),
            "14b" => (5120, 17408, 40, 40, 8, false),
            _ => return None,
        };
        Some(Self {
            vocab_size: 151_936,
            hidden_size: h,
            intermediate_size: i,
            num_hidden_layers: l,
            num_attention_heads: nh,
            num_key_value_heads: kv,
            head_dim: 128,
            rms_norm_eps: 1e-6,
            rope_theta: 1_000_000.0,
            tie_word_embeddings: tied,
            max_position_embeddings: 40_960,
            hidden_act: "silu".into(),
            attention_bias: false,
            model_type: Some("qwen3".into()),
            torch_dtype: Some("bfloat16".into()),
            extra: Default::default(),
        })
    }

    /// Names accepted by [`Qwen3Config::preset`].
    pub const PRESETS: [&'static str; 5] = ["0.6B", "1.7B", "4B", "8B", "14B"];
}

/// transformers 5 writes `rope_parameters: {"rope_type": "default", "rope_theta": θ}` even when
/// nothing is scaled; that is the plain rotary embedding and is accepted.
fn is_default_rope_parameters(v: &serde_json::Value) -> bool {
    match v.get("rope_type").or_else(|| v.get("type")).and_then(|t| t.as_str()) {
        Some("default") => v.as_object().is_some_and(|o| {
            o.keys().all(|k| matches!(k.as_str(), "rope_type" | "type" | "rope_theta"))
        }),
        _ => false,
    }
}

impl Qwen3Config {
    /// The RoPE base, honouring transformers 5's `rope_parameters.rope_theta` when present.
    pub fn rope_base(&self) -> f64 {
        self.extra
            .get("rope_parameters")
            .and_then(|v| v.get("rope_theta"))
            .and_then(|v| v.as_f64())
            .unwrap_or(self.rope_theta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_0_6b_matches_the_released_config() {
        let c = Qwen3Config::preset("Qwen3-0.6B").unwrap();
        assert_eq!((c.hidden_size, c.num_attention_heads, c.head_dim), (1024, 16, 128));
        // 0.6B is 596M parameters with tied embeddings (440M without the embedding).
        assert_eq!(c.parameter_count(), 596_049_920);
    }

    #[test]
    fn rejects_rope_scaling_by_name() {
        let mut v = serde_json::to_value(Qwen3Config::preset("0.6B").unwrap()).unwrap();
        v["rope_scaling"] = serde_json::json!({"rope_type": "yarn", "factor": 4.0});
        let err = Qwen3Config::from_json(v.to_string().as_bytes(), "m/config.json").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("m/config.json") && msg.contains("rope_scaling"), "{msg}");
    }

    #[test]
    fn rejects_moe_and_sliding_window() {
        let base = serde_json::to_value(Qwen3Config::preset("0.6B").unwrap()).unwrap();
        let mut moe = base.clone();
        moe["num_experts"] = 128.into();
        assert!(Qwen3Config::from_json(moe.to_string().as_bytes(), "c").unwrap_err().to_string().contains("num_experts"));
        let mut sw = base;
        sw["use_sliding_window"] = true.into();
        assert!(Qwen3Config::from_json(sw.to_string().as_bytes(), "c").unwrap_err().to_string().contains("use_sliding_window"));
    }

    #[test]
    fn accepts_default_rope_parameters_of_transformers_5() {
        let mut v = serde_json::to_value(Qwen3Config::preset("0.6B").unwrap()).unwrap();
        v["rope_parameters"] = serde_json::json!({"rope_type": "default", "rope_theta": 5000.0});
        let c = Qwen3Config::from_json(v.to_string().as_bytes(), "c").unwrap();
        assert_eq!(c.rope_base(), 5000.0);
    }
}
