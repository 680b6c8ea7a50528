//! `cotlab bench kernels`: one hot-path operation at the shapes of a Qwen3 preset (0.6B: hidden
//! 1024, 16 heads of 128, vocabulary 151,936) and --seq tokens, forward and backward, with the
//! reference ops or the WGSL kernels (--kernels). Run one operation per process so the peak
//! memory figures belong to it. Figures go to BENCHMARKS.md with the command.

use std::time::Instant;

use anyhow::{bail, Result};
use burn::module::Param;
use burn::tensor::{Bool, Distribution, Tensor, TensorData};
use clap::ValueEnum;
use cotlab_core::generate::sampler::sample;
use cotlab_core::generate::Sampling;
use cotlab_core::kernels::{wgsl, Kernels};
use cotlab_core::model::rope::Rope;
use cotlab_core::model::vocab::VocabMatrix;
use cotlab_core::model::Qwen3Config;
use rand::SeedableRng;

use super::bench::{peak_rss, Args};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Op {
    /// RMSNorm of `[seq, hidden]`, forward + backward.
    RmsNorm,
    /// q_norm + rotary embedding of `[1, heads, seq, head_dim]`, forward + backward.
    Rope,
    /// Causal grouped-query attention of `[1, heads, seq, head_dim]` queries over
    /// `[1, kv_heads, seq, head_dim]` keys and values, forward + backward (`wgsl`: the backward
    /// recomputes the probabilities).
    Attention,
    /// lm_head projection + cross-entropy over `seq` supervised tokens, loss + ∂/∂hidden.
    CrossEntropy,
    /// Choosing `--batch` tokens from `[batch, vocab]` logits (Qwen's think-mode sampling),
    /// including the read-back.
    Sample,
}

fn uniform<const D: usize>(shape: [usize; D], a: f64, device: &burn::tensor::Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Uniform(-a, a), device)
}

/// Read one value back: waits for everything queued before it.
fn sync(t: Tensor<1>) -> f32 {
    t.without_autodiff().into_data().convert::<f32>().try_to_vec::<f32>().expect("f32")[0]
}

pub fn run(a: &Args) -> Result<()> {
    let Some(cfg) = Qwen3Config::preset(&a.preset) else {
        bail!("unknown preset {:?}; use one of {:?}", a.preset, Qwen3Config::PRESETS);
    };
    let device = super::device(a.device)?;
    let kernels = a.kernels.resolve(&device.device)?;
    eprintln!("kernels: {kernels:?}");
    let dev = device.device.clone();
    dev.seed(0);
    let (e, heads, d, v, n) = (cfg.hidden_size, cfg.num_attention_heads, cfg.head_dim, cfg.vocab_size, a.seq);
    let eps = cfg.rms_norm_eps;

    // The operation, as a closure returning a scalar read back (so it is synchronised).
    let mut op: Box<dyn FnMut() -> f32> = match a.op {
        Op::RmsNorm => {
            let x = uniform([n, e], 1.0, &dev);
            let w = uniform([e], 1.0, &dev) + 1.0;
            let up = uniform([n, e], 1.0, &dev);
            Box::new(move || {
                let xl = x.clone().autodiff().require_grad();
                let y = kernels.rms_norm(xl.clone(), w.clone(), eps);
                let g = (y * up.clone().autodiff()).sum().backward();
                sync(xl.grad(&g).expect("grad").sum())
            })
        }
        Op::Rope => {
            let x = uniform([1, n, heads, d], 1.0, &dev);
            let w = uniform([d], 1.0, &dev) + 1.0;
            let up = uniform([1, heads, n, d], 1.0, &dev);
            let (cos, sin) = Rope::new(d, cfg.rope_base()).tables(&[(0..n).collect()], &dev);
            Box::new(move || {
                let xl = x.clone().autodiff().require_grad();
                let y = kernels.rotary(kernels.rms_norm(xl.clone(), w.clone(), eps).swap_dims(1, 2), &cos, &sin);
                let g = (y * up.clone().autodiff()).sum().backward();
                sync(xl.grad(&g).expect("grad").sum())
            })
        }
        Op::Attention => {
            let g = cfg.num_key_value_heads;
            let q = uniform([1, heads, n, d], 1.0, &dev);
            let k = uniform([1, g, n, d], 1.0, &dev);
            let v = uniform([1, g, n, d], 1.0, &dev);
            let up = uniform([1, heads, n, d], 1.0, &dev);
            let blocked: Vec<bool> = (0..n).flat_map(|i| (0..n).map(move |j| j > i)).collect();
            let mask = Tensor::<4, Bool>::from_data(TensorData::new(blocked, [1, 1, n, n]), &dev).autodiff();
            let scale = 1.0 / (d as f64).sqrt();
            Box::new(move || {
                let (ql, kl, vl) = (q.clone().autodiff().require_grad(), k.clone().autodiff().require_grad(), v.clone().autodiff().require_grad());
                let y = kernels.attention(ql.clone(), kl.clone(), vl.clone(), Some(&mask), scale);
                let g = (y * up.clone().autodiff()).sum().backward();
                sync(ql.grad(&g).expect("grad").sum() + kl.grad(&g).expect("grad").sum() + vl.grad(&g).expect("grad").sum())
            })
        }
        Op::CrossEntropy => {
            let rows = VocabMatrix::rows_per_chunk(v, e, 4, device.max_buffer_bytes);
            let a_w = 1.0 / (e as f64).sqrt();
            let head = VocabMatrix {
                chunks: (0..v).step_by(rows).map(|s| Param::from_tensor(uniform([rows.min(v - s), e], a_w, &dev))).collect(),
            };
            let x = uniform([n, e], 1.0, &dev);
            let labels: Vec<i32> = (0..n).map(|i| ((i * 7919) % v) as i32).collect();
            let max_buffer = device.max_buffer_bytes;
            Box::new(move || {
                let xl = x.clone().autodiff().require_grad();
                let loss = kernels.cross_entropy_sum(xl.clone(), &head, labels.clone(), max_buffer);
                let g = loss.backward();
                sync(xl.grad(&g).expect("grad").sum())
            })
        }
        Op::Sample => {
            let b = a.batch;
            let logits = uniform([b, v], 8.0, &dev);
            let sampling = Sampling::Sample { temperature: 0.6, top_k: 20, top_p: 0.95, min_p: 0.0 };
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
            Box::new(move || match kernels {
                Kernels::Reference => {
                    let flat: Vec<f32> = logits.clone().into_data().convert::<f32>().try_to_vec::<f32>().expect("f32");
                    (0..b).map(|i| sample(&flat[i * v..(i + 1) * v], &sampling, &mut rng)).sum::<u32>() as f32
                }
                Kernels::Wgsl => {
                    use rand::Rng;
                    let u: Vec<f32> = (0..b).map(|_| rng.random::<f64>() as f32).collect();
                    let out = wgsl::sample_rows(logits.clone(), &sampling, 0, &u);
                    let ids: Vec<i32> = out.into_data().convert::<i32>().try_to_vec::<i32>().expect("i32");
                    (0..b).map(|i| ids[i * wgsl::sample::ROW_WORDS] as u32).sum::<u32>() as f32
                }
            })
        }
    };

    dev.memory_cleanup();
    let mut best = f64::INFINITY;
    for run in 0..a.warmup + a.steps {
        let t0 = Instant::now();
        let check = op();
        let dt = t0.elapsed().as_secs_f64();
        eprintln!("run {run}: {:.4}s (check value {check})", dt);
        if run >= a.warmup {
            best = best.min(dt);
        }
    }
    let pool = dev.memory_pool_usage();
    let result = serde_json::json!({
        "bench": "kernels",
        "op": format!("{:?}", a.op),
        "preset": a.preset,
        "device": device.description,
        "kernels": format!("{kernels:?}"),
        "seq": n,
        "batch": a.batch,
        "best_s": best,
        "device_pool_reserved_bytes": pool.as_ref().map(|p| p.bytes_reserved),
        "device_pool_in_use_bytes": pool.as_ref().map(|p| p.bytes_in_use),
        "peak_rss_bytes": peak_rss(),
        "cotlab": cotlab_core::VERSION,
    });
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}
