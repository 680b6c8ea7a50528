//! Exact scores from a local judge. Qwen's tokenizer writes numbers digit by digit, so "57" is
//! two tokens and no single next-token distribution holds a score. Instead every candidate reply
//! (the integers 0–100, plus the rubric's labels such as REFUSAL) is scored by teacher forcing:
//! log p(candidate tokens, then `<|im_end|>` | judge prompt). The prompt is run once; its cache
//! is repeated over a batch of candidates, which are run together (right-padded) in chunks.
//! The score is Σ n·p(n) / Σ p(n) over the 101 integers; a label wins when its probability
//! exceeds that of all integers together.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::chat::{render, Message, QwenTokenizer, RenderOptions};
use crate::error::{CoreError, Result};
use crate::eval::judge::Verdict;
use crate::generate::sampler::log_sum_exp;
use crate::model::inputs::StepInput;
use crate::model::loaded::LoadedModel;
use crate::model::LogitsFor;
use crate::readback;

/// Rows of one candidate batch. Logits of a chunk are `rows × 3 × vocab` floats: 32 rows of
/// Qwen3's 151,936-token vocabulary are 58 MB, under WebGPU's default 128 MiB buffer.
pub const DEFAULT_CHUNK_ROWS: usize = 32;

/// log p(continuation | prefix) for each continuation (each at least one token).
pub async fn continuation_logprobs(model: &LoadedModel, prefix: &[u32], continuations: &[Vec<u32>], chunk_rows: usize) -> Result<Vec<f64>> {
    if prefix.is_empty() {
        return Err(CoreError::Generation("the judge prompt rendered to no tokens".into()));
    }
    if let Some(i) = continuations.iter().position(|c| c.is_empty()) {
        return Err(CoreError::Generation(format!("candidate {i} has no tokens")));
    }
    // 1. The shared prefix, once: its cache and the distribution of the first candidate token.
    let input = StepInput::sequence(prefix, &model.rope, &model.device);
    let mut cache = model.model.new_cache();
    let last = model.model.forward(&input, &mut cache, LogitsFor::Last); // [1, 1, v]
    let row: Vec<f32> = readback::floats(last).await?;
    let lse = log_sum_exp(&row);
    let mut out: Vec<f64> = continuations.iter().map(|c| row[c[0] as usize] as f64 - lse).collect();

    // 2. The remaining tokens of every candidate, a chunk of candidates per forward pass.
    let longest = continuations.iter().map(|c| c.len()).max().unwrap_or(1);
    let t = longest - 1; // inputs per row: all but the last token
    if t == 0 {
        return Ok(out);
    }
    let p = prefix.len();
    for (c, chunk) in continuations.chunks(chunk_rows.max(1)).enumerate() {
        let b = chunk.len();
        let mut ids = Vec::with_capacity(b);
        let mut positions = Vec::with_capacity(b);
        let mut key_valid = Vec::with_capacity(b);
        let mut targets = Vec::with_capacity(b * t);
        for cont in chunk {
            let real = cont.len() - 1;
            ids.push((0..t).map(|j| if j < real { cont[j] } else { cont[0] }).collect::<Vec<_>>());
            positions.push((0..t).map(|j| p + j).collect::<Vec<_>>());
            key_valid.push((0..p + t).map(|j| j < p + real).collect::<Vec<_>>());
            targets.extend((0..t).map(|j| if j < real { cont[j + 1] as i32 } else { 0 }));
        }
        let mut rows_cache = cache.repeat_batch(b);
        let input = StepInput::new(&ids, &positions, &key_valid, &model.rope, &model.device);
        let logits = model.model.forward(&input, &mut rows_cache, LogitsFor::All); // [b, t, v]
        let targets = Tensor::<3, Int>::from_data(TensorData::new(targets, [b, t, 1]), &model.device);
        let picked = log_softmax(logits, 2).gather(2, targets); // [b, t, 1]
        let lp: Vec<f32> = readback::floats(picked).await?;
        for (r, cont) in chunk.iter().enumerate() {
            let real = cont.len() - 1;
            out[c * chunk_rows.max(1) + r] += lp[r * t..r * t + real].iter().map(|x| *x as f64).sum::<f64>();
        }
    }
    Ok(out)
}

/// The judge prompt as a Qwen3 no-think chat turn awaiting the assistant's reply.
pub fn judge_prefix_text(prompt: &str) -> Result<String> {
    render(&[Message::user(prompt)], RenderOptions { add_generation_prompt: true, enable_thinking: Some(false) })
}

/// Token ids of the prefix and of each candidate continuation, tokenized together with the
/// prefix (so boundaries are exactly the tokenizer's) and checked to extend it.
pub fn tokenize_candidates(tok: &QwenTokenizer, prefix_text: &str, candidates: &[String], terminator: &str) -> Result<(Vec<u32>, Vec<Vec<u32>>)> {
    let prefix = tok.encode(prefix_text)?;
    let mut conts = Vec::with_capacity(candidates.len());
    for c in candidates {
        let full = tok.encode(&format!("{prefix_text}{c}{terminator}"))?;
        if full.len() <= prefix.len() || full[..prefix.len()] != prefix[..] {
            return Err(CoreError::Encode(format!("candidate {c:?} changes the tokenization of the prompt before it; the exact judge needs a prompt ending at a token boundary")));
        }
        conts.push(full[prefix.len()..].to_vec());
    }
    Ok((prefix, conts))
}

/// The candidates of a 0–100 rubric: "0" … "100", then its labels.
pub fn score_candidates(specials: &[String]) -> Vec<String> {
    (0..=100).map(|n| n.to_string()).chain(specials.iter().cloned()).collect()
}

/// What the exact judge read from the candidates' log-probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExactReading {
    pub verdict: Verdict,
    /// Expected score over the integers (also when a label won).
    pub expected: f64,
    /// Total probability on the 101 integers (each followed by the terminator).
    pub number_mass: f64,
    /// Probability of each label.
    pub labels: Vec<(String, f64)>,
    /// p(n) for n = 0 … 100, unnormalised.
    pub probs: Vec<f64>,
}

/// Read `logprobs` (aligned with [`score_candidates`]) into a verdict.
pub fn read_exact(specials: &[String], logprobs: &[f64]) -> ExactReading {
    // Probabilities relative to the largest candidate so tiny absolute masses do not underflow.
    let max = logprobs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let probs: Vec<f64> = logprobs[..101].iter().map(|lp| lp.exp()).collect();
    let rel: Vec<f64> = logprobs.iter().map(|lp| (lp - max).exp()).collect();
    let number_rel: f64 = rel[..101].iter().sum();
    let expected = rel[..101].iter().enumerate().map(|(n, p)| n as f64 * p).sum::<f64>() / number_rel;
    let labels: Vec<(String, f64)> = specials.iter().zip(&logprobs[101..]).map(|(s, lp)| (s.clone(), lp.exp())).collect();
    let best_label = specials.iter().zip(&rel[101..]).max_by(|a, b| a.1.total_cmp(b.1));
    let verdict = match best_label {
        Some((s, p)) if *p > number_rel => Verdict::Label(s.clone()),
        _ => Verdict::Score(expected),
    };
    ExactReading { verdict, expected, number_mass: probs.iter().sum(), labels, probs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_score_over_integers_and_label_rule() {
        // p(0)=0.1, p(50)=0.2, p(100)=0.1, everything else ~0; REFUSAL 0.3.
        let mut lp = vec![f64::NEG_INFINITY; 102];
        lp[0] = 0.1f64.ln();
        lp[50] = 0.2f64.ln();
        lp[100] = 0.1f64.ln();
        lp[101] = 0.3f64.ln();
        let r = read_exact(&["REFUSAL".into()], &lp);
        // (0·0.1 + 50·0.2 + 100·0.1) / 0.4 = 50; REFUSAL 0.3 < 0.4 → a score.
        assert!((r.expected - 50.0).abs() < 1e-9);
        assert_eq!(r.verdict, Verdict::Score(r.expected));
        assert!((r.number_mass - 0.4).abs() < 1e-12);
        lp[101] = 0.5f64.ln();
        assert_eq!(read_exact(&["REFUSAL".into()], &lp).verdict, Verdict::Label("REFUSAL".into()));
    }
}
