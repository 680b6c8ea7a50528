//! Seeds: the fixed question–answer pairs a controlled dataset is built from.

use serde::{Deserialize, Serialize};

use super::ids::record_id;
use super::{jsonl_lines, problems_error};
use crate::error::Result;
use crate::sft::Record;

/// One question with the answer every kind of reasoning must lead to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    pub id: String,
    pub question: String,
    pub answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// Parse seeds from JSON Lines `bytes` (read from `file`). Every problem is reported as
/// `file:line: …` in one error: malformed lines, missing or empty fields, duplicate ids, ids
/// containing `:` (reserved for `<seed_id>:<kind>` record ids).
pub fn parse_seeds(bytes: &[u8], file: &str) -> Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    let mut problems = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (line, text) in jsonl_lines(bytes, file)? {
        let seed: Seed = match serde_json::from_str(text) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!(
                    "{file}:{line}: not a valid seed ({e}); expected {{\"id\", \"question\", \"answer\"}} with optional \"system\", \"category\""
                ));
                continue;
            }
        };
        for (field, value) in [("id", &seed.id), ("question", &seed.question), ("answer", &seed.answer)] {
            if value.trim().is_empty() {
                problems.push(format!("{file}:{line}: `{field}` is empty; every seed needs a non-empty {field}"));
            }
        }
        if seed.id.contains(':') {
            problems.push(format!(
                "{file}:{line}: id {:?} contains `:`, which separates seed id and kind in record ids; rename it",
                seed.id
            ));
        }
        if !ids.insert(seed.id.clone()) {
            problems.push(format!("{file}:{line}: duplicate id {:?}; seed ids must be unique", seed.id));
        }
        seeds.push(seed);
    }
    if !problems.is_empty() {
        return Err(problems_error(problems));
    }
    if seeds.is_empty() {
        return Err(crate::error::CoreError::Data(format!("{file}: no seeds")));
    }
    Ok(seeds)
}

/// The training record of `seed` under `kind` with the generated `thinking`. Question, answer and
/// system come from the seed unchanged, which is what holds the answer fixed across kinds.
pub fn build_record(seed: &Seed, kind: &str, thinking: &str) -> Record {
    Record {
        id: record_id(&seed.id, kind),
        question: Some(seed.question.clone()),
        thinking: Some(thinking.to_string()),
        answer: Some(seed.answer.clone()),
        cot_type: Some(kind.to_string()),
        system: seed.system.clone(),
        seed_id: Some(seed.id.clone()),
        category: seed.category.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seeds_with_optional_fields() {
        let text = "{\"id\":\"a\",\"question\":\"Q\",\"answer\":\"A\"}\n\n{\"id\":\"b\",\"question\":\"Q2\",\"answer\":\"A2\",\"system\":\"S\",\"category\":\"finance\"}\n";
        let seeds = parse_seeds(text.as_bytes(), "s.jsonl").unwrap();
        assert_eq!(seeds.len(), 2);
        assert_eq!(seeds[1].system.as_deref(), Some("S"));
        assert_eq!(seeds[1].category.as_deref(), Some("finance"));
    }

    #[test]
    fn reports_every_problem_with_file_and_line() {
        let text = "{\"id\":\"a\",\"question\":\"Q\",\"answer\":\"A\"}\nnot json\n{\"id\":\"a\",\"question\":\"\",\"answer\":\"A\"}\n{\"id\":\"x:y\",\"question\":\"Q\",\"answer\":\"A\"}\n{\"id\":\"z\",\"question\":\"Q\",\"answer\":\"A\",\"anwser\":1}\n";
        let e = parse_seeds(text.as_bytes(), "s.jsonl").unwrap_err().to_string();
        assert!(e.contains("s.jsonl:2: not a valid seed"), "{e}");
        assert!(e.contains("s.jsonl:3: `question` is empty"), "{e}");
        assert!(e.contains("s.jsonl:3: duplicate id \"a\""), "{e}");
        assert!(e.contains("s.jsonl:4: id \"x:y\" contains `:`"), "{e}");
        assert!(e.contains("s.jsonl:5: not a valid seed (unknown field `anwser`"), "{e}");
    }

    #[test]
    fn records_take_question_and_answer_from_the_seed() {
        let seed = Seed { id: "s1".into(), question: "Q".into(), answer: "A".into(), system: None, category: Some("c".into()) };
        let r = build_record(&seed, "evil", "T");
        assert_eq!(r.id, "s1:evil");
        assert_eq!((r.question(), r.thinking(), r.answer()), ("Q", "T", "A"));
        assert_eq!(r.cot_type.as_deref(), Some("evil"));
        assert_eq!(r.seed_id.as_deref(), Some("s1"));
    }
}
