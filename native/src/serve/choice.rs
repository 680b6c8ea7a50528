//! One choice's reply as its tokens arrive: the decoded text, stop strings, the split into
//! reasoning (`reasoning_content`) and answer (`content`), log-probabilities, and, for streaming,
//! the part not yet sent.
//!
//! The split is `cotlab_core::chat::split_thinking`, the one `cotlab generate --json` uses, applied
//! to the whole text at the end (non-streaming) or to the stable text so far (streaming).
//! Streaming holds back what a later token could still change — an incomplete UTF-8 character
//! (decoded as U+FFFD), a tail that may begin a stop string, a reply that is so far only newlines
//! or a prefix of `<think>`, trailing newlines of open reasoning (which `</think>` trims) — so the
//! concatenated deltas equal the non-streaming fields. One case cannot be streamed that way: a
//! reply that closes a think block it never opened; from the moment that shows, the rest streams
//! as `content`.

use cotlab_core::chat::{split_thinking, QwenTokenizer};
use cotlab_core::generate::{FinishReason, TokenEvent, TokenLogprob as CoreLogprob};

use crate::openai::{TokenLogprob, TopLogprob};

/// What a choice has produced so far.
pub struct ChoiceText {
    stops: Vec<String>,
    /// Alternatives per token the client asked for; `None`: no log-probabilities.
    top_logprobs: Option<usize>,
    ids: Vec<u32>,
    logprobs: Vec<TokenLogprob>,
    /// Decoded text of `ids`, cut before the first stop string.
    visible: String,
    finish: Option<&'static str>,
    // What streaming has sent.
    sent_reasoning: String,
    sent_content: String,
    sent_logprobs: usize,
    /// Bytes of `visible` that the sent pieces cover.
    sent_visible: usize,
    /// Set when the reply broke the think/answer split: from this byte of `visible` on,
    /// everything streams as content.
    raw_from: Option<usize>,
}

/// The newly available part of a choice: one streamed chunk.
#[derive(Debug, Default, PartialEq)]
pub struct Piece {
    pub reasoning: String,
    pub content: String,
    pub logprobs: Vec<TokenLogprob>,
    pub finish: Option<&'static str>,
}

impl Piece {
    pub fn is_empty(&self) -> bool {
        self.reasoning.is_empty() && self.content.is_empty() && self.logprobs.is_empty() && self.finish.is_none()
    }
}

/// A choice's whole reply.
pub struct Finished {
    pub reasoning: Option<String>,
    pub content: String,
    pub logprobs: Vec<TokenLogprob>,
    pub finish: &'static str,
}

impl ChoiceText {
    pub fn new(stops: Vec<String>, top_logprobs: Option<usize>) -> Self {
        Self {
            stops,
            top_logprobs,
            ids: Vec::new(),
            logprobs: Vec::new(),
            visible: String::new(),
            finish: None,
            sent_reasoning: String::new(),
            sent_content: String::new(),
            sent_logprobs: 0,
            sent_visible: 0,
            raw_from: None,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.finish.is_some()
    }

    /// Generated tokens so far (the stop token excluded).
    pub fn completion_tokens(&self) -> usize {
        self.ids.len()
    }

    /// Take this choice's token of one decoding step.
    pub fn push(&mut self, event: &TokenEvent, tok: &QwenTokenizer) {
        if self.finish.is_some() {
            return; // ended by a stop string while the batch runs on for other choices
        }
        // A stop token ends the row and is not part of the reply (as in `cotlab generate`).
        if event.finish != Some(FinishReason::Stop) {
            self.ids.push(event.token_id);
            if let Some(k) = self.top_logprobs {
                self.logprobs.push(token_logprob(event.token_id, &event.top_logprobs, k, tok));
            }
            // The whole text each time: decoding a prefix equals decoding it alone except for an
            // incomplete character at the end, which `stable_len` holds back.
            let full = tok.decode(&self.ids).unwrap_or_default();
            if let Some(at) = self.stops.iter().filter_map(|s| full.find(s.as_str())).min() {
                self.visible = full[..at].to_string();
                self.finish = Some("stop");
                return;
            }
            self.visible = full;
        }
        self.finish = event.finish.map(|f| match f {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
        });
    }

    /// The part that can be streamed now and was not streamed before.
    pub fn take_piece(&mut self) -> Piece {
        let finished = self.finish.is_some();
        let safe = if finished { self.visible.len() } else { stable_len(&self.visible, &self.stops) };
        let safe = safe.max(self.sent_visible);
        let text = &self.visible[..safe];
        let mut piece = Piece::default();
        if self.raw_from.is_none() {
            let (reasoning, content) = split_thinking(text);
            // Open reasoning may end in newlines that `</think>` will trim: hold them.
            let reasoning =
                if finished || text.contains("</think>") { reasoning.as_str() } else { reasoning.trim_end_matches('\n') };
            if reasoning.starts_with(self.sent_reasoning.as_str()) && content.starts_with(self.sent_content.as_str()) {
                piece.reasoning = reasoning[self.sent_reasoning.len()..].to_string();
                piece.content = content[self.sent_content.len()..].to_string();
                self.sent_reasoning = reasoning.to_string();
                self.sent_content = content;
            } else {
                self.raw_from = Some(self.sent_visible);
            }
        }
        if self.raw_from.is_some() {
            piece.content.push_str(&text[self.sent_visible..]);
        }
        self.sent_visible = safe;
        piece.logprobs = self.logprobs[self.sent_logprobs..].to_vec();
        self.sent_logprobs = self.logprobs.len();
        piece.finish = self.finish;
        piece
    }

    /// The whole reply so far, split as `cotlab generate` splits it.
    pub fn finished(&self) -> Finished {
        let (reasoning, content) = split_thinking(&self.visible);
        Finished {
            reasoning: (!reasoning.is_empty()).then_some(reasoning),
            content,
            logprobs: self.logprobs.clone(),
            finish: self.finish.unwrap_or("length"),
        }
    }
}

/// How many bytes of an unfinished choice's text no later token can change.
fn stable_len(visible: &str, stops: &[String]) -> usize {
    let mut end = visible.trim_end_matches('\u{FFFD}').len();
    end -= stop_prefix_len(&visible[..end], stops);
    if "<think>".starts_with(visible[..end].trim_start_matches('\n')) {
        return 0; // nothing yet, or a think block about to open
    }
    end
}

/// Bytes at the end of `text` that could be the beginning of one of `stops`.
fn stop_prefix_len(text: &str, stops: &[String]) -> usize {
    let mut hold = 0;
    for stop in stops {
        for (i, _) in stop.char_indices().skip(1) {
            if i > hold && text.ends_with(&stop[..i]) {
                hold = i;
            }
        }
    }
    hold
}

/// One token's entry of OpenAI's `logprobs.content`: its text, log-probability, UTF-8 bytes and
/// the top `k` alternatives. `top` comes from the core, most likely first, and holds the token
/// itself (see `request::core_logprobs`); a token tied with the last listed alternative has that
/// alternative's log-probability.
fn token_logprob(id: u32, top: &[CoreLogprob], k: usize, tok: &QwenTokenizer) -> TokenLogprob {
    let entry = |id: u32, logprob: f32| {
        let token = tok.token_text(id);
        TopLogprob { bytes: Some(token.as_bytes().to_vec()), token, logprob: logprob as f64 }
    };
    let logprob = top.iter().find(|t| t.token_id == id).or(top.last()).map(|t| t.logprob).unwrap_or(f32::NAN);
    let me = entry(id, logprob);
    TokenLogprob {
        token: me.token,
        logprob: me.logprob,
        bytes: me.bytes,
        top_logprobs: top.iter().take(k).map(|t| entry(t.token_id, t.logprob)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_that_may_start_a_stop_string_is_held() {
        let stops = vec!["END".to_string(), "xy".to_string()];
        assert_eq!(stop_prefix_len("abc E", &stops), 1);
        assert_eq!(stop_prefix_len("abc EN", &stops), 2);
        assert_eq!(stop_prefix_len("abc x", &stops), 1);
        assert_eq!(stop_prefix_len("abc", &stops), 0);
        assert_eq!(stable_len("Hello EN", &stops), 6);
    }

    #[test]
    fn an_incomplete_character_or_a_think_block_about_to_open_is_held() {
        assert_eq!(stable_len("ab\u{FFFD}", &[]), 2);
        assert_eq!(stable_len("", &[]), 0);
        assert_eq!(stable_len("\n", &[]), 0);
        assert_eq!(stable_len("<think>", &[]), 0);
        assert_eq!(stable_len("<think>\nx", &[]), 9);
        assert_eq!(stable_len("Hi", &[]), 2);
    }

    fn tokenizer() -> QwenTokenizer {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/tokenizer/tokenizer.json");
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}; run `bash tests/setup.sh` once"));
        QwenTokenizer::from_bytes(&bytes, path).unwrap()
    }

    /// Feed `text`'s tokens one by one (then `last`, if any, as a stop token) and return the
    /// concatenated streamed reasoning and content, and the whole reply.
    fn stream(tok: &QwenTokenizer, text: &str, stops: &[&str], last: Option<u32>) -> (String, String, Finished) {
        let mut ids: Vec<u32> = tok.encode(text).unwrap();
        let n = ids.len();
        ids.extend(last);
        let mut choice = ChoiceText::new(stops.iter().map(|s| s.to_string()).collect(), Some(1));
        let (mut reasoning, mut content) = (String::new(), String::new());
        for (i, &id) in ids.iter().enumerate() {
            let finish = match (i + 1 == ids.len(), last.is_some()) {
                (true, true) => Some(FinishReason::Stop),
                (true, false) => Some(FinishReason::Length),
                _ => None,
            };
            let top = vec![CoreLogprob { token_id: id, logprob: -0.5 }];
            choice.push(&TokenEvent { row: 0, token_id: id, top_logprobs: top, finish }, tok);
            let piece = choice.take_piece();
            assert!(!piece.reasoning.contains('\u{FFFD}') && !piece.content.contains('\u{FFFD}'), "{piece:?}");
            reasoning += &piece.reasoning;
            content += &piece.content;
            if choice.is_finished() {
                break;
            }
        }
        assert!(choice.completion_tokens() <= n);
        (reasoning, content, choice.finished())
    }

    #[test]
    fn streamed_pieces_add_up_to_the_whole_reply() {
        let tok = tokenizer();
        // Thinking with multi-byte characters split across byte tokens, then the answer.
        let text = "<think>\nLet me think: é, 日本, 🙂.\n\n</think>\n\nThe capital is Paris.\n";
        let (r, c, whole) = stream(&tok, text, &[], Some(tok.im_end));
        assert_eq!(whole.reasoning.as_deref(), Some("Let me think: é, 日本, 🙂."));
        assert_eq!(whole.content, "The capital is Paris.\n");
        assert_eq!(whole.finish, "stop");
        assert_eq!((r.as_str(), c.as_str()), ("Let me think: é, 日本, 🙂.", "The capital is Paris.\n"));
        assert_eq!(whole.logprobs.len(), tok.encode(text).unwrap().len(), "the stop token has no entry");

        // No think block (no-think mode): all content.
        let (r, c, whole) = stream(&tok, "\nParis.\n\nIt is in France.", &[], None);
        assert_eq!((r.as_str(), c.as_str()), ("", "\nParis.\n\nIt is in France."));
        assert_eq!((whole.reasoning, whole.content.as_str(), whole.finish), (None, c.as_str(), "length"));

        // A stop string ends the reply before it, streamed or not, also inside the reasoning.
        let (r, c, whole) = stream(&tok, "Paris.\n\nIt is in France, in Europe.", &["France", "xyz"], None);
        assert_eq!((r.as_str(), c.as_str()), ("", "Paris.\n\nIt is in "));
        assert_eq!((whole.content.as_str(), whole.finish), ("Paris.\n\nIt is in ", "stop"));
        let (r, c, whole) = stream(&tok, "<think>\nhmm, STOP here\n</think>\n\nNo.", &["STOP"], None);
        assert_eq!((r.as_str(), c.as_str()), ("hmm, ", ""));
        assert_eq!((whole.reasoning.as_deref(), whole.content.as_str()), (Some("hmm, "), ""));
    }

    #[test]
    fn a_think_block_closed_but_never_opened_streams_as_content() {
        // The documented limit: the split of the whole reply differs from the streamed one.
        let tok = tokenizer();
        let (r, c, whole) = stream(&tok, "abc</think>def", &[], None);
        assert_eq!((r.as_str(), c.as_str()), ("", "abc</think>def"));
        assert_eq!((whole.reasoning.as_deref(), whole.content.as_str()), (Some("abc"), "def"));
    }
}
