//! Right-padded training batches and the positions whose next token carries loss.

use super::paradigm::{Example, IGNORE};
use crate::model::rope::Rope;
use crate::model::StepInput;
use burn::tensor::Device;

/// A batch ready for the forward pass.
pub struct TrainBatch {
    pub input: StepInput,
    /// Flat indices `row · t + i` of positions whose logits predict a supervised token.
    pub positions: Vec<i32>,
    /// The token each of those positions must predict (`labels[row][i + 1]`).
    pub targets: Vec<i32>,
    /// Real (non-padding) tokens in the batch.
    pub tokens: usize,
}

/// Right-pad `examples` to a common length. Real tokens keep positions `0..len` (as transformers
/// uses in training: no position shift for right padding); padded keys are masked.
pub fn make_batch(examples: &[&Example], pad_id: u32, rope: &Rope, device: &Device) -> TrainBatch {
    let t = examples.iter().map(|e| e.input_ids.len()).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(examples.len());
    let mut key_valid = Vec::with_capacity(examples.len());
    let mut positions = Vec::new();
    let mut targets = Vec::new();
    for (row, e) in examples.iter().enumerate() {
        let n = e.input_ids.len();
        ids.push(e.input_ids.iter().copied().chain(std::iter::repeat_n(pad_id, t - n)).collect::<Vec<_>>());
        key_valid.push((0..t).map(|j| j < n).collect::<Vec<_>>());
        for i in 0..n.saturating_sub(1) {
            let label = e.labels[i + 1];
            if label != IGNORE {
                positions.push((row * t + i) as i32);
                targets.push(label as i32);
            }
        }
    }
    let pos: Vec<Vec<usize>> = (0..examples.len()).map(|_| (0..t).collect()).collect();
    let input = StepInput::new(&ids, &pos, &key_valid, rope, device);
    TrainBatch { input, positions, targets, tokens: examples.iter().map(|e| e.input_ids.len()).sum() }
}
