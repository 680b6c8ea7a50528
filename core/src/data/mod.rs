//! Controlled datasets: question–answer seeds, the kinds of reasoning written for them, the
//! checks that prove the answers are held fixed while the reasoning varies, statistics, the
//! dataset card, and conversions to the formats of the Python stack.
//!
//! Data flow (`cotlab data build`): seeds.jsonl → [`parse_seeds`] → for every seed × [`Kind`]:
//! [`Kind::render`] (the generator prompt) → generator (native: HTTP or a local checkpoint) →
//! [`extract_reasoning`] → [`build_record`] → dataset.jsonl → [`check`]. Everything here is pure:
//! callers hand in bytes and a token counter.

pub mod card;
pub mod check;
pub mod ids;
pub mod interop;
pub mod kind;
pub mod sample;
pub mod seed;
pub mod stats;

pub use card::{render_card, CardInfo, PromptInfo};
pub use check::{check, CheckConfig, CheckReport, Failure, Rule};
pub use ids::{cache_key, record_id, seed_key, sha256_hex};
pub use interop::{export_jsonl, import_jsonl, Format};
pub use kind::{extract_reasoning, Kind, BUILTIN_KINDS};
pub use seed::{build_record, parse_seeds, Seed};
pub use stats::{histogram, DatasetStats, FieldStats, KindStats, LengthSummary};

use crate::error::CoreError;

/// One error listing every problem found (each `file:line: …`), at most 20 shown.
pub(crate) fn problems_error(problems: Vec<String>) -> CoreError {
    let shown = problems.len().min(20);
    let mut msg = problems[..shown].join("\n");
    if problems.len() > shown {
        msg.push_str(&format!("\n… and {} more", problems.len() - shown));
    }
    CoreError::Data(msg)
}

/// The lines of a JSON Lines text with their 1-based numbers, blank lines skipped.
pub(crate) fn jsonl_lines<'t>(bytes: &'t [u8], file: &str) -> Result<Vec<(usize, &'t str)>, CoreError> {
    let text = std::str::from_utf8(bytes).map_err(|e| CoreError::Data(format!("{file}: not UTF-8 text ({e})")))?;
    Ok(text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(n, l)| (n + 1, l)).collect())
}
