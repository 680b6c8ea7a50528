//! The local exact judge's arithmetic on a tiny random Qwen3 (tests/fixtures/models/tiny): the
//! batched teacher forcing with a shared prefix (cache repeated over candidate rows, chunked,
//! right-padded) gives the same log-probabilities as scoring each full sequence on its own, and
//! the candidates are the digit-by-digit tokenizations of 0–100 followed by `<|im_end|>`.

mod common;

use burn::tensor::activation::log_softmax;
use burn::tensor::FloatDType;
use common::*;
use cotlab_core::chat::QwenTokenizer;
use cotlab_core::device::{select_device, DeviceChoice};
use cotlab_core::eval::exact::{continuation_logprobs, judge_prefix_text, read_exact, score_candidates, tokenize_candidates};
use cotlab_core::eval::judge::Verdict;
use cotlab_core::model::weights::Shard;
use cotlab_core::model::LoadedModel;

fn tiny() -> (LoadedModel, QwenTokenizer) {
    let device = select_device(DeviceChoice::Cpu).unwrap();
    let config = std::fs::read(fixtures().join("models/tiny/config.json")).unwrap();
    let files = checkpoint_files("tiny");
    let shards: Vec<Shard> = files.iter().map(|(f, b)| Shard { file: f.clone(), bytes: b }).collect();
    let model = LoadedModel::from_bytes(&config, "config.json", &shards, &device.device, FloatDType::F32).unwrap();
    let tok = QwenTokenizer::from_bytes(&std::fs::read(tokenizer_path()).unwrap(), "tokenizer.json").unwrap();
    (model, tok)
}

/// log p(ids[p..] | ids[..p]) from one unbatched forward pass over the whole sequence.
fn reference_logprob(model: &LoadedModel, ids: &[u32], p: usize) -> f64 {
    let logits = model.logits(ids); // [1, t, v]
    let lp: Vec<f32> = log_softmax(logits, 2).into_data().try_to_vec::<f32>().unwrap();
    let v = model.config.vocab_size;
    (p..ids.len()).map(|j| lp[(j - 1) * v + ids[j] as usize] as f64).sum()
}

#[test]
fn numbers_are_digit_sequences_ending_in_im_end() {
    let (_, tok) = tiny();
    let prefix = judge_prefix_text("Rate this from 0 to 100.").unwrap();
    assert!(prefix.ends_with("<|im_start|>assistant\n<think>\n\n</think>\n\n"), "{prefix:?}");
    let cands = score_candidates(&["REFUSAL".into()]);
    assert_eq!(cands.len(), 102);
    let (_, conts) = tokenize_candidates(&tok, &prefix, &cands, "<|im_end|>").unwrap();
    let digit = |d: &str| tok.encode(d).unwrap()[0];
    assert_eq!(conts[7], vec![digit("7"), tok.im_end]);
    assert_eq!(conts[57], vec![digit("5"), digit("7"), tok.im_end]);
    assert_eq!(conts[100], vec![digit("1"), digit("0"), digit("0"), tok.im_end]);
    assert_eq!(*conts[101].last().unwrap(), tok.im_end);
}

#[test]
fn batched_shared_prefix_scoring_equals_scoring_each_sequence_alone() {
    let (model, tok) = tiny();
    let prefix_text = judge_prefix_text("How coherent is this answer? Answer: the sky is blue.").unwrap();
    let specials = vec!["REFUSAL".to_string(), "CODE".to_string()];
    let cands = score_candidates(&specials);
    let (prefix, conts) = tokenize_candidates(&tok, &prefix_text, &cands, "<|im_end|>").unwrap();
    // Chunks of 7 rows: uneven chunks, rows of 2, 3, 4 and more tokens mixed in one chunk.
    let batched = pollster::block_on(continuation_logprobs(&model, &prefix, &conts, 7)).unwrap();
    let one_chunk = pollster::block_on(continuation_logprobs(&model, &prefix, &conts, 128)).unwrap();
    for i in [0usize, 5, 9, 10, 57, 99, 100, 101, 102] {
        let full: Vec<u32> = prefix.iter().chain(&conts[i]).copied().collect();
        let reference = reference_logprob(&model, &full, prefix.len());
        assert!((batched[i] - reference).abs() < 1e-4, "candidate {}: batched {} vs alone {reference}", cands[i], batched[i]);
        assert!((batched[i] - one_chunk[i]).abs() < 1e-5);
    }
    // The reading normalises over the 101 integers: recompute it by hand from the log-probs.
    let r = read_exact(&specials, &batched);
    let p: Vec<f64> = batched[..101].iter().map(|x| x.exp()).collect();
    let expected = p.iter().enumerate().map(|(n, p)| n as f64 * p).sum::<f64>() / p.iter().sum::<f64>();
    assert!((r.expected - expected).abs() < 1e-9 * expected.max(1.0));
    assert!((r.number_mass - p.iter().sum::<f64>()).abs() < 1e-15);
    let labels_beat_numbers = batched[101].exp().max(batched[102].exp()) > p.iter().sum::<f64>();
    match r.verdict {
        Verdict::Score(s) => assert!(!labels_beat_numbers && (s - expected).abs() < 1e-9),
        Verdict::Label(_) => assert!(labels_beat_numbers),
    }
}
