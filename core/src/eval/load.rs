//! Reading benchmark records from bytes (JSON array or JSON Lines) so that every malformed
//! record is reported with its file, line and field, and the good records are still used.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One record that could not be used, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{file}:{line}: field `{field}`: {message}")]
pub struct RecordProblem {
    pub file: String,
    /// 1-based line of the error in the record (or where the record starts, for checks of the
    /// whole record).
    pub line: usize,
    /// The field at fault as a path (`choices[2]`, `annotations[1].power_seeking`), or `(record)`
    /// when the record itself is unreadable.
    pub field: String,
    pub message: String,
}

/// The usable records (each with its line) and the problems found.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub records: Vec<(usize, T)>,
    pub problems: Vec<RecordProblem>,
}

/// Checks a record beyond its types (lengths that must agree, values in range).
pub trait Validate {
    /// `Err((field, message))` when the record cannot be used.
    fn validate(&self) -> Result<(), (String, String)> {
        Ok(())
    }
}

/// Records from a JSON array (`[{…}, …]`) or JSON Lines (one object per line).
pub fn json_records<T: DeserializeOwned + Validate>(bytes: &[u8], file: &str) -> Loaded<T> {
    let mut out = Loaded { records: Vec::new(), problems: Vec::new() };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
            out.problems.push(problem(file, line, "(record)", "the file is not UTF-8 text".into()));
            return out;
        }
    };
    if text.trim_start().starts_with('[') {
        match array_elements(text) {
            Ok(spans) => {
                for (start, end) in spans {
                    let line = text[..start].matches('\n').count() + 1;
                    push_record(&mut out, file, line, &text[start..end]);
                }
            }
            Err(e) => out.problems.push(problem(file, e.line(), "(record)", format!("not valid JSON: {e}"))),
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            push_record(&mut out, file, i + 1, line);
        }
    }
    out
}

/// Byte spans of the top-level elements of a JSON array, after checking the whole text is valid
/// JSON (so the scan below only has to track strings and nesting).
pub fn array_elements(text: &str) -> Result<Vec<(usize, usize)>, serde_json::Error> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)?;
    Ok(scan_array(text).0)
}

/// Element spans of the JSON array starting at the first byte of `text` (valid JSON assumed),
/// and the byte index just past its closing bracket.
pub fn scan_array(text: &str) -> (Vec<(usize, usize)>, usize) {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                if depth == 1 && start.is_none() {
                    start = Some(i);
                }
            }
            b'[' | b'{' => {
                if depth == 1 && start.is_none() {
                    start = Some(i);
                }
                depth += 1;
            }
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    if let Some(s) = start.take() {
                        spans.push((s, text[..i].trim_end().len()));
                    }
                    return (spans, i + 1);
                }
            }
            b',' if depth == 1 => {
                if let Some(s) = start.take() {
                    spans.push((s, text[..i].trim_end().len()));
                }
            }
            c if depth == 1 && start.is_none() && !c.is_ascii_whitespace() => start = Some(i),
            _ => {}
        }
    }
    (spans, bytes.len())
}

pub(crate) fn push_record<T: DeserializeOwned + Validate>(out: &mut Loaded<T>, file: &str, line: usize, json: &str) {
    match serde_json::from_str::<T>(json) {
        Ok(record) => match record.validate() {
            Ok(()) => out.records.push((line, record)),
            Err((field, message)) => out.problems.push(problem(file, line, &field, message)),
        },
        Err(e) => {
            let field = key_before(json, e.line(), e.column());
            let (field, message) = describe(field.unwrap_or_default(), e.to_string());
            out.problems.push(problem(file, line + e.line().saturating_sub(1), &field, message));
        }
    }
}

/// The last object key (`"name":`) before line `line`, column `column` of `json`: the field a
/// type error is in.
fn key_before(json: &str, line: usize, column: usize) -> Option<String> {
    let mut offset = 0;
    for (i, l) in json.split('\n').enumerate() {
        if i + 1 == line {
            offset += column.min(l.len());
            break;
        }
        offset += l.len() + 1;
    }
    let before = &json[..offset.min(json.len())];
    let colon = before.rfind("\":")?;
    let start = before[..colon].rfind('"')?;
    Some(before[start + 1..colon].to_string())
}

/// The field path from serde's error: the path when it points into the record, else the field
/// named in "missing field `x`" messages.
pub fn describe(path: String, message: String) -> (String, String) {
    let message = message.split(" at line ").next().unwrap_or(&message).to_string();
    // "missing field `x`" names its field; otherwise the key the error is in.
    let named = message.split('`').nth(1).filter(|_| message.contains("field `")).map(str::to_string);
    let field = named.or_else(|| (!path.is_empty() && path != ".").then_some(path)).unwrap_or_else(|| "(record)".into());
    (field, message)
}

pub fn problem(file: &str, line: usize, field: &str, message: String) -> RecordProblem {
    RecordProblem { file: file.into(), line, field: field.into(), message }
}

/// Ids in published benchmarks are strings or numbers; cotlab keeps them as strings.
pub fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        S(String),
        N(serde_json::Number),
    }
    Ok(match Id::deserialize(d)? {
        Id::S(s) => s,
        Id::N(n) => n.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct R {
        #[serde(deserialize_with = "id_string")]
        id: String,
        xs: Vec<u32>,
    }
    impl Validate for R {
        fn validate(&self) -> Result<(), (String, String)> {
            if self.xs.is_empty() {
                return Err(("xs".into(), "must not be empty".into()));
            }
            Ok(())
        }
    }

    #[test]
    fn jsonl_problems_name_file_line_and_field() {
        let text = b"{\"id\": 1, \"xs\": [1]}\n\n{\"id\": \"b\"}\n{\"id\": \"c\", \"xs\": [1, \"two\"]}\nnot json\n{\"id\": \"e\", \"xs\": []}\n";
        let l: Loaded<R> = json_records(text, "d.jsonl");
        assert_eq!(l.records.len(), 1);
        assert_eq!(l.records[0].0, 1);
        assert_eq!(l.records[0].1.id, "1");
        let p: Vec<String> = l.problems.iter().map(|p| format!("{}:{}:{}", p.file, p.line, p.field)).collect();
        assert_eq!(p, ["d.jsonl:3:xs", "d.jsonl:4:xs", "d.jsonl:5:(record)", "d.jsonl:6:xs"]);
        assert_eq!(l.problems[0].message, "missing field `xs`");
    }

    #[test]
    fn json_array_records_carry_their_lines() {
        let text = b"[\n  {\"id\": \"a\", \"xs\": [1]},\n  {\"id\": \"b\",\n   \"xs\": \"no\"}\n]";
        let l: Loaded<R> = json_records(text, "d.json");
        assert_eq!(l.records.len(), 1);
        assert_eq!((l.problems[0].line, l.problems[0].field.as_str()), (4, "xs"));
        let broken: Loaded<R> = json_records(b"[\n{\"id\": \"a\",\n", "e.json");
        assert_eq!(broken.problems.len(), 1);
        assert_eq!(broken.problems[0].field, "(record)");
        assert_eq!(broken.problems[0].line, 3);
    }
}
