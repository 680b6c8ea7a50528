//! Rotary position embedding in Qwen3's "rotate half" layout.
//!
//! Tables are computed on the host, as transformers does in float32, for exactly the positions of
//! each row (rows of a left-padded batch start at different offsets), then uploaded.

use burn::tensor::{Device, Tensor, TensorData};

/// Inverse frequencies `1 / base^(2i/d)` for `i in 0..d/2`.
#[derive(Debug, Clone)]
pub struct Rope {
    inv_freq: Vec<f32>,
    head_dim: usize,
}

impl Rope {
    pub fn new(head_dim: usize, base: f64) -> Self {
        // transformers: 1.0 / (base ** (arange(0, dim, 2).float() / dim)) in float32.
        let inv_freq = (0..head_dim / 2)
            .map(|i| {
                let exponent = (2 * i) as f32 / head_dim as f32;
                1.0f32 / (base as f32).powf(exponent)
            })
            .collect();
        Self { inv_freq, head_dim }
    }

    /// cos and sin tables for `positions[row][t]`, each `[batch, 1, t, head_dim]` so they broadcast
    /// over heads.
    pub fn tables(&self, positions: &[Vec<usize>], device: &Device) -> (Tensor<4>, Tensor<4>) {
        let b = positions.len();
        let t = positions.first().map_or(0, |p| p.len());
        let d = self.head_dim;
        let half = d / 2;
        let mut cos = Vec::with_capacity(b * t * d);
        let mut sin = Vec::with_capacity(b * t * d);
        for row in positions {
            debug_assert_eq!(row.len(), t);
            for &p in row {
                // freqs = pos * inv_freq (float32), emb = cat(freqs, freqs)
                let freqs: Vec<f32> = self.inv_freq.iter().map(|f| p as f32 * f).collect();
                for k in 0..d {
                    let f = freqs[k % half];
                    cos.push(f.cos());
                    sin.push(f.sin());
                }
            }
        }
        let shape = [b, 1, t, d];
        (
            Tensor::from_data(TensorData::new(cos, shape), device),
            Tensor::from_data(TensorData::new(sin, shape), device),
        )
    }
}
