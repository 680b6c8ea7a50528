//! One LoRA training step: masked cross-entropy over supervised tokens, gradients by burn's
//! autodiff, gradient clipping and AdamW with PyTorch's semantics.
//!
//! Only the adapters are differentiated: base weights stay plain tensors and adapter matrices
//! become fresh autodiff leaves each step (burn 0.22 tracks autodiff per tensor), so no gradient
//! graph is kept for the frozen weights.

use burn::module::Param;
use burn::tensor::{FloatDType, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::batch::make_batch;
use super::paradigm::Example;
use crate::error::{CoreError, Result};
use crate::model::weights::{f32_bytes, serialize_safetensors, to_f32_vec, Checkpoint, Shard};
use crate::model::LoadedModel;
use crate::readback;

/// AdamW settings; defaults are PyTorch's `torch.optim.AdamW` except weight decay (0, as
/// transformers' Trainer uses unless set).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// Clip the global gradient norm to this (0: no clipping). transformers' Trainer uses 1.0.
    pub max_grad_norm: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, max_grad_norm: 1.0 }
    }
}

/// AdamW moments, one pair per adapter matrix in `Qwen3::adapters()` order (A then B).
#[derive(Debug, Clone, Default)]
pub struct AdamState {
    /// Updates taken so far.
    pub step: u64,
    pub m: Vec<Tensor<2>>,
    pub v: Vec<Tensor<2>>,
}

impl AdamState {
    /// The moments as f32 safetensors (`m.{i}`, `v.{i}`), for resumable checkpoints.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let mut tensors = Vec::new();
        for (kind, list) in [("m", &self.m), ("v", &self.v)] {
            for (i, t) in list.iter().enumerate() {
                tensors.push((format!("{kind}.{i}"), t.dims().to_vec(), f32_bytes(&to_f32_vec(t.clone())?)));
            }
        }
        serialize_safetensors(safetensors::Dtype::F32, &tensors)
    }

    /// Restore moments written by [`AdamState::to_safetensors`]; `step` is the update count.
    pub fn from_safetensors(bytes: &[u8], step: u64, file: &str, device: &burn::tensor::Device) -> Result<Self> {
        let ckpt = Checkpoint::parse(&[Shard { file: file.into(), bytes }])?;
        let mut state = AdamState { step, m: Vec::new(), v: Vec::new() };
        for i in 0..ckpt.names().count() / 2 {
            for (kind, list) in [("m", &mut state.m), ("v", &mut state.v)] {
                let (shape, values) = ckpt.read(&format!("{kind}.{i}"))?;
                let shape: [usize; 2] = shape.try_into().map_err(|_| CoreError::Safetensors {
                    file: file.into(),
                    reason: format!("{kind}.{i} is not a matrix"),
                })?;
                list.push(Tensor::from_data(TensorData::new(values, shape), device));
            }
        }
        Ok(state)
    }
}

/// What one optimizer step did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Mean cross-entropy over the step's supervised tokens.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    pub lr: f64,
    pub supervised_tokens: usize,
    pub tokens: usize,
}

/// Sum of token cross-entropies of one micro-batch (an autodiff scalar when adapters are
/// leaves), computing vocabulary logits only at supervised positions.
fn micro_batch_loss_sum(model: &LoadedModel, examples: &[&Example], pad_id: u32) -> Option<Tensor<1>> {
    let batch = make_batch(examples, pad_id, &model.rope, &model.device);
    if batch.positions.is_empty() {
        return None;
    }
    let n = batch.positions.len();
    let mut cache = model.model.new_cache();
    // 1. Hidden states of every position.                          // [b, t, e]
    let hidden = model.model.forward_hidden(&batch.input, &mut cache);
    let [b, t, e] = hidden.dims();
    // 2. Keep positions whose next token is supervised.             // [n, e]
    let idx = Tensor::<1, Int>::from_data(TensorData::new(batch.positions, [n]), &model.device);
    let picked = hidden.reshape([b * t, e]).select(0, idx);
    // 3. Final norm, then −Σ log p(target) with vocabulary work there only.
    let normed = model.model.norm.forward(picked, model.kernels()); // [n, e]
    Some(cross_entropy_sum(model, normed, batch.targets))
}

/// `Σ_i −log softmax(x_i · Wᵀ)[target_i]` for `x: [n, e]`, with the model's kernels: the fused
/// WGSL linear + cross-entropy on wgpu, else the (blockwise when buffers are small) reference
/// (`crate::kernels`).
fn cross_entropy_sum(model: &LoadedModel, x: Tensor<2>, targets: Vec<i32>) -> Tensor<1> {
    model.kernels().cross_entropy_sum(x, model.model.output_matrix(), targets, model.max_buffer_bytes)
}

async fn scalar(t: Tensor<1>) -> Result<f64> {
    Ok(readback::floats(t).await?[0] as f64)
}

/// Mean loss over supervised tokens of `examples` (no gradients), e.g. for evaluation.
pub async fn mean_loss(model: &LoadedModel, examples: &[&Example], pad_id: u32) -> Result<f64> {
    let n: usize = examples.iter().map(|e| e.supervised_tokens()).sum();
    match micro_batch_loss_sum(model, examples, pad_id) {
        Some(sum) => Ok(scalar(sum).await? / n as f64),
        None => Ok(f64::NAN),
    }
}

/// One optimizer step over `micro_batches` (gradient accumulation): the loss is the mean over all
/// their supervised tokens, as transformers computes it (`num_items_in_batch`).
pub async fn train_step(
    model: &mut LoadedModel,
    micro_batches: &[Vec<&Example>],
    opt: &OptimConfig,
    lr: f64,
    state: &mut AdamState,
    pad_id: u32,
) -> Result<StepReport> {
    let supervised: usize = micro_batches.iter().flatten().map(|e| e.supervised_tokens()).sum();
    let tokens: usize = micro_batches.iter().flatten().map(|e| e.input_ids.len()).sum();
    if supervised == 0 {
        return Err(CoreError::Training("the batch has no supervised tokens (all labels are -100)".into()));
    }

    // 1. Adapter matrices become fresh autodiff leaves.
    let mut leaves: Vec<Tensor<2>> = Vec::new();
    for (_, _, lin) in model.model.linears_mut() {
        if let Some(lora) = &mut lin.lora {
            for p in [&mut lora.a, &mut lora.b] {
                let leaf = p.val().without_autodiff().autodiff().require_grad();
                leaves.push(leaf.clone());
                *p = Param::from_tensor(leaf);
            }
        }
    }
    if leaves.is_empty() {
        return Err(CoreError::Training("the model has no LoRA adapter to train".into()));
    }

    // 2. Forward and backward per micro-batch, accumulating gradients.
    let mut grads: Vec<Option<Tensor<2>>> = vec![None; leaves.len()];
    let mut loss = 0.0;
    for mb in micro_batches {
        let Some(sum) = micro_batch_loss_sum(model, mb, pad_id) else { continue };
        let part = sum / supervised as f64;
        let g = part.backward();
        loss += scalar(part.without_autodiff()).await?;
        for (acc, leaf) in grads.iter_mut().zip(&leaves) {
            if let Some(gi) = leaf.grad(&g) {
                *acc = Some(match acc.take() {
                    Some(a) => a + gi,
                    None => gi,
                });
            }
        }
    }
    if !loss.is_finite() {
        return Err(CoreError::Training(format!(
            "the loss is {loss} at update {}; lower the learning rate or check the data (the last good checkpoint is kept)",
            state.step + 1
        )));
    }
    let grads: Vec<Tensor<2>> = grads
        .into_iter()
        .zip(&leaves)
        .map(|(g, l)| g.unwrap_or_else(|| l.clone().without_autodiff().zeros_like()))
        .collect();

    // 3. Global gradient norm and clipping (torch.nn.utils.clip_grad_norm_).
    let sq: Tensor<1> = Tensor::cat(grads.iter().map(|g| g.clone().square().sum()).collect(), 0).sum();
    let grad_norm = scalar(sq).await?.sqrt();
    let clip = if opt.max_grad_norm > 0.0 { (opt.max_grad_norm / (grad_norm + 1e-6)).min(1.0) } else { 1.0 };

    // 4. AdamW (torch.optim.AdamW): decoupled decay, then the bias-corrected Adam update.
    state.step += 1;
    let t = state.step as i32;
    let (bc1, bc2) = (1.0 - opt.beta1.powi(t), 1.0 - opt.beta2.powi(t));
    if state.m.is_empty() {
        state.m = grads.iter().map(|g| g.zeros_like()).collect();
        state.v = grads.iter().map(|g| g.zeros_like()).collect();
    }
    let mut updated = Vec::with_capacity(leaves.len());
    for (i, (leaf, g)) in leaves.into_iter().zip(grads).enumerate() {
        let g = if clip < 1.0 { g * clip } else { g };
        let p = leaf.without_autodiff().cast(FloatDType::F32);
        let p = if opt.weight_decay != 0.0 { p * (1.0 - lr * opt.weight_decay) } else { p };
        let m = state.m[i].clone() * opt.beta1 + g.clone() * (1.0 - opt.beta1);
        let v = state.v[i].clone() * opt.beta2 + g.square() * (1.0 - opt.beta2);
        let denom = v.clone().sqrt() / bc2.sqrt() + opt.eps;
        updated.push(p - m.clone() / denom * (lr / bc1));
        state.m[i] = m;
        state.v[i] = v;
    }

    // 5. Install the new values as plain tensors.
    let mut it = updated.into_iter();
    for (_, _, lin) in model.model.linears_mut() {
        if let Some(lora) = &mut lin.lora {
            lora.a = Param::from_tensor(it.next().expect("one update per leaf"));
            lora.b = Param::from_tensor(it.next().expect("one update per leaf"));
        }
    }
    Ok(StepReport { loss, grad_norm, lr, supervised_tokens: supervised, tokens })
}
