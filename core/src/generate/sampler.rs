//! Choosing the next token from a row of logits: greedy, or sampling with temperature, top-k,
//! top-p and min-p applied in transformers' order. Runs on the host; the on-device version is a
//! WGSL kernel (issue: kernels).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::chat::Mode;
use crate::error::{CoreError, Result};

/// How to pick tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Sampling {
    Greedy,
    Sample {
        temperature: f32,
        /// 0 disables.
        top_k: usize,
        /// 1.0 disables.
        top_p: f32,
        /// 0.0 disables.
        min_p: f32,
    },
}

impl Sampling {
    /// Qwen's recommended settings for `mode` with the user's overrides applied: what the CLI's
    /// sampling flags and the browser's generate request both mean.
    pub fn for_mode(mode: Mode, overrides: &SamplingOverrides) -> Self {
        if overrides.greedy {
            return Sampling::Greedy;
        }
        match Sampling::recommended(mode) {
            Sampling::Sample { temperature, top_k, top_p, min_p } => Sampling::Sample {
                temperature: overrides.temperature.unwrap_or(temperature),
                top_k: overrides.top_k.unwrap_or(top_k),
                top_p: overrides.top_p.unwrap_or(top_p),
                min_p: overrides.min_p.unwrap_or(min_p),
            },
            Sampling::Greedy => Sampling::Greedy,
        }
    }

    /// Qwen's recommended settings: think 0.6 / 0.95 / 20, no-think 0.7 / 0.8 / 20, min-p 0.
    pub fn recommended(mode: Mode) -> Self {
        match mode {
            Mode::Think => Sampling::Sample { temperature: 0.6, top_k: 20, top_p: 0.95, min_p: 0.0 },
            Mode::NoThink => Sampling::Sample { temperature: 0.7, top_k: 20, top_p: 0.8, min_p: 0.0 },
        }
    }

    pub fn validate(&self) -> Result<()> {
        if let Sampling::Sample { temperature, top_p, min_p, .. } = *self {
            if !(temperature > 0.0 && temperature.is_finite()) {
                return Err(CoreError::Generation(format!("temperature must be > 0 (got {temperature}); use greedy decoding for temperature 0")));
            }
            if !(top_p > 0.0 && top_p <= 1.0) {
                return Err(CoreError::Generation(format!("top-p must be in (0, 1] (got {top_p})")));
            }
            if !(0.0..=1.0).contains(&min_p) {
                return Err(CoreError::Generation(format!("min-p must be in [0, 1] (got {min_p})")));
            }
        }
        Ok(())
    }
}

/// A token and its log-probability under the model's (untempered) distribution.
/// What a user changed from Qwen's recommended sampling; `None` keeps the recommended value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SamplingOverrides {
    /// Greedy decoding (the other fields are then ignored).
    pub greedy: bool,
    pub temperature: Option<f32>,
    pub top_k: Option<usize>,
    pub top_p: Option<f32>,
    pub min_p: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TokenLogprob {
    pub token_id: u32,
    pub logprob: f32,
}

/// Index of the largest logit (lowest index on ties, as `torch.argmax`).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// log-sum-exp in f64 for stable log-probabilities.
pub fn log_sum_exp(logits: &[f32]) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&v| (v as f64 - max).exp()).sum();
    max + sum.ln()
}

/// The `k` most likely tokens with log-probabilities, most likely first.
pub fn top_logprobs(logits: &[f32], k: usize) -> Vec<TokenLogprob> {
    if k == 0 {
        return Vec::new();
    }
    let lse = log_sum_exp(logits);
    let mut idx: Vec<u32> = (0..logits.len() as u32).collect();
    let k = k.min(idx.len());
    let cmp = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]).then(a.cmp(b));
    idx.select_nth_unstable_by(k - 1, cmp);
    idx.truncate(k);
    idx.sort_by(cmp);
    idx.into_iter()
        .map(|i| TokenLogprob { token_id: i, logprob: (logits[i as usize] as f64 - lse) as f32 })
        .collect()
}

/// Pick the next token from `logits` (one row, vocabulary-long).
pub fn sample(logits: &[f32], sampling: &Sampling, rng: &mut ChaCha8Rng) -> u32 {
    let (temperature, top_k, top_p, min_p) = match *sampling {
        Sampling::Greedy => return argmax(logits),
        Sampling::Sample { temperature, top_k, top_p, min_p } => (temperature, top_k, top_p, min_p),
    };
    // 1. Temperature, then the candidates sorted by logit (descending; ties by id).
    let scaled: Vec<f32> = logits.iter().map(|&v| v / temperature).collect();
    let mut idx: Vec<u32> = (0..scaled.len() as u32).collect();
    let cmp = |a: &u32, b: &u32| scaled[*b as usize].total_cmp(&scaled[*a as usize]).then(a.cmp(b));
    // 2. Top-k: keep every token whose logit is >= the k-th largest (transformers keeps ties).
    if top_k > 0 && top_k < idx.len() {
        idx.select_nth_unstable_by(top_k - 1, cmp);
        let kth = scaled[idx[top_k - 1] as usize];
        idx.retain(|&i| scaled[i as usize] >= kth);
    }
    idx.sort_by(cmp);
    // Probabilities over the survivors.
    let max = scaled[idx[0] as usize] as f64;
    let mut probs: Vec<f64> = idx.iter().map(|&i| (scaled[i as usize] as f64 - max).exp()).collect();
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    // 3. Top-p: keep the smallest prefix whose mass reaches top_p (at least one token).
    if top_p < 1.0 {
        let mut acc = 0.0;
        let mut keep = probs.len();
        for (n, p) in probs.iter().enumerate() {
            acc += p;
            if acc >= top_p as f64 {
                keep = n + 1;
                break;
            }
        }
        idx.truncate(keep);
        probs.truncate(keep);
    }
    // 4. Min-p: drop tokens less likely than min_p × the most likely one.
    if min_p > 0.0 {
        let floor = probs[0] * min_p as f64;
        let keep = probs.iter().take_while(|&&p| p >= floor).count().max(1);
        idx.truncate(keep);
        probs.truncate(keep);
    }
    // 5. Draw.
    let total: f64 = probs.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, p) in idx.iter().zip(&probs) {
        if u < *p {
            return *i;
        }
        u -= p;
    }
    *idx.last().expect("at least one candidate")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn overrides_replace_only_what_they_name() {
        let o = SamplingOverrides { top_k: Some(5), min_p: Some(0.1), ..Default::default() };
        assert_eq!(Sampling::for_mode(Mode::Think, &o), Sampling::Sample { temperature: 0.6, top_k: 5, top_p: 0.95, min_p: 0.1 });
        assert_eq!(Sampling::for_mode(Mode::NoThink, &SamplingOverrides::default()), Sampling::recommended(Mode::NoThink));
        let greedy = SamplingOverrides { greedy: true, temperature: Some(2.0), ..Default::default() };
        assert_eq!(Sampling::for_mode(Mode::NoThink, &greedy), Sampling::Greedy);
    }

    #[test]
    fn greedy_picks_first_maximum() {
        assert_eq!(argmax(&[0.0, 3.0, 3.0, 1.0]), 1);
    }

    #[test]
    fn top_k_one_is_greedy() {
        let logits = [0.5, 2.0, 1.9, -1.0];
        let s = Sampling::Sample { temperature: 1.0, top_k: 1, top_p: 1.0, min_p: 0.0 };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..20 {
            assert_eq!(sample(&logits, &s, &mut rng), 1);
        }
    }

    #[test]
    fn top_p_and_min_p_cut_the_tail() {
        // probs ≈ [0.665, 0.245, 0.090]: top-p 0.6 keeps only token 0; min-p 0.2 drops token 2.
        let logits = [2.0f32, 1.0, 0.0];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let p = Sampling::Sample { temperature: 1.0, top_k: 0, top_p: 0.6, min_p: 0.0 };
        assert!((0..50).all(|_| sample(&logits, &p, &mut rng) == 0));
        let m = Sampling::Sample { temperature: 1.0, top_k: 0, top_p: 1.0, min_p: 0.2 };
        let seen: std::collections::BTreeSet<u32> = (0..400).map(|_| sample(&logits, &m, &mut rng)).collect();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn same_seed_same_draws() {
        let logits: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin()).collect();
        let s = Sampling::recommended(Mode::Think);
        let a: Vec<u32> = { let mut r = ChaCha8Rng::seed_from_u64(3); (0..10).map(|_| sample(&logits, &s, &mut r)).collect() };
        let b: Vec<u32> = { let mut r = ChaCha8Rng::seed_from_u64(3); (0..10).map(|_| sample(&logits, &s, &mut r)).collect() };
        assert_eq!(a, b);
    }

    #[test]
    fn logprobs_are_normalised() {
        let lp = top_logprobs(&[0.0, 0.0], 2);
        assert!((lp[0].logprob - (0.5f32).ln()).abs() < 1e-6);
        assert_eq!(lp[0].token_id, 0);
    }
}
