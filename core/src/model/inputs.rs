//! Everything one forward step needs besides the weights: token ids, rotary tables for each
//! row's positions, and the attention mask for left-padded batches with a cache.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use super::rope::Rope;

/// One step's inputs, already on the device.
#[derive(Debug, Clone)]
pub struct StepInput {
    /// `[b, t]` token ids.
    pub ids: Tensor<2, Int>,
    /// `[b, 1, t, d]` rotary tables.
    pub cos: Tensor<4>,
    pub sin: Tensor<4>,
    /// `[b, 1, t, s]`, true where attention is blocked; `None` when nothing is (one unpadded row,
    /// single new token).
    pub mask: Option<Tensor<4, Bool>>,
}

impl StepInput {
    /// Build a step for `ids[row]` (all rows the same length `t`), given per row which of the `s`
    /// key positions (cached + new) hold real tokens (`key_valid[row][j]`) and the new tokens'
    /// positions (`positions[row]`). The new tokens occupy the last `t` key slots.
    pub fn new(
        ids: &[Vec<u32>],
        positions: &[Vec<usize>],
        key_valid: &[Vec<bool>],
        rope: &Rope,
        device: &Device,
    ) -> Self {
        let b = ids.len();
        let t = ids.first().map_or(0, |r| r.len());
        let s = key_valid.first().map_or(0, |r| r.len());
        let past = s - t;
        let flat: Vec<i32> = ids.iter().flatten().map(|&i| i as i32).collect();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(flat, [b, t]), device);
        let (cos, sin) = rope.tables(positions, device);

        let mut blocked = Vec::with_capacity(b * t * s);
        let mut any_blocked = false;
        for row in key_valid {
            for i in 0..t {
                for (j, &valid) in row.iter().enumerate() {
                    let block = !(valid && j <= past + i);
                    any_blocked |= block;
                    blocked.push(block);
                }
            }
        }
        let mask = any_blocked
            .then(|| Tensor::<4, Bool>::from_data(TensorData::new(blocked, [b, 1, t, s]), device));
        Self { ids, cos, sin, mask }
    }

    /// A single unpadded sequence starting at position 0 (scoring, tests).
    pub fn sequence(ids: &[u32], rope: &Rope, device: &Device) -> Self {
        let positions: Vec<usize> = (0..ids.len()).collect();
        Self::new(&[ids.to_vec()], &[positions], &[vec![true; ids.len()]], rope, device)
    }
}
