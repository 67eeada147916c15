//! Markdown tables: min / median / max per series, and the ratio of medians
//! against the item's goal.

use crate::load::Stats;

/// One measured series: a label, what it measures, and one value per round.
pub struct Series {
    pub label: String,
    pub what: String,
    pub tps: Vec<f64>,
    pub p50_us: Vec<f64>,
    pub cpu_us: Vec<f64>,
}

impl Series {
    pub fn new(label: &str, what: &str) -> Self {
        Series {
            label: label.to_owned(),
            what: what.to_owned(),
            tps: Vec::new(),
            p50_us: Vec::new(),
            cpu_us: Vec::new(),
        }
    }

    pub fn median_tps(&self) -> Option<f64> {
        Stats::of(&self.tps).map(|s| s.median)
    }

    pub fn median_p50(&self) -> Option<f64> {
        Stats::of(&self.p50_us).map(|s| s.median)
    }
}

/// How a ratio is judged.
#[derive(Clone, Copy)]
pub enum Goal {
    AtLeast(f64),
    AtMost(f64),
    /// No goal was set: a figure to track.
    Track,
}

impl Goal {
    /// The ratio as printed: two decimals, or, next to the goal, four
    /// rounded towards the failing side, so that a miss never prints as the
    /// goal itself ("0.95 (goal >= 0.95: not met)").
    fn show(self, ratio: f64) -> String {
        match self {
            Goal::AtLeast(g) if (ratio - g).abs() < 0.005 => {
                format!("{:.4}", (ratio * 1e4).floor() / 1e4)
            }
            Goal::AtMost(g) if (ratio - g).abs() < 0.005 => {
                format!("{:.4}", (ratio * 1e4).ceil() / 1e4)
            }
            _ => format!("{ratio:.2}"),
        }
    }

    fn judge(self, ratio: f64) -> String {
        match self {
            Goal::AtLeast(g) if ratio >= g => format!(">= {g}: **met**"),
            Goal::AtLeast(g) => format!(">= {g}: **not met**"),
            Goal::AtMost(g) if ratio <= g => format!("<= {g}: **met**"),
            Goal::AtMost(g) => format!("<= {g}: **not met**"),
            Goal::Track => "no goal set: a figure to track".to_owned(),
        }
    }
}

/// A ratio line: what is divided by what, its value, and the verdict.
pub struct Ratio {
    pub text: String,
    pub value: Option<f64>,
    pub goal: Goal,
}

pub fn ratio(text: &str, numerator: Option<f64>, denominator: Option<f64>, goal: Goal) -> Ratio {
    let value = match (numerator, denominator) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d),
        _ => None,
    };
    Ratio {
        text: text.to_owned(),
        value,
        goal,
    }
}

fn fmt_stats(values: &[f64], decimals: usize) -> String {
    match Stats::of(values) {
        Some(s) => format!(
            "{:.d$} | {:.d$} | {:.d$}",
            s.min,
            s.median,
            s.max,
            d = decimals
        ),
        None => "- | - | -".to_owned(),
    }
}

/// Render one item's table (with a latency column group when any series has one).
pub fn table(
    title: &str,
    series: &[&Series],
    unit: &str,
    ratios: &[Ratio],
    notes: &[String],
) -> String {
    let with_latency = series.iter().any(|s| !s.p50_us.is_empty());
    let with_cpu = series.iter().any(|s| !s.cpu_us.is_empty());
    let mut out =
        format!("### {title}\n\n| series | measures | min {unit} | median {unit} | max {unit} |");
    let mut rule = String::from("|---|---|---:|---:|---:|");
    if with_latency {
        out.push_str(" min p50 µs | median p50 µs | max p50 µs |");
        rule.push_str("---:|---:|---:|");
    }
    if with_cpu {
        out.push_str(" load generator CPU µs/op (median) |");
        rule.push_str("---:|");
    }
    out.push_str(&format!("\n{rule}\n"));
    for s in series {
        out.push_str(&format!(
            "| {} | {} | {}",
            s.label,
            s.what,
            fmt_stats(&s.tps, 0)
        ));
        if with_latency {
            out.push_str(&format!(" | {}", fmt_stats(&s.p50_us, 0)));
        }
        if with_cpu {
            match Stats::of(&s.cpu_us) {
                Some(cpu) => out.push_str(&format!(" | {:.1}", cpu.median)),
                None => out.push_str(" | -"),
            }
        }
        out.push_str(" |\n");
    }
    out.push('\n');
    for r in ratios {
        match r.value {
            Some(v) => out.push_str(&format!(
                "- {} = **{}** (goal {})\n",
                r.text,
                r.goal.show(v),
                r.goal.judge(v)
            )),
            None => out.push_str(&format!("- {} = n/a (not measured)\n", r.text)),
        }
    }
    for n in notes {
        out.push_str(&format!("- {n}\n"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_next_to_its_goal_shows_which_side_it_is_on() {
        assert_eq!(Goal::AtLeast(0.95).show(0.9496), "0.9496");
        assert_eq!(Goal::AtMost(1.1).show(1.1012), "1.1012");
        assert_eq!(Goal::AtLeast(0.95).show(0.93), "0.93");
        assert_eq!(Goal::AtLeast(0.95).show(0.94999), "0.9499");
        assert_eq!(Goal::AtMost(1.1).show(1.10001), "1.1001");
        assert_eq!(Goal::Track.show(0.9496), "0.95");
    }
}
