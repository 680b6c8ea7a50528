//! The Qwen3 tokenizer (`tokenizer.json` through the `tokenizers` crate) and its special ids.

use tokenizers::Tokenizer;

use crate::error::{CoreError, Result};

/// A Qwen3 tokenizer with the ids the chat format relies on.
pub struct QwenTokenizer {
    inner: Tokenizer,
    file: String,
    /// `<|im_start|>` (151644 in Qwen3).
    pub im_start: u32,
    /// `<|im_end|>`, end of a turn: EOS for chat (151645).
    pub im_end: u32,
    /// `<|endoftext|>`: EOS and padding (151643).
    pub endoftext: u32,
    /// `<think>` / `</think>` (151667 / 151668), ordinary tokens kept when decoding.
    pub think: u32,
    pub think_end: u32,
}

impl QwenTokenizer {
    /// Load from `tokenizer.json` bytes; `file` names the source in errors.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<Self> {
        let inner = Tokenizer::from_bytes(bytes)
            .map_err(|e| CoreError::Tokenizer { file: file.into(), reason: e.to_string() })?;
        let id = |tok: &str| {
            inner.token_to_id(tok).ok_or_else(|| CoreError::MissingSpecialToken { file: file.into(), token: tok.into() })
        };
        Ok(Self {
            im_start: id("<|im_start|>")?,
            im_end: id("<|im_end|>")?,
            endoftext: id("<|endoftext|>")?,
            think: id("<think>")?,
            think_end: id("</think>")?,
            file: file.into(),
            inner,
        })
    }

    /// Number of tokens including added ones.
    pub fn vocab_len(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Highest token id the tokenizer can produce.
    pub fn max_id(&self) -> u32 {
        self.inner.get_vocab(true).values().copied().max().unwrap_or(0)
    }

    /// Error unless every id fits the model's embedding of `vocab_size` rows.
    pub fn check_fits(&self, vocab_size: usize) -> Result<()> {
        let max_id = self.max_id();
        if max_id as usize >= vocab_size {
            return Err(CoreError::VocabMismatch {
                file: self.file.clone(),
                expected: vocab_size,
                found: self.vocab_len(),
                max_id,
            });
        }
        Ok(())
    }

    /// Token ids of `text`, with special tokens in the text recognised and nothing added.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| CoreError::Encode(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Token ids with each token's byte span `(start, end)` in `text`.
    pub fn encode_with_offsets(&self, text: &str) -> Result<(Vec<u32>, Vec<(usize, usize)>)> {
        let enc = self.inner.encode(text, false).map_err(|e| CoreError::Encode(e.to_string()))?;
        Ok((enc.get_ids().to_vec(), enc.get_offsets().to_vec()))
    }

    /// Text of `ids`; special tokens (`<|im_end|>`, …) are skipped, `<think>` is kept.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(|e| CoreError::Encode(e.to_string()))
    }

    /// Text of one token, special tokens included (for streaming and log-prob tables).
    pub fn token_text(&self, id: u32) -> String {
        self.inner.decode(&[id], false).unwrap_or_default()
    }

    /// The ids that end generation.
    pub fn stop_ids(&self) -> Vec<u32> {
        vec![self.im_end, self.endoftext]
    }
}
