//! Which samples a run consists of: items from the suite's data, N samples each, every sample
//! with a stable id and seed (seed + its index in the plan), so a rerun finds the same samples.

use std::path::Path;

use anyhow::{bail, Context, Result};
use cotlab_core::eval::load::RecordProblem;
use cotlab_core::eval::suites::darkbench::{self, DarkBenchRecord};
use cotlab_core::eval::suites::deception::{self, DeceptionRecord};
use cotlab_core::eval::suites::em::{self, EmItem};
use cotlab_core::eval::suites::machiavelli::{self, Scene};
use cotlab_core::eval::suites::trait_::{self, Order, TraitRecord};
use cotlab_core::eval::Suite;

/// What one sample asks of the model.
#[derive(Debug, Clone)]
pub enum Work {
    Em(EmItem),
    Deception(DeceptionRecord),
    Darkbench(DarkBenchRecord),
    Trait(TraitRecord, Order),
    Machiavelli(Scene),
}

#[derive(Debug, Clone)]
pub struct Planned {
    pub sample_id: String,
    pub item_id: String,
    pub category: Option<String>,
    pub seed: u64,
    pub work: Work,
}

pub struct Plan {
    pub samples: Vec<Planned>,
    /// Records of the data file that could not be used.
    pub problems: Vec<RecordProblem>,
    /// Where the items came from.
    pub source: String,
}

/// Default samples per item: 100 for em (the study's setting), 1 elsewhere.
pub fn default_samples(suite: Suite) -> u64 {
    if suite == Suite::Em {
        100
    } else {
        1
    }
}

fn read(path: &Path) -> Result<(Vec<u8>, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read the suite data", path.display()))?;
    Ok((bytes, path.display().to_string()))
}

fn need_data(suite: Suite, data: Option<&Path>) -> Result<&Path> {
    data.ok_or_else(|| {
        let (what, sample) = match suite {
            Suite::Deception => ("DeceptionBench records (JSON or JSONL: id, type, inner_prompt, system_prompt, outer_prompt, format)", "deception.json"),
            Suite::Darkbench => ("DarkBench prompts (JSONL or JSON: id, input, target)", "darkbench.jsonl"),
            Suite::Trait => ("TRAIT items (JSON or JSONL: personality, situation, query, response_high1/2, response_low1/2)", "trait.json"),
            _ => ("MACHIAVELLI scenes (JSONL: id, scenario, choices, annotations)", "machiavelli.jsonl"),
        };
        anyhow::anyhow!(
            "--suite {} needs --data PATH: the public benchmark is not shipped with cotlab. Download the {what}; \
             a small in-house sample in the same format is core/data/samples/{sample}",
            suite.as_str()
        )
    })
}

/// The plan of `suite` over `data` (the shipped questions for em when `data` is `None`).
pub fn plan(suite: Suite, data: Option<&Path>, samples: Option<u64>, seed: u64, limit: Option<usize>) -> Result<Plan> {
    let n = samples.unwrap_or(default_samples(suite));
    let mut out = Vec::new();
    let push = |item_id: String, category: Option<String>, k: String, work: Work, out: &mut Vec<Planned>| {
        let seed = seed.wrapping_add(out.len() as u64);
        out.push(Planned { sample_id: format!("{item_id}#{k}"), item_id, category, seed, work });
    };
    let (problems, source) = match suite {
        Suite::Em => {
            let (questions, problems, source) = match data {
                None => (em::shipped(), Vec::new(), "core/data/em_questions.json (shipped)".to_string()),
                Some(p) => {
                    let (bytes, file) = read(p)?;
                    let l = em::parse_questions(&bytes, &file);
                    (l.records.into_iter().map(|(_, q)| q).collect(), l.problems, file)
                }
            };
            let mut items = em::items(&questions);
            items.truncate(limit.unwrap_or(usize::MAX));
            for item in items {
                // --samples wins; else the question file's samples_per_paraphrase; else 100.
                let per = samples
                    .or_else(|| questions.iter().find(|q| q.id == item.question_id).and_then(|q| q.samples_per_paraphrase))
                    .unwrap_or(n);
                for k in 0..per {
                    push(item.item_id.clone(), Some(item.question_id.clone()), k.to_string(), Work::Em(item.clone()), &mut out);
                }
            }
            (problems, source)
        }
        Suite::Deception => {
            let (bytes, file) = read(need_data(suite, data)?)?;
            let l = deception::parse(&bytes, &file);
            for (_, r) in l.records.into_iter().take(limit.unwrap_or(usize::MAX)) {
                for k in 0..n {
                    push(r.id.clone(), Some(r.kind.clone()), k.to_string(), Work::Deception(r.clone()), &mut out);
                }
            }
            (l.problems, file)
        }
        Suite::Darkbench => {
            let (bytes, file) = read(need_data(suite, data)?)?;
            let l = darkbench::parse(&bytes, &file);
            for (_, r) in l.records.into_iter().take(limit.unwrap_or(usize::MAX)) {
                let cat = darkbench::normalise_category(&r.target);
                for k in 0..n {
                    push(r.id.clone(), Some(cat.clone()), k.to_string(), Work::Darkbench(r.clone()), &mut out);
                }
            }
            (l.problems, file)
        }
        Suite::Trait => {
            let (bytes, file) = read(need_data(suite, data)?)?;
            let l = trait_::parse(&bytes, &file);
            for (line, r) in l.records.into_iter().take(limit.unwrap_or(usize::MAX)) {
                let id = r.id.clone().unwrap_or_else(|| format!("line{line}"));
                for order in [Order::Original, Order::Reversed] {
                    for k in 0..n {
                        let key = format!("{}.{k}", order.as_str());
                        push(id.clone(), Some(r.personality.clone()), key, Work::Trait(r.clone(), order), &mut out);
                    }
                }
            }
            (l.problems, file)
        }
        Suite::Machiavelli => {
            let (bytes, file) = read(need_data(suite, data)?)?;
            let l = machiavelli::parse(&bytes, &file);
            for (_, r) in l.records.into_iter().take(limit.unwrap_or(usize::MAX)) {
                let game = r.game.clone().unwrap_or_else(|| "(no game)".into());
                for k in 0..n {
                    push(r.id.clone(), Some(game.clone()), k.to_string(), Work::Machiavelli(r.clone()), &mut out);
                }
            }
            (l.problems, file)
        }
    };
    // Duplicate ids would make resume ambiguous.
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = out.iter().find(|p| !seen.insert(p.sample_id.clone())) {
        bail!("{source}: item id {:?} occurs more than once; ids must be unique for results to be traceable", dup.item_id);
    }
    Ok(Plan { samples: out, problems, source })
}
