//! `report.md`: the tables behind the figures. Each number is a link to its `samples.jsonl`, so
//! any rate can be traced to the texts and judge replies it counts.

use std::fmt::Write;

use super::collect::{Collected, Metric};
use super::plot::format_value;
use super::{metric_of, suite_metric, Figure, FigureKind};

/// `12.5% [4.3–31.0] (3/24)` for rates, `62.50 [55.00–70.00]` for scores, `–` when missing.
pub fn format_metric(m: &Metric) -> String {
    let Some(v) = m.value else { return "–".into() };
    let pct = m.is_rate();
    let mut s = format_value(v, pct);
    if let (Some(lo), Some(hi)) = (m.lo, m.hi) {
        let (lo, hi) = (format_value(lo, pct), format_value(hi, pct));
        write!(s, " [{}–{}]", lo.trim_end_matches('%'), hi).unwrap();
    }
    if let (Some(k), Some(n)) = (m.k, m.n) {
        write!(s, " ({}/{})", k, n).unwrap();
    }
    s
}

fn link(text: &str, target: &std::path::Path) -> String {
    format!("[{text}]({})", target.display().to_string().replace(' ', "%20"))
}

pub fn render(c: &Collected, figures: &[Figure]) -> String {
    let e = &c.resolved.experiment;
    let mut md = String::new();
    writeln!(md, "# cotlab report: {}\n", e.name).unwrap();
    let done = c.status.iter().filter(|s| s.as_ref().is_some_and(|s| s.state == "done")).count();
    let failed: Vec<_> = c.cells().iter().zip(&c.status).filter(|(_, s)| s.as_ref().is_some_and(|s| s.state == "failed")).collect();
    let not_run = c.status.len() - done - failed.len();
    writeln!(
        md,
        "{} cells ({} models × {} conditions × {} seeds): **{done} done, {} failed, {not_run} not run**. \
         Suites: {}; modes: {}. Rates are shown with Wilson 95% intervals and counts (k/n); \
         every number links to the samples it counts.\n",
        c.cells().len(),
        e.models.len(),
        c.conditions().len(),
        e.seeds.len(),
        failed.len(),
        c.suites().join(", "),
        c.modes().join(", "),
    )
    .unwrap();
    if e.models.iter().any(|m| m.random.is_some()) {
        writeln!(
            md,
            "> **Randomly initialised models.** This run shows the machinery of the study end to end; \
             a random model has no behaviour to shape, so its numbers are not findings.\n"
        )
        .unwrap();
    }
    if !failed.is_empty() {
        writeln!(md, "## Failed cells\n\n| cell | error |\n|---|---|").unwrap();
        for (cell, st) in &failed {
            let err = st.as_ref().and_then(|s| s.error.clone()).unwrap_or_default().replace('|', "\\|").replace('\n', " ");
            writeln!(md, "| {} | {} |", link(&cell.name, &std::path::Path::new("cells").join(&cell.name).join("log.txt")), err).unwrap();
        }
        writeln!(md).unwrap();
    }

    let (models, conditions) = (c.models(), c.conditions());
    for suite in c.suites() {
        writeln!(md, "## {suite}\n").unwrap();
        let Some(metric) = suite_metric(c, &suite) else {
            writeln!(md, "No finished evaluation yet.\n").unwrap();
            continue;
        };
        for mode in c.modes() {
            writeln!(md, "### {metric} — {mode}\n").unwrap();
            for f in figures.iter().filter(|f| f.suite == suite) {
                if let FigureKind::Heatmap { mode: m, .. } = &f.kind {
                    if *m == mode {
                        writeln!(md, "![{suite} {metric} {mode}]({}.svg)\n", f.stem.display()).unwrap();
                    }
                }
            }
            writeln!(md, "| model | {} |", conditions.join(" | ")).unwrap();
            writeln!(md, "|---|{}", "---|".repeat(conditions.len())).unwrap();
            for model in &models {
                let mut row = format!("| {model} |");
                for cond in &conditions {
                    let cell = c.cells().iter().find(|x| &x.model == model && &x.condition.label() == cond);
                    let eval = cell.and_then(|cell| c.find(cell.index, &suite, &mode));
                    let text = match (eval, metric_of(c, &suite, model, cond, &mode, &metric)) {
                        (Some(ev), Some(m)) => link(&format_metric(m), &ev.samples),
                        _ => "–".into(),
                    };
                    write!(row, " {text} |").unwrap();
                }
                writeln!(md, "{row}").unwrap();
            }
            writeln!(md).unwrap();
        }
        let mode_figs: Vec<_> = figures.iter().filter(|f| f.suite == suite && matches!(f.kind, FigureKind::Modes { .. })).collect();
        if !mode_figs.is_empty() {
            writeln!(md, "### {}\n", c.modes().join(" vs ")).unwrap();
            for f in mode_figs {
                writeln!(md, "![{suite} modes]({}.svg)\n", f.stem.display()).unwrap();
            }
        }
        for f in figures.iter().filter(|f| f.suite == suite) {
            if let FigureKind::Breakdown { model, mode, .. } = &f.kind {
                writeln!(md, "### Per item — {model}, {mode}\n\n![{suite} per item]({}.svg)\n", f.stem.display()).unwrap();
            }
        }

        // Every metric of every evaluation, with sample counts.
        let mut names: Vec<String> = Vec::new();
        for ev in c.evaluations.iter().filter(|e| e.suite == suite) {
            if let Some(s) = &ev.summary {
                for k in s.metrics.keys() {
                    if !names.contains(k) {
                        names.push(k.clone());
                    }
                }
            }
        }
        writeln!(md, "### All {suite} metrics\n").unwrap();
        writeln!(md, "| cell | mode | {} | samples | unscored |", names.join(" | ")).unwrap();
        writeln!(md, "|---|---|{}---|---|", "---|".repeat(names.len())).unwrap();
        for ev in c.evaluations.iter().filter(|e| e.suite == suite) {
            let cell = &c.cells()[ev.cell];
            let Some(s) = &ev.summary else {
                writeln!(md, "| {} | {} | {}not finished | | |", cell.name, ev.mode, "| ".repeat(names.len().saturating_sub(1))).unwrap();
                continue;
            };
            let partial = if ev.recomputed { " (from samples so far)" } else { "" };
            let mut row = format!("| {} | {}{partial} |", cell.name, ev.mode);
            for n in &names {
                let text = s.metrics.get(n).map(|m| link(&format_metric(m), &ev.samples)).unwrap_or_else(|| "–".into());
                write!(row, " {text} |").unwrap();
            }
            let reasons: Vec<String> = s.counts.unscored_reasons.iter().map(|(r, n)| format!("{n}× {r}")).collect();
            let unscored = if reasons.is_empty() { s.counts.unscored.to_string() } else { format!("{} ({})", s.counts.unscored, reasons.join("; ")) };
            writeln!(row, " {} | {} |", s.counts.samples, unscored.replace('|', "\\|")).map(|_| ()).unwrap();
            md.push_str(&row);
        }
        writeln!(md).unwrap();
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_format_with_interval_and_counts() {
        let m = Metric { value: Some(0.125), lo: Some(0.0434), hi: Some(0.31), k: Some(3.0), n: Some(24.0) };
        assert_eq!(format_metric(&m), "12.5% [4.3–31.0%] (3/24)");
        let s = Metric { value: Some(62.5), lo: Some(55.0), hi: Some(70.0), k: None, n: None };
        assert_eq!(format_metric(&s), "62.50 [55.00–70.00]");
        assert_eq!(format_metric(&Metric::default()), "–");
    }
}
