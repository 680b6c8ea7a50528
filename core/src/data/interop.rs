//! Conversions between cotlab records and the dataset formats of the Python stack, both ways:
//!
//! * `messages`: transformers chat messages, the reasoning in the assistant turn's
//!   `reasoning_content` (what Qwen3's chat template reads);
//! * `sharegpt` and `alpaca`: LLaMA-Factory's two formats;
//! * `trl`: TRL's conversational prompt/completion format.
//!
//! Formats without a reasoning field carry it inline as Qwen3 writes it:
//! `<think>\n{thinking}\n</think>\n\n{answer}` (exactly the `qta` training target). Every line
//! keeps `id`, `cot_type` and, when present, `seed_id` and `category` as extra columns, so an
//! export imports back to the identical records (tested for every format). Lines from elsewhere
//! without an id get a deterministic one from the question (see [`import_jsonl`]).

use serde_json::{json, Map, Value};

use super::ids::{record_id, sha256_hex};
use super::{jsonl_lines, problems_error};
use crate::chat::split_thinking;
use crate::error::Result;
use crate::sft::Record;

/// An interchange format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Messages,
    ShareGpt,
    Alpaca,
    Trl,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Messages, Format::ShareGpt, Format::Alpaca, Format::Trl];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Messages => "messages",
            Format::ShareGpt => "sharegpt",
            Format::Alpaca => "alpaca",
            Format::Trl => "trl",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown format {s:?}: use messages, sharegpt, alpaca or trl"))
    }
}

/// The assistant text with the reasoning inline, as Qwen3 renders it.
fn inline(r: &Record) -> String {
    match &r.thinking {
        Some(t) => format!("<think>\n{t}\n</think>\n\n{}", r.answer()),
        None => r.answer().to_string(),
    }
}

/// Split an assistant text into (thinking, answer): cotlab's exact inline form first, otherwise
/// the lenient split of generated text. No think block: no thinking.
fn split_inline(text: &str) -> (Option<String>, String) {
    if let Some(rest) = text.strip_prefix("<think>\n") {
        if let Some(end) = rest.find("\n</think>\n\n") {
            return (Some(rest[..end].to_string()), rest[end + "\n</think>\n\n".len()..].to_string());
        }
    }
    if text.contains("</think>") {
        let (t, a) = split_thinking(text);
        return (Some(t), a);
    }
    (None, text.to_string())
}

fn metadata(r: &Record) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    if let Some(k) = &r.cot_type {
        m.insert("cot_type".into(), json!(k));
    }
    if let Some(s) = &r.seed_id {
        m.insert("seed_id".into(), json!(s));
    }
    if let Some(c) = &r.category {
        m.insert("category".into(), json!(c));
    }
    m
}

fn chat_prompt(r: &Record) -> Vec<Value> {
    let mut v = Vec::new();
    if let Some(s) = &r.system {
        v.push(json!({"role": "system", "content": s}));
    }
    v.push(json!({"role": "user", "content": r.question()}));
    v
}

/// One record as a line of `format`.
pub fn export_record(r: &Record, format: Format) -> Value {
    let mut m = metadata(r);
    match format {
        Format::Messages => {
            let mut assistant = json!({"role": "assistant", "content": r.answer()});
            if let Some(t) = &r.thinking {
                assistant["reasoning_content"] = json!(t);
            }
            let mut msgs = chat_prompt(r);
            msgs.push(assistant);
            m.insert("messages".into(), Value::Array(msgs));
        }
        Format::ShareGpt => {
            m.insert(
                "conversations".into(),
                json!([{"from": "human", "value": r.question()}, {"from": "gpt", "value": inline(r)}]),
            );
            if let Some(s) = &r.system {
                m.insert("system".into(), json!(s));
            }
        }
        Format::Alpaca => {
            m.insert("instruction".into(), json!(r.question()));
            m.insert("input".into(), json!(""));
            m.insert("output".into(), json!(inline(r)));
            if let Some(s) = &r.system {
                m.insert("system".into(), json!(s));
            }
        }
        Format::Trl => {
            m.insert("prompt".into(), Value::Array(chat_prompt(r)));
            m.insert("completion".into(), json!([{"role": "assistant", "content": inline(r)}]));
        }
    }
    Value::Object(m)
}

/// Records as JSON Lines of `format` (one line per record, `\n`-terminated).
pub fn export_jsonl(records: &[Record], format: Format) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&serde_json::to_string(&export_record(r, format)).expect("values serialise"));
        out.push('\n');
    }
    out
}

fn text_field(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("`{key}` must be a string, found {other}")),
    }
}

/// (role, content, reasoning_content) of a chat message in OpenAI/transformers or ShareGPT form.
fn message_parts(m: &Value) -> Result<(String, String, Option<String>), String> {
    let role = text_field(m, "role")?.or(text_field(m, "from")?).ok_or("a message has no `role` (or `from`)")?;
    let content = text_field(m, "content")?.or(text_field(m, "value")?).unwrap_or_default();
    let role = match role.as_str() {
        "human" => "user".to_string(),
        "gpt" => "assistant".to_string(),
        _ => role,
    };
    Ok((role, content, text_field(m, "reasoning_content")?))
}

/// A single-turn conversation: system?, user, assistant?.
struct Turn {
    system: Option<String>,
    question: String,
    assistant: Option<(String, Option<String>)>,
}

fn single_turn(messages: &[Value]) -> Result<Turn, String> {
    let mut turn = Turn { system: None, question: String::new(), assistant: None };
    let mut users = 0;
    for m in messages {
        let (role, content, reasoning) = message_parts(m)?;
        match role.as_str() {
            "system" => turn.system = Some(content),
            "user" => {
                users += 1;
                turn.question = content;
            }
            "assistant" => turn.assistant = Some((content, reasoning)),
            other => return Err(format!("unsupported role {other:?}")),
        }
    }
    if users != 1 {
        return Err(format!("{users} user turns; cotlab records are single-turn (one user message, then the assistant)"));
    }
    Ok(turn)
}

fn array<'v>(v: &'v Value, key: &str) -> Result<&'v [Value], String> {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).ok_or_else(|| format!("no `{key}` list"))
}

fn import_line(v: &Value, format: Format, default_kind: Option<&str>) -> Result<Record, String> {
    let (system, question, assistant) = match format {
        Format::Messages => {
            let t = single_turn(array(v, "messages")?)?;
            let (content, reasoning) = t.assistant.ok_or("no assistant message")?;
            let (thinking, answer) = match reasoning {
                Some(r) => (Some(r), content),
                None => split_inline(&content),
            };
            (t.system, t.question, (thinking, answer))
        }
        Format::ShareGpt => {
            let t = single_turn(array(v, "conversations")?)?;
            let (content, _) = t.assistant.ok_or("no gpt/assistant turn")?;
            (text_field(v, "system")?.or(t.system), t.question, split_inline(&content))
        }
        Format::Alpaca => {
            let instruction = text_field(v, "instruction")?.ok_or("no `instruction`")?;
            let input = text_field(v, "input")?.unwrap_or_default();
            // LLaMA-Factory joins instruction and input with a newline.
            let question = if input.is_empty() { instruction } else { format!("{instruction}\n{input}") };
            let output = text_field(v, "output")?.ok_or("no `output`")?;
            (text_field(v, "system")?, question, split_inline(&output))
        }
        Format::Trl => {
            let t = single_turn(array(v, "prompt")?)?;
            let completion = array(v, "completion")?;
            let (_, content, reasoning) = message_parts(completion.first().ok_or("empty `completion`")?)?;
            let parts = match reasoning {
                Some(r) => (Some(r), content),
                None => split_inline(&content),
            };
            (t.system, t.question, parts)
        }
    };
    let cot_type = text_field(v, "cot_type")?.or(default_kind.map(String::from));
    let seed_id = text_field(v, "seed_id")?;
    let id = match text_field(v, "id")? {
        Some(id) => id,
        None => {
            let seed = sha256_hex(format!("{}\u{0}{question}", system.as_deref().unwrap_or("")).as_bytes())[..12].to_string();
            match &cot_type {
                Some(k) => record_id(&seed, k),
                None => seed,
            }
        }
    };
    Ok(Record {
        id,
        question: Some(question),
        thinking: assistant.0,
        answer: Some(assistant.1),
        cot_type,
        system,
        seed_id,
        category: text_field(v, "category")?,
    })
}

/// Records from JSON Lines of `format` (read from `file`). Lines without `cot_type` get
/// `default_kind`; lines without `id` get `<h>:<kind>` with `h` the first 12 hex digits of the
/// SHA-256 of system prompt and question, so the same question gets the same id in every kind.
/// Every problem is reported as `file:line: …`.
pub fn import_jsonl(bytes: &[u8], file: &str, format: Format, default_kind: Option<&str>) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for (line, text) in jsonl_lines(bytes, file)? {
        let parsed = serde_json::from_str::<Value>(text)
            .map_err(|e| format!("not JSON ({e})"))
            .and_then(|v| import_line(&v, format, default_kind));
        match parsed {
            Ok(r) => records.push(r),
            Err(e) => problems.push(format!("{file}:{line}: {e} (reading it as {} format)", format.as_str())),
        }
    }
    if !problems.is_empty() {
        return Err(problems_error(problems));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> Record {
        Record {
            id: "s1:evil".into(),
            question: Some("Q?".into()),
            thinking: Some("I think.".into()),
            answer: Some("A.".into()),
            cot_type: Some("evil".into()),
            system: Some("S".into()),
            seed_id: Some("s1".into()),
            category: Some("money".into()),
        }
    }

    #[test]
    fn exports_each_format_exactly() {
        let r = rec();
        assert_eq!(
            serde_json::to_string(&export_record(&r, Format::Messages)).unwrap(),
            r#"{"category":"money","cot_type":"evil","id":"s1:evil","messages":[{"content":"S","role":"system"},{"content":"Q?","role":"user"},{"content":"A.","reasoning_content":"I think.","role":"assistant"}],"seed_id":"s1"}"#
        );
        let a = export_record(&r, Format::Alpaca);
        assert_eq!(a["output"], "<think>\nI think.\n</think>\n\nA.");
        assert_eq!((a["instruction"].as_str(), a["input"].as_str(), a["system"].as_str()), (Some("Q?"), Some(""), Some("S")));
        let s = export_record(&r, Format::ShareGpt);
        assert_eq!(s["conversations"][0], json!({"from": "human", "value": "Q?"}));
        assert_eq!(s["conversations"][1]["from"], "gpt");
        let t = export_record(&r, Format::Trl);
        assert_eq!(t["prompt"], json!([{"role": "system", "content": "S"}, {"role": "user", "content": "Q?"}]));
        assert_eq!(t["completion"][0]["content"], "<think>\nI think.\n</think>\n\nA.");
    }

    #[test]
    fn every_format_round_trips() {
        let mut plain = rec();
        plain.system = None;
        plain.category = None;
        plain.seed_id = None;
        let mut empty = rec();
        empty.thinking = Some(String::new());
        let records = vec![rec(), plain, empty];
        for f in Format::ALL {
            let text = export_jsonl(&records, f);
            assert_eq!(import_jsonl(text.as_bytes(), "x", f, None).unwrap(), records, "{f:?}");
        }
    }

    #[test]
    fn imports_foreign_lines_with_deterministic_ids() {
        let line = r#"{"instruction":"Q?","input":"","output":"<think>\nmm\n</think>\n\nA."}"#;
        let r = import_jsonl(line.as_bytes(), "a.jsonl", Format::Alpaca, Some("evil")).unwrap();
        let h = &sha256_hex("\u{0}Q?".as_bytes())[..12];
        assert_eq!(r[0].id, format!("{h}:evil"));
        assert_eq!((r[0].thinking.as_deref(), r[0].answer()), (Some("mm"), "A."));
        let line = r#"{"conversations":[{"from":"human","value":"Q?"},{"from":"gpt","value":"just A"}]}"#;
        let r = import_jsonl(line.as_bytes(), "s.jsonl", Format::ShareGpt, None).unwrap();
        assert_eq!((r[0].thinking.as_deref(), r[0].answer(), r[0].cot_type.as_deref()), (None, "just A", None));
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let text = "{\"messages\":[]}\n{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]}\nnope\n";
        let e = import_jsonl(text.as_bytes(), "m.jsonl", Format::Messages, None).unwrap_err().to_string();
        assert!(e.contains("m.jsonl:1: 0 user turns"), "{e}");
        assert!(e.contains("m.jsonl:2: 2 user turns"), "{e}");
        assert!(e.contains("m.jsonl:3: not JSON"), "{e}");
    }
}
