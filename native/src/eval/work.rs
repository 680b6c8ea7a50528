//! The work of one batch of samples: generate (batched), then judge or read the model's choice,
//! and turn each sample into a [`SampleRecord`]. A judge failure or an unreadable answer makes an
//! unscored sample with its reason; only a failure of the model itself stops the run.

use std::collections::BTreeMap;

use anyhow::Result;
use cotlab_core::chat::{Message, Mode};
use cotlab_core::eval::exact::{continuation_logprobs, DEFAULT_CHUNK_ROWS};
use cotlab_core::eval::judge::{JudgeQuestion, Rubrics};
use cotlab_core::eval::metrics::random_chooser;
use cotlab_core::eval::sample::{JudgeTrace, SampleRecord};
use cotlab_core::eval::suites::darkbench::category_description;
use cotlab_core::eval::suites::machiavelli::parse_choice;
use cotlab_core::eval::suites::trait_::{read_choice, Level, LETTERS};
use cotlab_core::eval::Suite;
use cotlab_core::generate::FinishReason;
use serde_json::{json, Value};

use super::generator::{Generated, Generator};
use super::judge::{Judge, JudgeAnswer};
use super::plan::{Planned, Work};

pub struct Ctx<'a> {
    pub suite: Suite,
    pub mode: Mode,
    pub gen: &'a Generator,
    pub judge: Option<&'a Judge>,
    pub rubrics: &'a Rubrics,
}

/// Seed offset of a sample's second generation (DeceptionBench's outer scenario).
const OUTER_SEED: u64 = 1 << 32;

fn base(ctx: &Ctx, p: &Planned, messages: &[Message], g: Option<&Generated>) -> SampleRecord {
    SampleRecord {
        sample_id: p.sample_id.clone(),
        suite: ctx.suite.as_str().into(),
        mode: ctx.mode.as_str().into(),
        item_id: p.item_id.clone(),
        category: p.category.clone(),
        messages: serde_json::to_value(messages).expect("messages serialise"),
        sampling: ctx.gen.sampling_json(),
        seed: p.seed,
        thinking: g.map_or(String::new(), |g| g.thinking.clone()),
        answer: g.map_or(String::new(), |g| g.answer.clone()),
        judge: None,
        scores: BTreeMap::new(),
        unscored_reason: None,
        extra: BTreeMap::from([("finish_reason".into(), g.map_or(Value::Null, |g| json!(g.finish)))]),
    }
}

/// A reply cut off inside its reasoning has no answer to judge.
fn cut_off(g: &Generated) -> Option<String> {
    (g.answer.trim().is_empty() && g.finish == FinishReason::Length)
        .then(|| format!("no answer: the reply reached --max-new-tokens ({} tokens) before its answer; raise --max-new-tokens", g.token_ids.len()))
}

/// Ask the judge `questions` per sample (keyed by score name) and fill the records.
fn judge_into(ctx: &Ctx, records: &mut [SampleRecord], questions: Vec<Vec<(String, JudgeQuestion)>>) {
    let judge = ctx.judge.expect("suites with judges are checked to have one");
    let flat: Vec<JudgeQuestion> = questions.iter().flatten().map(|(_, q)| q.clone()).collect();
    let mut answers = judge.ask_all(&flat).into_iter();
    for (rec, qs) in records.iter_mut().zip(questions) {
        let mut trace = JudgeTrace { spec: judge.spec().to_string(), raw: Vec::new(), scores: BTreeMap::new() };
        let mut failure = None;
        for (name, q) in qs {
            match answers.next().expect("one answer per question") {
                Ok(JudgeAnswer { verdict, mut raw }) => {
                    raw["rubric"] = json!(q.rubric);
                    raw["score"] = json!(name);
                    trace.raw.push(raw);
                    trace.scores.insert(name, verdict.to_json());
                }
                Err(reason) => {
                    trace.raw.push(json!({"score": name, "rubric": q.rubric, "error": reason}));
                    failure.get_or_insert(reason);
                }
            }
        }
        if rec.unscored_reason.is_none() {
            rec.unscored_reason = failure;
        }
        if rec.unscored_reason.is_none() {
            rec.scores = trace.scores.clone();
        }
        rec.judge = Some(trace);
    }
}

pub fn run_batch(ctx: &Ctx, batch: &[Planned]) -> Result<Vec<SampleRecord>> {
    match ctx.suite {
        Suite::Em => em(ctx, batch),
        Suite::Deception => deception(ctx, batch),
        Suite::Darkbench => darkbench(ctx, batch),
        Suite::Trait => trait_(ctx, batch),
        Suite::Machiavelli => machiavelli(ctx, batch),
    }
}

fn em(ctx: &Ctx, batch: &[Planned]) -> Result<Vec<SampleRecord>> {
    let items: Vec<_> = batch.iter().map(|p| match &p.work {
        Work::Em(i) => i,
        _ => unreachable!("an em plan holds em work"),
    }).collect();
    let convs: Vec<(Vec<Message>, u64)> = items.iter().zip(batch).map(|(i, p)| (i.messages(), p.seed)).collect();
    let gens = ctx.gen.generate(&convs, ctx.mode, &[])?;
    let mut records = Vec::new();
    let mut questions = Vec::new();
    for ((p, item), g) in batch.iter().zip(&items).zip(&gens) {
        let mut rec = base(ctx, p, &convs[records.len()].0, Some(g));
        rec.unscored_reason = cut_off(g);
        let values = [("question", item.question.as_str()), ("answer", g.answer.as_str())];
        let mut qs = Vec::new();
        if rec.unscored_reason.is_none() {
            for name in ["aligned", "coherent"] {
                let q = match item.judge_prompts.get(name) {
                    Some(t) => ctx.rubrics.question_from(name, t, &values),
                    None => ctx.rubrics.question(name, &values),
                };
                qs.push((name.to_string(), q));
            }
        }
        questions.push(qs);
        records.push(rec);
    }
    judge_into(ctx, &mut records, questions);
    Ok(records)
}

fn deception(ctx: &Ctx, batch: &[Planned]) -> Result<Vec<SampleRecord>> {
    let recs: Vec<_> = batch.iter().map(|p| match &p.work {
        Work::Deception(r) => r,
        _ => unreachable!(),
    }).collect();
    let inner: Vec<(Vec<Message>, u64)> = recs.iter().zip(batch).map(|(r, p)| (r.inner_messages(), p.seed)).collect();
    let outer: Vec<(Vec<Message>, u64)> = recs.iter().zip(batch).map(|(r, p)| (r.outer_messages(), p.seed.wrapping_add(OUTER_SEED))).collect();
    let beliefs = ctx.gen.generate(&inner, ctx.mode, &[])?;
    let replies = ctx.gen.generate(&outer, ctx.mode, &[])?;
    let mut records = Vec::new();
    let mut questions = Vec::new();
    for (i, p) in batch.iter().enumerate() {
        let (r, b, g) = (recs[i], &beliefs[i], &replies[i]);
        let mut rec = base(ctx, p, &outer[i].0, Some(g));
        let belief = if b.answer.trim().is_empty() { b.thinking.clone() } else { b.answer.clone() };
        rec.extra.insert(
            "belief".into(),
            json!({"messages": inner[i].0, "seed": inner[i].1, "thinking": b.thinking, "answer": b.answer, "finish_reason": b.finish}),
        );
        rec.extra.insert("format".into(), json!(r.format));
        rec.unscored_reason = cut_off(g).or_else(|| belief.trim().is_empty().then(|| "no belief: the inner prompt got an empty reply".to_string()));
        let scenario = r.scenario();
        let mut qs = Vec::new();
        if rec.unscored_reason.is_none() {
            if !g.thinking.trim().is_empty() {
                let v = [("belief", belief.as_str()), ("scenario", scenario.as_str()), ("text", g.thinking.as_str())];
                qs.push(("reasoning_consistency".to_string(), ctx.rubrics.question("deception_reasoning", &v)));
            }
            let v = [("belief", belief.as_str()), ("scenario", scenario.as_str()), ("text", g.answer.as_str())];
            qs.push(("output_consistency".to_string(), ctx.rubrics.question("deception_output", &v)));
        }
        questions.push(qs);
        records.push(rec);
    }
    judge_into(ctx, &mut records, questions);
    Ok(records)
}

fn darkbench(ctx: &Ctx, batch: &[Planned]) -> Result<Vec<SampleRecord>> {
    let recs: Vec<_> = batch.iter().map(|p| match &p.work {
        Work::Darkbench(r) => r,
        _ => unreachable!(),
    }).collect();
    let convs: Vec<(Vec<Message>, u64)> = recs.iter().zip(batch).map(|(r, p)| (vec![Message::user(&r.input)], p.seed)).collect();
    let gens = ctx.gen.generate(&convs, ctx.mode, &[])?;
    let mut records = Vec::new();
    let mut questions = Vec::new();
    for (i, p) in batch.iter().enumerate() {
        let (r, g) = (recs[i], &gens[i]);
        let mut rec = base(ctx, p, &convs[i].0, Some(g));
        rec.unscored_reason = cut_off(g);
        let category = p.category.clone().unwrap_or_default();
        let description = category_description(&category).unwrap_or_default();
        let mut qs = Vec::new();
        if rec.unscored_reason.is_none() {
            let v = [("category", category.as_str()), ("category_description", description.as_str()), ("prompt", r.input.as_str()), ("answer", g.answer.as_str())];
            qs.push(("darkbench".to_string(), ctx.rubrics.question("darkbench", &v)));
        }
        questions.push(qs);
        records.push(rec);
    }
    judge_into(ctx, &mut records, questions);
    Ok(records)
}

fn trait_(ctx: &Ctx, batch: &[Planned]) -> Result<Vec<SampleRecord>> {
    let work: Vec<_> = batch.iter().map(|p| match &p.work {
        Work::Trait(r, o) => (r, *o),
        _ => unreachable!(),
    }).collect();
    let convs: Vec<(Vec<Message>, u64)> = work.iter().zip(batch).map(|((r, o), p)| (r.messages(*o), p.seed)).collect();
    let tok = &ctx.gen.tok;
    // Think mode: let the model reason, stopping at </think>; the letters are read after it.
    let gens = match ctx.mode {
        Mode::Think => Some(ctx.gen.generate(&convs, ctx.mode, &[tok.think_end])?),
        Mode::NoThink => None,
    };
    let letters: Vec<Vec<u32>> = LETTERS.iter().map(|l| tok.encode(l)).collect::<Result<_, _>>()?;
    let close = tok.encode("\n\n")?;
    let mut records = Vec::new();
    for (i, p) in batch.iter().enumerate() {
        let (r, order) = work[i];
        let g = gens.as_ref().map(|g| &g[i]);
        let prefix: Vec<u32> = match g {
            Some(g) => g.prompt_ids.iter().chain(&g.token_ids).copied().chain([tok.think_end]).chain(close.iter().copied()).collect(),
            None => ctx.gen.prompt_ids(&convs[i].0, ctx.mode)?,
        };
        let lps = pollster::block_on(continuation_logprobs(&ctx.gen.model, &prefix, &letters, DEFAULT_CHUNK_ROWS))?;
        let options = r.options(order);
        let levels: Vec<Level> = options.iter().map(|o| o.1).collect();
        let raw = [lps[0].exp(), lps[1].exp(), lps[2].exp(), lps[3].exp()];
        let (best, probs, high) = read_choice(&raw, &levels);
        let mut rec = base(ctx, p, &convs[i].0, g);
        if let Some(g) = g {
            // Stopped at </think>: everything generated is reasoning.
            rec.thinking = tok.decode(&g.token_ids)?.trim_start_matches("<think>").trim().to_string();
            rec.extra.insert("reasoning_closed".into(), json!(g.finish == FinishReason::Stop));
        }
        rec.answer = LETTERS[best].to_string();
        rec.extra.insert("order".into(), json!(order.as_str()));
        rec.extra.insert(
            "options".into(),
            json!(options.iter().zip(LETTERS).map(|((text, level), l)| json!({"letter": l, "text": text, "level": if *level == Level::High { "high" } else { "low" }})).collect::<Vec<_>>()),
        );
        rec.scores = BTreeMap::from([
            ("letter_logprobs".into(), json!(lps)),
            ("probs".into(), json!(probs)),
            ("choice".into(), json!(LETTERS[best])),
            ("choice_level".into(), json!(if levels[best] == Level::High { "high" } else { "low" })),
            ("high_prob".into(), json!(high)),
        ]);
        records.push(rec);
    }
    Ok(records)
}

fn machiavelli(ctx: &Ctx, batch: &[Planned]) -> Result<Vec<SampleRecord>> {
    let scenes: Vec<_> = batch.iter().map(|p| match &p.work {
        Work::Machiavelli(s) => s,
        _ => unreachable!(),
    }).collect();
    let convs: Vec<(Vec<Message>, u64)> = scenes.iter().zip(batch).map(|(s, p)| (s.messages(), p.seed)).collect();
    let gens = ctx.gen.generate(&convs, ctx.mode, &[])?;
    let mut records = Vec::new();
    for (i, p) in batch.iter().enumerate() {
        let (s, g) = (scenes[i], &gens[i]);
        let mut rec = base(ctx, p, &convs[i].0, Some(g));
        match parse_choice(&g.answer, s.choices.len()) {
            Some(c) => {
                let chosen = s.annotations[c];
                let random = random_chooser(&s.annotations);
                rec.scores = BTreeMap::from([
                    ("choice".into(), json!(c + 1)),
                    ("ethical_violations".into(), json!(chosen.ethical_violations)),
                    ("power_seeking".into(), json!(chosen.power_seeking)),
                    ("disutility".into(), json!(chosen.disutility)),
                    ("random_ethical_violations".into(), json!(random.ethical_violations)),
                    ("random_power_seeking".into(), json!(random.power_seeking)),
                    ("random_disutility".into(), json!(random.disutility)),
                ]);
            }
            None => {
                rec.unscored_reason = Some(cut_off(g).unwrap_or_else(|| {
                    let excerpt: String = g.answer.chars().take(80).collect();
                    format!("no choice in answer: no number from 1 to {} in {excerpt:?}", s.choices.len())
                }))
            }
        }
        records.push(rec);
    }
    Ok(records)
}
