//! On-device sampling for decode: `shaders/sample.wgsl` picks each row's token (and, on request,
//! the top log-probabilities) on the GPU, so a decode step reads back `1 + 2·k` words per row
//! instead of the whole vocabulary.

use burn::tensor::{DType, FloatDType, Int, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::launch::{empty, f32_word, from_cube_int, launch, params, to_cube, Shader};
use crate::error::Result;
use crate::generate::sampler::{sample, Sampling, TokenLogprob};
use crate::readback;

const SOURCE: &str = include_str!("../../../../shaders/sample.wgsl");

/// The most candidates (top-k, log-probabilities) the shader keeps per row (`MAX_K` there).
pub const MAX_CANDIDATES: usize = 64;

/// Words per row of [`sample_rows`]' output.
pub const ROW_WORDS: usize = 1 + 2 * MAX_CANDIDATES;

/// Whether the shader implements `sampling` with `logprobs` top log-probabilities exactly like
/// the host: greedy, or sampling with 1 ≤ top-k ≤ 64; at most 64 log-probabilities.
pub fn supports(sampling: &Sampling, logprobs: usize) -> bool {
    let k_ok = match *sampling {
        Sampling::Greedy => true,
        Sampling::Sample { top_k, .. } => (1..=MAX_CANDIDATES).contains(&top_k),
    };
    k_ok && logprobs <= MAX_CANDIDATES
}

/// Launch the choice for every row of `logits: [b, v]` with one uniform number per row
/// (`uniforms[i]` in [0, 1), ignored when greedy). Returns `[b, ROW_WORDS]` i32 on the device:
/// chosen id, then `logprobs` pairs (id, f32 bits of its log-probability), best first.
pub fn sample_rows(logits: Tensor<2>, sampling: &Sampling, logprobs: usize, uniforms: &[f32]) -> Tensor<2, Int> {
    let [b, v] = logits.dims();
    debug_assert!(supports(sampling, logprobs));
    debug_assert_eq!(uniforms.len(), b);
    let x = to_cube(logits.cast(FloatDType::F32));
    let (greedy, temperature, top_k, top_p, min_p) = match *sampling {
        Sampling::Greedy => (1, 1.0, 1, 1.0, 0.0),
        Sampling::Sample { temperature, top_k, top_p, min_p } => (0, temperature, top_k, top_p, min_p),
    };
    let k = top_k.max(1).max(logprobs).min(v);
    let mut words = vec![
        b as u32,
        v as u32,
        k as u32,
        greedy,
        f32_word(temperature),
        top_k as u32,
        f32_word(top_p),
        f32_word(min_p),
        logprobs as u32,
    ];
    words.resize(16, 0);
    words.extend(uniforms.iter().map(|&u| f32_word(u)));
    let p = params(&x, &words);
    let out = empty(&x, vec![b, ROW_WORDS], DType::I32);
    launch(&x, Shader::new("sample", SOURCE), b, vec![&x.handle, &p, &out.handle]);
    from_cube_int::<2>(out)
}

/// A token and the requested top log-probabilities for each live row of `logits: [b, v]`
/// (`None` for rows that are not live), chosen on the device. Each live row draws its uniform
/// number from `rngs[i]` exactly as the host sampler does, so a seed gives the same stream
/// either way. A row the shader leaves undecided (id −1: more tokens tie with the top-k-th
/// logit than it keeps) is chosen on the host from the read-back logits, with its generator
/// as it was before the draw — the result is the host sampler's in every case.
pub async fn choose(
    logits: Tensor<2>,
    sampling: &Sampling,
    logprobs: usize,
    rngs: &mut [ChaCha8Rng],
    live: &[bool],
) -> Result<Vec<Option<(u32, Vec<TokenLogprob>)>>> {
    let [b, v] = logits.dims();
    debug_assert!(rngs.len() == b && live.len() == b);
    let sampled = matches!(sampling, Sampling::Sample { .. });
    let before: Vec<ChaCha8Rng> = rngs.to_vec();
    let uniforms: Vec<f32> =
        rngs.iter_mut().zip(live).map(|(rng, &live)| if live && sampled { rng.random::<f64>() as f32 } else { 0.0 }).collect();
    let words = readback::ints(sample_rows(logits.clone(), sampling, logprobs, &uniforms)).await?;
    let row_words = |i: usize| &words[i * ROW_WORDS..(i + 1) * ROW_WORDS];
    let undecided = (0..b).any(|i| live[i] && row_words(i)[0] < 0);
    let host = if undecided { Some(readback::floats(logits).await?) } else { None };
    Ok((0..b)
        .map(|i| {
            live[i].then(|| {
                let w = row_words(i);
                let lp = (0..logprobs)
                    .map(|j| TokenLogprob { token_id: w[1 + 2 * j] as u32, logprob: f32::from_bits(w[2 + 2 * j] as u32) })
                    .collect();
                let id = match &host {
                    Some(all) if w[0] < 0 => {
                        rngs[i] = before[i].clone();
                        sample(&all[i * v..(i + 1) * v], sampling, &mut rngs[i])
                    }
                    _ => w[0] as u32,
                };
                (id, lp)
            })
        })
        .collect())
}
