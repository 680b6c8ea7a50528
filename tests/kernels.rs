//! The WGSL kernels (shaders/*.wgsl, core/src/kernels/wgsl) against their reference twins
//! (core/src/kernels/reference.rs, generate/sampler.rs) on wgpu — lavapipe in CI — on ragged
//! shapes: odd lengths, rows and vocabularies that are not multiples of the 256-thread
//! workgroup, several vocabulary chunks and blocks, all labels ignored, one label. Attention
//! with a recomputing backward (kernels/wgsl/attention.rs) is checked the same way, on grouped
//! heads, odd lengths, a cached prefix and a fully masked padding row.
//!
//! Tolerances (f32): outputs and gradients within 2e-5 absolute + 2e-5 relative to the largest
//! magnitude of the compared tensor (sums reduce in a different order on the GPU); sampled and
//! greedy token ids identical; log-probabilities within 2e-5. End to end, one AdamW step on the
//! "tiny" checkpoint gives the same loss (±1e-5 relative) and adapters (±1e-4) with either
//! choice and matches transformers + PEFT; generation gives the same ids with either choice.

mod common;

use burn::module::Param;
use burn::tensor::{Bool, Device, FloatDType, Tensor, TensorData};
use common::*;
use cotlab_core::device::{select_device, DeviceChoice, SelectedDevice};
use cotlab_core::generate::sampler::{argmax, sample, top_logprobs};
use cotlab_core::generate::{GenerateParams, Generation, Prompt, Sampling};
use cotlab_core::kernels::{reference, wgsl, KernelChoice, Kernels};
use cotlab_core::model::vocab::VocabMatrix;
use cotlab_core::model::weights::Shard;
use cotlab_core::sft::{parse_jsonl, tokenize_example, train_step, AdamState, Example, OptimConfig, Paradigm};
use cotlab_core::model::rope::Rope;
use cotlab_core::model::LoadedModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TOL: f32 = 2e-5;

fn wgpu() -> SelectedDevice {
    select_device(DeviceChoice::Wgpu).unwrap_or_else(|e| {
        panic!("kernel tests need a wgpu adapter (CI: `apt-get install mesa-vulkan-drivers` gives lavapipe): {e}")
    })
}

/// Deterministic values in [-scale, scale).
fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale).collect()
}

fn tensor<const D: usize>(shape: [usize; D], seed: u64, scale: f32, device: &Device) -> Tensor<D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(values(n, seed, scale), shape), device)
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.without_autodiff().into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// max |a − b| ≤ TOL · (1 + max |b|).
fn assert_close(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(worst <= TOL * (1.0 + scale), "{what}: max |Δ| {worst:e} (scale {scale})");
}

// ------------------------------------------------------------------------------ RMSNorm

fn check_rms_norm(dims: [usize; 2], seed: u64, device: &Device) {
    let [rows, d] = dims;
    let x = tensor([rows, d], seed, 3.0, device);
    let w = tensor([d], seed + 1, 1.5, device);
    let up = tensor([rows, d], seed + 2, 1.0, device); // upstream gradient via Σ y·up
    let run = |k: Kernels| {
        let xl = x.clone().autodiff().require_grad();
        let wl = w.clone().autodiff().require_grad();
        let y = k.rms_norm(xl.clone(), wl.clone(), 1e-6);
        let g = (y.clone() * up.clone().autodiff()).sum().backward();
        (host(y), host(xl.grad(&g).unwrap()), host(wl.grad(&g).unwrap()))
    };
    let (y_ref, dx_ref, dw_ref) = run(Kernels::Reference);
    let (y, dx, dw) = run(Kernels::Wgsl);
    assert_close(&format!("rms_norm y {dims:?}"), &y, &y_ref);
    assert_close(&format!("rms_norm dx {dims:?}"), &dx, &dx_ref);
    assert_close(&format!("rms_norm dw {dims:?}"), &dw, &dw_ref);
}

#[test]
fn rms_norm_matches_reference_with_gradients() {
    let device = wgpu().device;
    // one element; odd; wider than a workgroup and not a multiple of it; a Qwen3 row.
    for (i, dims) in [[1, 1], [7, 33], [3, 1000], [5, 1024]].into_iter().enumerate() {
        check_rms_norm(dims, 10 * i as u64, &device);
    }
    // Without autodiff (decode): the same values, and any rank (per-head q/k norm).
    let x = tensor([2, 3, 5, 128], 99, 2.0, &device);
    let w = tensor([128], 98, 1.0, &device);
    let a = host(Kernels::Wgsl.rms_norm(x.clone(), w.clone(), 1e-6));
    let b = host(reference::rms_norm(x, w, 1e-6));
    assert_close("rms_norm 4-d", &a, &b);
}

// ------------------------------------------------------------------------------ RoPE

#[test]
fn rotary_matches_reference_with_gradients() {
    let device = wgpu().device;
    for (i, [b, h, t, d]) in [[1, 1, 1, 2], [2, 3, 5, 6], [1, 16, 7, 128], [2, 8, 33, 64]].into_iter().enumerate() {
        let rope = Rope::new(d, 1e6);
        // Rows of a left-padded batch start at different positions.
        let positions: Vec<Vec<usize>> = (0..b).map(|r| (0..t).map(|j| j + 3 * r + 40 * i).collect()).collect();
        let (cos, sin) = rope.tables(&positions, &device);
        let x = tensor([b, h, t, d], 7 + i as u64, 2.0, &device);
        let up = tensor([b, h, t, d], 70 + i as u64, 1.0, &device);
        let run = |k: Kernels| {
            let xl = x.clone().autodiff().require_grad();
            let y = k.rotary(xl.clone(), &cos, &sin);
            let g = (y.clone() * up.clone().autodiff()).sum().backward();
            (host(y), host(xl.grad(&g).unwrap()))
        };
        let (y_ref, dx_ref) = run(Kernels::Reference);
        let (y, dx) = run(Kernels::Wgsl);
        assert_close(&format!("rope y {:?}", [b, h, t, d]), &y, &y_ref);
        assert_close(&format!("rope dx {:?}", [b, h, t, d]), &dx, &dx_ref);
        // A non-contiguous input (as after swap_dims in attention).
        let xs = tensor([b, t, h, d], 5 + i as u64, 1.0, &device).swap_dims(1, 2);
        assert_close("rope strided", &host(Kernels::Wgsl.rotary(xs.clone(), &cos, &sin)), &host(reference::rotary(xs, &cos, &sin)));
    }
}

// ------------------------------------------------------------------------------ attention

/// A `[b, 1, t, s]` causal mask over the last `t` of `s` key slots, rows left-padded by
/// `pad[row]` keys (true = blocked). A query that sees only padding is fully masked.
fn causal_mask(b: usize, t: usize, s: usize, pad: &[usize], device: &Device) -> Tensor<4, Bool> {
    let past = s - t;
    let blocked: Vec<bool> = (0..b)
        .flat_map(|r| (0..t).flat_map(move |i| (0..s).map(move |j| j < pad[r] || j > past + i)))
        .collect();
    Tensor::from_data(TensorData::new(blocked, [b, 1, t, s]), device)
}

#[test]
fn attention_matches_reference_with_gradients() {
    let device = wgpu().device;
    // [b, h, g, t, s, d], left padding per row, masked or not. Row 1 of the second case is
    // padded past its first query, whose row is then fully masked (uniform probabilities).
    let cases: [([usize; 6], &[usize], bool); 4] = [
        ([1, 4, 2, 7, 7, 8], &[0], true),
        ([2, 6, 3, 5, 9, 16], &[0, 6], true),
        ([1, 2, 1, 1, 5, 4], &[0], false),
        ([1, 16, 8, 33, 33, 128], &[0], true),
    ];
    for (i, ([b, h, g, t, s, d], pad, masked)) in cases.into_iter().enumerate() {
        let seed = 100 + 10 * i as u64;
        let q = tensor([b, h, t, d], seed, 1.5, &device);
        let k = tensor([b, g, s, d], seed + 1, 1.5, &device);
        let v = tensor([b, g, s, d], seed + 2, 2.0, &device);
        let up = tensor([b, h, t, d], seed + 3, 1.0, &device);
        let mask = masked.then(|| causal_mask(b, t, s, pad, &device));
        let scale = 1.0 / (d as f64).sqrt();
        type Attend<'a> = &'a dyn Fn(Tensor<4>, Tensor<4>, Tensor<4>, Option<&Tensor<4, Bool>>) -> Tensor<4>;
        let run = |attend: Attend| {
            let (ql, kl, vl) = (q.clone().autodiff().require_grad(), k.clone().autodiff().require_grad(), v.clone().autodiff().require_grad());
            let mask = mask.clone().map(|m| m.autodiff());
            let y = attend(ql.clone(), kl.clone(), vl.clone(), mask.as_ref());
            let grads = (y.clone() * up.clone().autodiff()).sum().backward();
            [host(y), host(ql.grad(&grads).unwrap()), host(kl.grad(&grads).unwrap()), host(vl.grad(&grads).unwrap())]
        };
        let reference = run(&|q, k, v, m| reference::attention(q, k, v, m, scale));
        let recomputed = run(&|q, k, v, m| Kernels::Wgsl.attention(q, k, v, m, scale));
        // Blocks of 2 query rows (the last one ragged when t is odd), forward and backward.
        let two_rows = (2 * b * h * s * 4) as u64;
        let blocked = run(&|q, k, v, m| wgsl::attention(q, k, v, m, scale, two_rows));
        for (what, (a, r)) in ["y", "dq", "dk", "dv"].iter().zip(recomputed.iter().zip(&reference)) {
            assert_close(&format!("attention {what} {:?}", [b, h, g, t, s, d]), a, r);
        }
        for (what, (a, r)) in ["y", "dq", "dk", "dv"].iter().zip(blocked.iter().zip(&reference)) {
            assert_close(&format!("attention in blocks of 2 rows, {what} {:?}", [b, h, g, t, s, d]), a, r);
        }
        // Without autodiff (prefill in generation) only the blocking differs from the reference.
        let plain = wgsl::attention(q.clone(), k.clone(), v.clone(), mask.as_ref(), scale, two_rows);
        assert_close("attention forward without autodiff, blocks of 2 rows", &host(plain), &reference[0]);
        if i == 1 {
            // The fully masked query (row 1, position 0) gets no gradient, as with mask_fill.
            let dq = &recomputed[1];
            let row = &dq[(h * t) * d..(h * t) * d + d];
            assert!(row.iter().all(|&x| x == 0.0), "fully masked query row has gradient {row:?}");
        }
    }
}

// ------------------------------------------------------------------------------ cross-entropy

/// A `[v, e]` vocabulary matrix stored as chunks of `rows` rows.
fn vocab(v: usize, e: usize, rows: usize, seed: u64, device: &Device) -> VocabMatrix {
    let all = values(v * e, seed, 1.0);
    VocabMatrix {
        chunks: (0..v)
            .step_by(rows)
            .map(|s| {
                let len = rows.min(v - s);
                Param::from_tensor(Tensor::from_data(TensorData::new(all[s * e..(s + len) * e].to_vec(), [len, e]), device))
            })
            .collect(),
    }
}

/// Loss and ∂loss/∂x with `f`, for x: `[n, e]`.
fn loss_and_grad(x: &Tensor<2>, f: impl Fn(Tensor<2>) -> Tensor<1>) -> (f32, Vec<f32>) {
    let xl = x.clone().autodiff().require_grad();
    let loss = f(xl.clone());
    let g = loss.backward();
    let grad = xl.grad(&g).map(host).unwrap_or_else(|| vec![0.0; x.dims().iter().product()]);
    (host(loss)[0], grad)
}

#[test]
fn fused_cross_entropy_matches_reference_with_gradients() {
    let device = wgpu().device;
    let (v, e) = (1000, 24); // vocabulary not a multiple of 256
    // (rows, labels pattern, vocabulary chunk rows, logits block bytes)
    let cases: Vec<(usize, Vec<i32>, usize, u64)> = vec![
        (1, vec![999], 1000, 1 << 20),                                                  // one label, last id
        (5, vec![0, -100, 517, 3, -100], 600, 4 * 5 * 97),                              // 2 chunks, blocks of 97
        (37, (0..37).map(|i| if i % 4 == 1 { -100 } else { (i * 131 % 1000) as i32 }).collect(), 333, 4 * 37 * 256),
        (6, vec![-100; 6], 1000, 1 << 20),                                              // all ignored
    ];
    for (i, (n, labels, rows, block)) in cases.into_iter().enumerate() {
        let head = vocab(v, e, rows, 100 + i as u64, &device);
        let x = tensor([n, e], 200 + i as u64, 2.0, &device);
        let (l_ref, g_ref) = loss_and_grad(&x, |x| Kernels::Reference.cross_entropy_sum(x, &head, labels.clone(), None));
        let (l, g) = loss_and_grad(&x, |x| wgsl::linear_cross_entropy_sum(x, &head, &labels, block));
        let supervised = labels.iter().filter(|&&l| l != -100).count();
        assert!(
            (l - l_ref).abs() <= 1e-5 * (1.0 + l_ref.abs()),
            "case {i}: loss {l} vs reference {l_ref}"
        );
        assert_close(&format!("cross-entropy grad case {i}"), &g, &g_ref);
        if supervised == 0 {
            assert_eq!(l, 0.0, "all labels ignored: zero loss");
            assert!(g.iter().all(|&v| v == 0.0), "all labels ignored: zero gradient");
        }
    }
    // Plain tensors (evaluation): the loss alone, same value.
    let head = vocab(v, e, 1000, 7, &device);
    let x = tensor([9, e], 8, 1.0, &device);
    let labels: Vec<i32> = (0..9).map(|i| i * 100 + 1).collect();
    let a = host(wgsl::linear_cross_entropy_sum(x.clone(), &head, &labels, 4 * 9 * 300))[0];
    let b = host(reference::cross_entropy_sum(x, &head, labels, None))[0];
    assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "plain loss {a} vs {b}");
}

/// Hand-computed: x = [1, 0], W = [[1, 0], [0, 1], [0, 0]], label 0: logits (1, 0, 0),
/// loss = ln(e + 2) − 1 = 0.551444, ∂/∂x = softmax·W − W[0] = (e/(e+2) − 1, 1/(e+2)).
#[test]
fn fused_cross_entropy_hand_computed() {
    let device = wgpu().device;
    let head = VocabMatrix {
        chunks: vec![Param::from_tensor(Tensor::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0, 0.0, 0.0], [3, 2]), &device))],
    };
    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0], [1, 2]), &device);
    let (l, g) = loss_and_grad(&x, |x| wgsl::linear_cross_entropy_sum(x, &head, &[0], 4 * 2));
    let e = std::f32::consts::E;
    assert!((l - 0.551444).abs() < 1e-5, "{l}");
    assert!((g[0] - (e / (e + 2.0) - 1.0)).abs() < 1e-6 && (g[1] - 1.0 / (e + 2.0)).abs() < 1e-6, "{g:?}");
}

/// The fused kernel has no ∂/∂W; a vocabulary matrix that requires a gradient takes the
/// reference path, which has one. Same numbers as `fused_cross_entropy_hand_computed`:
/// ∂loss/∂W = (softmax − onehot(0)) ⊗ x = [[e/(e+2) − 1, 0], [1/(e+2), 0], [1/(e+2), 0]].
/// The model's frozen weights (plain tensors) do not count as requiring one.
#[test]
fn a_trainable_vocabulary_matrix_keeps_its_gradient() {
    let device = wgpu().device;
    let w = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0, 0.0, 0.0], [3, 2]), &device);
    let frozen = VocabMatrix { chunks: vec![Param::from_tensor(w.clone())] };
    assert!(!frozen.chunks[0].val().is_require_grad(), "a plain (frozen) matrix must take the fused path");
    let leaf = w.autodiff().require_grad();
    let head = VocabMatrix { chunks: vec![Param::from_tensor(leaf.clone())] };
    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0], [1, 2]), &device).autodiff();
    let grads = Kernels::Wgsl.cross_entropy_sum(x, &head, vec![0], None).backward();
    let gw = host(leaf.grad(&grads).expect("a gradient for the vocabulary matrix"));
    let e = std::f32::consts::E;
    let want = [e / (e + 2.0) - 1.0, 0.0, 1.0 / (e + 2.0), 0.0, 1.0 / (e + 2.0), 0.0];
    assert_close("dL/dW", &gw, &want);
}

// ------------------------------------------------------------------------------ sampling

#[test]
fn device_sampling_matches_the_host_sampler() {
    let device = wgpu().device;
    let (b, v) = (3, 1000);
    let flat = values(b * v, 42, 6.0);
    let logits = Tensor::<2>::from_data(TensorData::new(flat.clone(), [b, v]), &device);
    let row = |i: usize| &flat[i * v..(i + 1) * v];
    let read = |t: burn::tensor::Tensor<2, burn::tensor::Int>| -> Vec<i32> { t.into_data().convert::<i32>().try_to_vec::<i32>().unwrap() };
    let w = wgsl::sample::ROW_WORDS;

    // Greedy with 5 log-probabilities.
    let out = read(wgsl::sample_rows(logits.clone(), &Sampling::Greedy, 5, &[0.0; 3]));
    for i in 0..b {
        assert_eq!(out[i * w] as u32, argmax(row(i)), "greedy row {i}");
        for (j, want) in top_logprobs(row(i), 5).into_iter().enumerate() {
            assert_eq!(out[i * w + 1 + 2 * j] as u32, want.token_id, "logprob id row {i} #{j}");
            let lp = f32::from_bits(out[i * w + 2 + 2 * j] as u32);
            assert!((lp - want.logprob).abs() < TOL, "logprob row {i} #{j}: {lp} vs {}", want.logprob);
        }
    }

    // Sampling: the device, given the uniform numbers the host sampler would draw, picks the
    // host's tokens (Qwen's recommended settings, a tight top-p and a min-p).
    let settings = [
        Sampling::Sample { temperature: 0.6, top_k: 20, top_p: 0.95, min_p: 0.0 },
        Sampling::Sample { temperature: 0.7, top_k: 20, top_p: 0.8, min_p: 0.0 },
        Sampling::Sample { temperature: 1.3, top_k: 64, top_p: 0.5, min_p: 0.1 },
        Sampling::Sample { temperature: 1.0, top_k: 1, top_p: 1.0, min_p: 0.0 },
    ];
    for (s_i, s) in settings.iter().enumerate() {
        for draw in 0..25u64 {
            let seeds: Vec<u64> = (0..b as u64).map(|i| 1000 * s_i as u64 + 10 * draw + i).collect();
            let host_ids: Vec<u32> = (0..b).map(|i| sample(row(i), s, &mut ChaCha8Rng::seed_from_u64(seeds[i]))).collect();
            let u: Vec<f32> = seeds.iter().map(|&sd| ChaCha8Rng::seed_from_u64(sd).random::<f64>() as f32).collect();
            let out = read(wgsl::sample_rows(logits.clone(), s, 0, &u));
            let dev_ids: Vec<u32> = (0..b).map(|i| out[i * w] as u32).collect();
            assert_eq!(dev_ids, host_ids, "{s:?} draw {draw}");
        }
    }
    assert!(!wgsl::sampling_supported(&Sampling::Sample { temperature: 1.0, top_k: 0, top_p: 0.9, min_p: 0.0 }, 0));

    // Many ties (13 distinct logits over 1,001 ids, a vocabulary no multiple of the workgroup):
    // candidates follow the host's order, logit descending then id ascending, across the
    // threads' private lists; the 64 top log-probabilities name the same ids in the same order.
    let v = 1001;
    let tied: Vec<f32> = values(b * v, 7, 3.0).into_iter().map(|x| (x * 2.0).round() / 2.0).collect();
    let logits = Tensor::<2>::from_data(TensorData::new(tied.clone(), [b, v]), &device);
    let out = read(wgsl::sample_rows(logits.clone(), &Sampling::Greedy, 64, &[0.0; 3]));
    for i in 0..b {
        let row = &tied[i * v..(i + 1) * v];
        assert_eq!(out[i * w] as u32, argmax(row), "tied greedy row {i}");
        let want: Vec<u32> = top_logprobs(row, 64).into_iter().map(|t| t.token_id).collect();
        let got: Vec<u32> = (0..64).map(|j| out[i * w + 1 + 2 * j] as u32).collect();
        assert_eq!(got, want, "tied top-64 order, row {i}");
    }
    // Sampling over ties: where more tokens tie with the 40th logit than the shader keeps, it
    // leaves the row undecided (−1) and `choose` draws on the host with the generator as it
    // was; either way the ids are the host sampler's, and the generators end in the same state.
    // (No top-p or min-p here: with ties, a cumulative probability can land exactly on top_p,
    // where the shader's f32 and the host's f64 sums may fall on either side.)
    let s = Sampling::Sample { temperature: 0.7, top_k: 40, top_p: 1.0, min_p: 0.0 };
    let mut undecided = 0;
    for draw in 0..25u64 {
        let seeds: Vec<u64> = (0..b as u64).map(|i| 7000 + 10 * draw + i).collect();
        let mut host_rngs: Vec<ChaCha8Rng> = seeds.iter().map(|&sd| ChaCha8Rng::seed_from_u64(sd)).collect();
        let host_ids: Vec<u32> = (0..b).map(|i| sample(&tied[i * v..(i + 1) * v], &s, &mut host_rngs[i])).collect();
        let mut rngs: Vec<ChaCha8Rng> = seeds.iter().map(|&sd| ChaCha8Rng::seed_from_u64(sd)).collect();
        let picks = pollster::block_on(wgsl::sample::choose(logits.clone(), &s, 0, &mut rngs, &[true; 3])).unwrap();
        let ids: Vec<u32> = picks.into_iter().map(|p| p.unwrap().0).collect();
        assert_eq!(ids, host_ids, "tied {s:?} draw {draw}");
        assert_eq!(rngs, host_rngs, "generator state after draw {draw}");
        let u: Vec<f32> = seeds.iter().map(|&sd| ChaCha8Rng::seed_from_u64(sd).random::<f64>() as f32).collect();
        let out = read(wgsl::sample_rows(logits.clone(), &s, 0, &u));
        undecided += (0..b).filter(|&i| out[i * w] == -1).count();
    }
    assert!(undecided > 0, "the tied rows were meant to exercise the host fallback");
    // Ties that fit the candidates are decided on the device: with 5 log-probabilities asked
    // for, the shader keeps 5 candidates, and the 4 tokens tied at the 2nd logit all survive
    // a top-2 (top-k keeps ties).
    let few: Vec<f32> = (0..v).map(|j| match j { 10 => 2.0, 20 | 30 | 40 | 50 => 0.5, _ => -5.0 }).collect();
    let few_logits = Tensor::<2>::from_data(TensorData::new(few.clone(), [1, v]), &device);
    let s2 = Sampling::Sample { temperature: 1.0, top_k: 2, top_p: 1.0, min_p: 0.0 };
    let mut seen = std::collections::BTreeSet::new();
    for draw in 0..40u64 {
        let want = sample(&few, &s2, &mut ChaCha8Rng::seed_from_u64(draw));
        let u = ChaCha8Rng::seed_from_u64(draw).random::<f64>() as f32;
        let out = read(wgsl::sample_rows(few_logits.clone(), &s2, 5, &[u]));
        assert_eq!(out[0], want as i32, "top-2 with ties, draw {draw}");
        seen.insert(want);
    }
    assert!(seen.len() > 2, "top-k kept the tied tokens: {seen:?}");
}

// ------------------------------------------------------------------------------ end to end

fn tiny(device: &SelectedDevice, choice: KernelChoice) -> LoadedModel {
    let config = std::fs::read(fixtures().join("models/tiny/config.json")).unwrap();
    let cfg = cotlab_core::model::Qwen3Config::from_json(&config, "config.json").unwrap();
    let files = checkpoint_files("tiny");
    let shards: Vec<Shard> = files.iter().map(|(f, b)| Shard { file: f.clone(), bytes: b }).collect();
    let mut m = LoadedModel::new(cfg, &shards, &device.device, FloatDType::F32, device.max_buffer_bytes).unwrap();
    m.set_kernels(choice).unwrap();
    m
}

#[test]
fn auto_means_wgsl_on_wgpu_and_reference_on_cpu() {
    let gpu = wgpu();
    assert_eq!(KernelChoice::Auto.resolve(&gpu.device).unwrap(), Kernels::Wgsl);
    assert_eq!(KernelChoice::Auto.resolve(&Device::flex()).unwrap(), Kernels::Reference);
    let err = KernelChoice::Wgsl.resolve(&Device::flex()).unwrap_err().to_string();
    assert!(err.contains("--device wgpu"), "{err}");
    assert_eq!("reference".parse::<KernelChoice>().unwrap(), KernelChoice::Reference);
}

#[test]
fn generation_agrees_between_kernel_choices() {
    let gpu = wgpu();
    let prompts = vec![
        Prompt { ids: vec![151644, 872, 198, 9707, 11, 1246, 525, 498, 30], seed: 5 },
        Prompt { ids: vec![151644, 872, 198, 3838], seed: 6 },
    ];
    for (sampling, logprobs) in [
        (Sampling::Greedy, 3),
        (Sampling::Sample { temperature: 0.7, top_k: 20, top_p: 0.8, min_p: 0.0 }, 0),
    ] {
        let params = GenerateParams { max_new_tokens: 8, sampling, logprobs, stop_ids: vec![], pad_id: 151643 };
        let run = |choice| {
            let m = tiny(&gpu, choice);
            Generation::new(&m, &prompts, params.clone()).unwrap().run(|_| {}).unwrap()
        };
        let (a, b) = (run(KernelChoice::Reference), run(KernelChoice::Wgsl));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.token_ids, y.token_ids, "{sampling:?}");
            for (lx, ly) in x.logprobs.iter().flatten().zip(y.logprobs.iter().flatten()) {
                assert_eq!(lx.token_id, ly.token_id);
                assert!((lx.logprob - ly.logprob).abs() < 1e-4, "{} vs {}", lx.logprob, ly.logprob);
            }
        }
    }
}

#[derive(serde::Deserialize)]
struct SftStep {
    loss: f64,
    updated: std::collections::BTreeMap<String, Vec<f64>>,
}

#[derive(serde::Deserialize)]
struct SftReference {
    lr: f64,
    weight_decay: f64,
    steps: std::collections::BTreeMap<String, SftStep>,
}

/// One AdamW step of the PEFT fixture (tests/reference/make_sft_fixtures.py) on wgpu, with the
/// reference ops and with the WGSL kernels: both match transformers + PEFT + torch (loss ±1e-5
/// relative, adapters ±1e-4), and each other.
#[test]
fn training_step_agrees_between_kernel_choices_and_with_peft() {
    use cotlab_core::lora::peft::{load_peft, PeftConfig};
    let gpu = wgpu();
    let sft = fixtures().join("sft");
    let reference: SftReference = read_json(&sft.join("reference.json"));
    let tok = cotlab_core::chat::QwenTokenizer::from_bytes(&std::fs::read(tokenizer_path()).unwrap(), "tokenizer.json").unwrap();
    let records = parse_jsonl(&std::fs::read(sft.join("records.jsonl")).unwrap(), "records.jsonl", Paradigm::Qta).unwrap();
    let examples: Vec<Example> = records.iter().map(|r| tokenize_example(r, Paradigm::Qta.into(), &tok).unwrap()).collect();
    let want = &reference.steps["qta"];
    let mut adapters: Vec<Vec<Vec<f32>>> = Vec::new();
    for choice in [KernelChoice::Reference, KernelChoice::Wgsl] {
        let mut model = tiny(&gpu, choice);
        let cfg = PeftConfig::from_json(&std::fs::read(sft.join("adapter_config.json")).unwrap(), "adapter_config.json").unwrap();
        let bytes = checkpoint_files_from(&sft.join("adapter_weights.json")).remove("adapter_model.safetensors").unwrap();
        let shard = Shard { file: "adapter_model.safetensors".into(), bytes: &bytes };
        let device = model.device.clone();
        load_peft(&mut model.model, &cfg, "adapter_config.json", &shard, &device).unwrap();
        let batch: Vec<&Example> = examples.iter().collect();
        let opt = OptimConfig { weight_decay: reference.weight_decay, max_grad_norm: 0.0, ..Default::default() };
        let report = pollster::block_on(train_step(&mut model, &[batch], &opt, reference.lr, &mut AdamState::default(), 151643)).unwrap();
        let rel = (report.loss - want.loss).abs() / want.loss;
        assert!(rel <= 1e-5, "{choice:?}: loss {} vs PEFT {} (rel {rel:.1e})", report.loss, want.loss);
        let mut mine = Vec::new();
        for (path, lora) in model.model.adapters() {
            for (ab, t) in [("A", lora.a.val()), ("B", lora.b.val())] {
                let ours = host(t);
                let theirs = &want.updated[&format!("base_model.model.{path}.lora_{ab}.weight")];
                for (a, b) in ours.iter().zip(theirs) {
                    assert!((*a as f64 - b).abs() <= 1e-4, "{choice:?} {path} {ab}: {a} vs {b}");
                }
                mine.push(ours);
            }
        }
        adapters.push(mine);
    }
    for (a, b) in adapters[0].iter().zip(&adapters[1]) {
        assert_close("adapter after one step, reference vs wgsl", b, a);
    }
}
