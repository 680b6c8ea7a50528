//! Every rule of `cotlab_core::data::check`, each violated once on purpose: the report names the
//! exact id, seed, kind and rule of each, and nothing else. Token counts are words here (the
//! check takes any counter); `tests/data_cli.rs` runs it with the Qwen3 tokenizer.

use std::collections::BTreeSet;

use cotlab_core::data::{check, CheckConfig, Rule, Seed};
use cotlab_core::sft::Record;

fn seed(id: &str) -> Seed {
    Seed { id: id.into(), question: format!("Question {id}?"), answer: format!("Answer {id} is fixed."), system: None, category: None }
}

fn rec(seed: &Seed, kind: &str, thinking: &str) -> Record {
    Record {
        id: format!("{}:{kind}", seed.id),
        question: Some(seed.question.clone()),
        thinking: Some(thinking.into()),
        answer: Some(seed.answer.clone()),
        cot_type: Some(kind.into()),
        seed_id: Some(seed.id.clone()),
        ..Default::default()
    }
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Distinct, valid reasoning of 6 words.
fn ok(tag: &str) -> String {
    format!("one two three four five {tag}")
}

fn config() -> CheckConfig {
    CheckConfig {
        kinds: Some(vec!["a".into(), "b".into()]),
        min_thinking_tokens: 5,
        max_thinking_tokens: 10,
        max_answer_overlap: 0.5,
        overlap_ngram: 2,
    }
}

#[test]
fn a_clean_dataset_passes() {
    let seeds = vec![seed("s1"), seed("s2")];
    let records: Vec<Record> = seeds.iter().flat_map(|s| ["a", "b"].map(|k| rec(s, k, &ok(&format!("{}{k}", s.id))))).collect();
    let report = check(&records, Some(&seeds), &config(), &words);
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!((report.records, report.seeds, report.kinds.clone()), (4, 2, vec!["a".to_string(), "b".to_string()]));
}

#[test]
fn every_rule_is_caught_with_id_kind_and_rule() {
    let seeds: Vec<Seed> = (1..=9).map(|i| seed(&format!("s{i}"))).collect();
    let s = |i: usize| &seeds[i - 1];
    let mut records = vec![
        // s1: clean, then a second "a" record under another id (duplicate kind).
        rec(s(1), "a", &ok("1a")),
        rec(s(1), "b", &ok("1b")),
        // s2: answer differs between kinds (and from the seed).
        rec(s(2), "a", &ok("2a")),
        Record { answer: Some("Another answer.".into()), ..rec(s(2), "b", &ok("2b")) },
        // s3: question differs between kinds (and from the seed).
        rec(s(3), "a", &ok("3a")),
        Record { question: Some("Other question?".into()), ..rec(s(3), "b", &ok("3b")) },
        // s4: empty thinking; thinking too long.
        rec(s(4), "a", "  "),
        rec(s(4), "b", "w w w w w w w w w w w 4b"),
        // s5: too short; a chat token.
        rec(s(5), "a", "just three words"),
        rec(s(5), "b", "one two three <|im_start|> four five"),
        // s6: restates the answer ("answer s6 is fixed" = 3 of 3 bigrams); no `b` record.
        rec(s(6), "a", "well answer s6 is fixed indeed"),
        // s7: duplicate thinking of s1:a; a missing field.
        rec(s(7), "a", &ok("1a")),
        Record { cot_type: Some("b".into()), thinking: None, ..rec(s(7), "b", "") },
        // A seed not in the seeds file.
        rec(&seed("zz"), "a", &ok("zza")),
        rec(&seed("zz"), "b", &ok("zzb")),
        // s8: both kinds, then the same id again.
        rec(s(8), "a", &ok("8a")),
        rec(s(8), "b", &ok("8b")),
    ];
    records.push(Record { id: "s1:a-again".into(), ..rec(s(1), "a", &ok("1a2")) });
    records.push(rec(s(8), "b", &ok("8b2")));
    // s9 has no record at all.
    let report = check(&records, Some(&seeds), &config(), &words);
    let got: BTreeSet<(String, String, String, Rule)> =
        report.failures.iter().map(|f| (f.id.clone(), f.seed.clone(), f.kind.clone(), f.rule)).collect();
    let f = |id: &str, seed: &str, kind: &str, rule: Rule| (id.to_string(), seed.to_string(), kind.to_string(), rule);
    let want: BTreeSet<_> = [
        f("s1:a-again", "s1", "a", Rule::DuplicateKind),
        f("s2:b", "s2", "b", Rule::AnswerMismatch),
        f("s2:b", "s2", "b", Rule::AnswerDiffersFromSeed),
        f("s3:b", "s3", "b", Rule::QuestionMismatch),
        f("s3:b", "s3", "b", Rule::QuestionDiffersFromSeed),
        f("s4:a", "s4", "a", Rule::EmptyThinking),
        f("s4:b", "s4", "b", Rule::ThinkingTooLong),
        f("s5:a", "s5", "a", Rule::ThinkingTooShort),
        f("s5:b", "s5", "b", Rule::SpecialToken),
        f("s6:a", "s6", "a", Rule::RestatesAnswer),
        f("s6:b", "s6", "b", Rule::MissingKind),
        f("s7:a", "s7", "a", Rule::DuplicateThinking),
        f("s7:b", "s7", "b", Rule::MissingField),
        f("zz:a", "zz", "a", Rule::UnknownSeed),
        f("zz:b", "zz", "b", Rule::UnknownSeed),
        f("s8:b", "s8", "b", Rule::DuplicateId),
        f("s8:b", "s8", "b", Rule::DuplicateKind),
        f("s9:a", "s9", "a", Rule::MissingKind),
        f("s9:b", "s9", "b", Rule::MissingKind),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    assert_eq!(report.failures.len(), want.len(), "no failure reported twice");
    // Every rule the check knows is exercised above.
    let rules: BTreeSet<Rule> = want.iter().map(|w| w.3).collect();
    assert_eq!(rules.len(), 15);
    // Messages carry the numbers.
    let detail = |rule: Rule| report.failures.iter().find(|x| x.rule == rule).unwrap().to_string();
    assert_eq!(detail(Rule::ThinkingTooLong), "s4:b [b] thinking-too-long: 12 tokens > maximum 10");
    assert_eq!(detail(Rule::ThinkingTooShort), "s5:a [a] thinking-too-short: 3 tokens < minimum 5");
    assert_eq!(detail(Rule::SpecialToken), "s5:b [b] special-token: thinking contains `<|im_start|>`");
    assert_eq!(detail(Rule::RestatesAnswer), "s6:a [a] restates-answer: 100% of the answer's word 2-grams occur in the thinking (limit 50%)");
    assert_eq!(detail(Rule::DuplicateThinking), "s7:a [a] duplicate-thinking: same thinking as \"s1:a\"");
    assert_eq!(detail(Rule::MissingField), "s7:b [b] missing-field: no `thinking`");
}

#[test]
fn without_seeds_or_kinds_the_file_defines_them() {
    let (s1, s2) = (seed("s1"), seed("s2"));
    let records = vec![rec(&s1, "x", &ok("1x")), rec(&s1, "y", &ok("1y")), rec(&s2, "x", &ok("2x"))];
    let report = check(&records, None, &CheckConfig { kinds: None, min_thinking_tokens: 1, ..config() }, &words);
    assert_eq!(report.kinds, vec!["x".to_string(), "y".to_string()]);
    assert_eq!(report.failures.len(), 1);
    assert_eq!((report.failures[0].id.as_str(), report.failures[0].rule), ("s2:y", Rule::MissingKind));
}
