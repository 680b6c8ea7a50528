//! Learning-rate schedules with linear warm-up, as transformers' `get_scheduler` computes them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    Cosine,
    Linear,
    Constant,
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cosine" => Ok(Self::Cosine),
            "linear" => Ok(Self::Linear),
            "constant" => Ok(Self::Constant),
            _ => Err(format!("unknown schedule {s:?}: use cosine, linear or constant")),
        }
    }
}

/// Warm-up steps for a ratio of `total` (transformers: `ceil(ratio · total)`).
pub fn warmup_steps(ratio: f64, total: usize) -> usize {
    (ratio * total as f64).ceil() as usize
}

/// Learning rate of optimizer update number `step` (0-based) out of `total`.
pub fn lr_at(schedule: Schedule, base: f64, step: usize, total: usize, warmup: usize) -> f64 {
    if step < warmup {
        return base * step as f64 / warmup.max(1) as f64;
    }
    let factor = match schedule {
        Schedule::Constant => 1.0,
        Schedule::Linear => ((total - step.min(total)) as f64 / (total - warmup).max(1) as f64).max(0.0),
        Schedule::Cosine => {
            let progress = (step - warmup) as f64 / (total - warmup).max(1) as f64;
            (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0)
        }
    };
    base * factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_transformers_schedules() {
        // get_cosine_schedule_with_warmup(opt, 2, 10): lambdas 0, .5, 1, then cosine to 0.
        let lrs: Vec<f64> = (0..10).map(|s| lr_at(Schedule::Cosine, 1.0, s, 10, 2)).collect();
        assert_eq!(&lrs[..3], &[0.0, 0.5, 1.0]);
        assert!((lrs[6] - 0.5).abs() < 1e-12); // halfway through the decay
        assert!((lr_at(Schedule::Linear, 1.0, 6, 10, 2) - 0.5).abs() < 1e-12);
        assert_eq!(lr_at(Schedule::Constant, 2.0, 5, 10, 0), 2.0);
        assert_eq!(warmup_steps(0.03, 100), 3);
    }
}
