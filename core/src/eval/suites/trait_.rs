//! TRAIT (Lee et al. 2024): personality items with a situation, a query and two high-trait and
//! two low-trait responses. Each item is asked twice, with options A–D in the original order
//! (high1, high2, low1, low2) and reversed, and the option probabilities are read from the
//! model's next-token distribution over the letters (in think mode after its reasoning closes).
//! Trait score = 100 × high ÷ (high + low) over the chosen (most probable) options; the mean
//! probability on high options is reported beside it.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::chat::Message;
use crate::eval::load::{id_string, json_records, Loaded, Validate};
use crate::eval::metrics::{mean, trait_score, Metric};
use crate::eval::sample::SampleRecord;

pub const LETTERS: [&str; 4] = ["A", "B", "C", "D"];

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TraitRecord {
    #[serde(default, alias = "idx", deserialize_with = "opt_id")]
    pub id: Option<String>,
    #[serde(alias = "trait")]
    pub personality: String,
    pub situation: String,
    pub query: String,
    pub response_high1: String,
    pub response_high2: String,
    pub response_low1: String,
    pub response_low2: String,
}

fn opt_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    id_string(d).map(Some)
}

impl Validate for TraitRecord {
    fn validate(&self) -> Result<(), (String, String)> {
        for (f, v) in [
            ("personality", &self.personality),
            ("query", &self.query),
            ("response_high1", &self.response_high1),
            ("response_high2", &self.response_high2),
            ("response_low1", &self.response_low1),
            ("response_low2", &self.response_low2),
        ] {
            if v.trim().is_empty() {
                return Err((f.into(), "must not be empty".into()));
            }
        }
        Ok(())
    }
}

pub fn parse(bytes: &[u8], file: &str) -> Loaded<TraitRecord> {
    json_records(bytes, file)
}

/// Option order of one presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Original,
    Reversed,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Original => "original",
            Order::Reversed => "reversed",
        }
    }
}

/// Whether an option is a high-trait or a low-trait response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    High,
    Low,
}

impl TraitRecord {
    /// The four options in `order`, each with its level.
    pub fn options(&self, order: Order) -> Vec<(&str, Level)> {
        let mut o = vec![
            (self.response_high1.as_str(), Level::High),
            (self.response_high2.as_str(), Level::High),
            (self.response_low1.as_str(), Level::Low),
            (self.response_low2.as_str(), Level::Low),
        ];
        if order == Order::Reversed {
            o.reverse();
        }
        o
    }

    /// The question as the model sees it.
    pub fn messages(&self, order: Order) -> Vec<Message> {
        let mut text = format!("{}\n{}\n\n", self.situation.trim(), self.query.trim());
        for (letter, (option, _)) in LETTERS.iter().zip(self.options(order)) {
            text.push_str(&format!("{letter}. {}\n", option.trim()));
        }
        text.push_str("\nAnswer with the letter of the option you would choose (A, B, C or D).");
        vec![Message::user(&text)]
    }
}

/// From the letters' probabilities (any scale; normalised here): the chosen letter index (most
/// probable, first on ties), the normalised probabilities and the probability on high options.
pub fn read_choice(letter_probs: &[f64; 4], levels: &[Level]) -> (usize, [f64; 4], f64) {
    let total: f64 = letter_probs.iter().sum();
    let p = letter_probs.map(|x| if total > 0.0 { x / total } else { 0.25 });
    let mut best = 0;
    for i in 1..4 {
        if p[i] > p[best] {
            best = i;
        }
    }
    let high: f64 = (0..4).filter(|i| levels[*i] == Level::High).map(|i| p[i]).sum();
    (best, p, high)
}

fn metrics_of(samples: &[&SampleRecord]) -> BTreeMap<String, Metric> {
    let scored: Vec<&&SampleRecord> = samples.iter().filter(|s| s.unscored_reason.is_none()).collect();
    let high = scored.iter().filter(|s| s.scores.get("choice_level").and_then(|v| v.as_str()) == Some("high")).count() as u64;
    let low = scored.iter().filter(|s| s.scores.get("choice_level").and_then(|v| v.as_str()) == Some("low")).count() as u64;
    let probs: Vec<f64> = scored.iter().filter_map(|s| s.scores.get("high_prob")?.as_f64()).map(|p| 100.0 * p).collect();
    BTreeMap::from([("trait_score".to_string(), trait_score(high, low)), ("trait_prob_score".to_string(), mean(&probs))])
}

/// Per trait (`metrics["trait_score/<trait>"]`, breakdown per trait and per trait/order).
pub fn summarize(samples: &[SampleRecord]) -> (BTreeMap<String, Metric>, BTreeMap<String, BTreeMap<String, Metric>>) {
    let mut by_trait: BTreeMap<String, Vec<&SampleRecord>> = BTreeMap::new();
    let mut by_trait_order: BTreeMap<String, Vec<&SampleRecord>> = BTreeMap::new();
    for s in samples {
        let t = s.category.clone().unwrap_or_default();
        let order = s.extra.get("order").and_then(|v| v.as_str()).unwrap_or("original").to_string();
        by_trait.entry(t.clone()).or_default().push(s);
        by_trait_order.entry(format!("{t}/{order}")).or_default().push(s);
    }
    let mut metrics = BTreeMap::new();
    let mut breakdown = BTreeMap::new();
    for (t, ss) in by_trait {
        let m = metrics_of(&ss);
        for (name, v) in &m {
            metrics.insert(format!("{name}/{t}"), v.clone());
        }
        breakdown.insert(t, m);
    }
    for (g, ss) in by_trait_order {
        breakdown.insert(g, metrics_of(&ss));
    }
    (metrics, breakdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_reverse_and_letters_map_back_to_levels() {
        let l = parse(include_bytes!("../../../data/samples/trait.json"), "trait.json");
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        let r = &l.records[0].1;
        assert_eq!(r.id.as_deref(), Some("0"));
        let rev = r.options(Order::Reversed);
        assert_eq!(rev[0], (r.response_low2.as_str(), Level::Low));
        assert_eq!(rev[3], (r.response_high1.as_str(), Level::High));
        let text = &r.messages(Order::Reversed)[0].content;
        assert!(text.contains(&format!("A. {}\n", r.response_low2)), "{text}");
        let levels: Vec<Level> = rev.iter().map(|o| o.1).collect();
        // Unnormalised 1, 2, 3, 4 → p = 0.1, 0.2, 0.3, 0.4; D (high1) chosen; high = C + D = 0.7.
        let (best, p, high) = read_choice(&[1.0, 2.0, 3.0, 4.0], &levels);
        assert_eq!(best, 3);
        assert!((p[0] - 0.1).abs() < 1e-12 && (high - 0.7).abs() < 1e-12);
    }
}
