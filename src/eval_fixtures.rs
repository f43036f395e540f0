//! Scoring replayed fixtures against their sidecar expectations: routing
//! accuracy, out-of-scope rejection, agitation precision/recall, word error
//! rate and decision latency. Used by `ivr eval` and by the tests.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::brain::asr::Language;
use crate::brain::text;
use crate::runtime::replay::ReplayReport;
use crate::session::{HUMAN_AGENT, RouteKind, SpeculationStats};

/// A fixture's sidecar (`<id>.json` next to `<id>.wav`).
#[derive(Debug, Clone, Deserialize)]
pub struct Fixture {
    pub id: String,
    pub language: Language,
    /// Expected final intent; `None` for an out-of-scope request.
    pub intent: Option<String>,
    pub agitated: bool,
    /// What the caller said, one entry per utterance (reference transcript).
    pub utterances: Vec<String>,
    #[serde(skip)]
    pub wav: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read fixtures in {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("bad sidecar {path}: {source}")]
    Sidecar {
        path: String,
        source: serde_json::Error,
    },
    #[error("sidecar {path} has no WAV next to it")]
    MissingWav { path: String },
}

/// Every fixture in `dir`, sorted by id.
pub fn load_fixtures(dir: &Path) -> Result<Vec<Fixture>, FixtureError> {
    let io = |source| FixtureError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(io)?;
        let mut f: Fixture =
            serde_json::from_slice(&bytes).map_err(|source| FixtureError::Sidecar {
                path: path.display().to_string(),
                source,
            })?;
        f.wav = path.with_extension("wav");
        if !f.wav.exists() {
            return Err(FixtureError::MissingWav {
                path: path.display().to_string(),
            });
        }
        out.push(f);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// How one fixture's replay compares with its sidecar.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub id: String,
    pub language: Language,
    pub expected_intent: Option<String>,
    pub got_intent: Option<String>,
    pub route: RouteKind,
    pub routed_correctly: bool,
    pub expected_agitated: bool,
    pub got_agitated: bool,
    /// Word (English) or character (Mandarin) errors and reference length.
    pub errors: usize,
    pub reference_len: usize,
    pub decision_ms: Vec<f64>,
    /// End of the caller's speech to each decision.
    pub speech_end_ms: Vec<f64>,
    pub speculation: SpeculationStats,
    pub hypothesis: String,
}

pub fn score(f: &Fixture, r: &ReplayReport) -> Outcome {
    let d = &r.decision;
    let routed_correctly = match f.intent.as_deref() {
        // Out of scope: the engine must not guess.
        None => d.intent.is_none() && d.route.kind != RouteKind::SelfService,
        // A request for a person must end with a person.
        Some(HUMAN_AGENT) => d.route.kind == RouteKind::Queue,
        Some(want) => d.intent.as_deref() == Some(want),
    };
    let hypothesis = r
        .utterances
        .iter()
        .map(|u| u.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let reference = f.utterances.join(" ");
    let (errors, reference_len) = error_count(&reference, &hypothesis, f.language);
    Outcome {
        id: f.id.clone(),
        language: f.language,
        expected_intent: f.intent.clone(),
        got_intent: d.intent.clone(),
        route: d.route.kind,
        routed_correctly,
        expected_agitated: f.agitated,
        got_agitated: d.agitated,
        errors,
        reference_len,
        decision_ms: r.decision_ms.clone(),
        speech_end_ms: r.speech_end_ms.clone(),
        speculation: r.speculation,
        hypothesis,
    }
}

/// Edit distance over words (English) or characters (Mandarin), after
/// normalising case and punctuation.
pub fn error_count(reference: &str, hypothesis: &str, language: Language) -> (usize, usize) {
    let tokens = |s: &str| -> Vec<String> {
        match language {
            Language::En => text::words(s),
            Language::Zh => text::normalize(s)
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(String::from)
                .collect(),
        }
    };
    let r = tokens(reference);
    let h = tokens(hypothesis);
    (edit_distance(&r, &h), r.len())
}

fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(x != y);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Aggregate figures over a set of outcomes.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub fixtures: usize,
    pub routing_accuracy: f64,
    pub in_scope_accuracy: f64,
    pub out_of_scope_rejection: f64,
    pub person_requests_reaching_person: f64,
    pub agitation_precision: f64,
    pub agitation_recall: f64,
    pub error_rate: f64,
    /// From the endpoint to the decision.
    pub decision_ms_median: f64,
    pub decision_ms_p95: f64,
    /// From the end of the caller's speech to the decision.
    pub speech_end_ms_median: f64,
    pub speech_end_ms_p95: f64,
    /// Early recognition over all calls.
    pub speculation: SpeculationStats,
}

pub fn summarize(outcomes: &[Outcome]) -> Summary {
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            1.0
        } else {
            num as f64 / den as f64
        }
    };
    let count = |pred: &dyn Fn(&Outcome) -> bool| outcomes.iter().filter(|o| pred(o)).count();
    let in_scope = count(&|o| o.expected_intent.is_some());
    let oos = outcomes.len() - in_scope;
    let person = count(&|o| o.expected_intent.as_deref() == Some(HUMAN_AGENT));
    let tp = count(&|o| o.expected_agitated && o.got_agitated);
    let flagged = count(&|o| o.got_agitated);
    let agitated = count(&|o| o.expected_agitated);
    let errors: usize = outcomes.iter().map(|o| o.errors).sum();
    let words: usize = outcomes.iter().map(|o| o.reference_len).sum();
    let sorted = |of: &dyn Fn(&Outcome) -> &[f64]| {
        let mut ms: Vec<f64> = outcomes
            .iter()
            .flat_map(|o| of(o).iter().copied())
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let ms = sorted(&|o| &o.decision_ms);
    let from_speech_end = sorted(&|o| &o.speech_end_ms);
    let speculation =
        outcomes
            .iter()
            .fold(SpeculationStats::default(), |sum, o| SpeculationStats {
                asked: sum.asked + o.speculation.asked,
                used: sum.used + o.speculation.used,
                wasted: sum.wasted + o.speculation.wasted,
            });
    Summary {
        fixtures: outcomes.len(),
        routing_accuracy: ratio(count(&|o| o.routed_correctly), outcomes.len()),
        in_scope_accuracy: ratio(
            count(&|o| o.expected_intent.is_some() && o.routed_correctly),
            in_scope,
        ),
        out_of_scope_rejection: ratio(
            count(&|o| o.expected_intent.is_none() && o.routed_correctly),
            oos,
        ),
        person_requests_reaching_person: ratio(
            count(&|o| {
                o.expected_intent.as_deref() == Some(HUMAN_AGENT) && o.route == RouteKind::Queue
            }),
            person,
        ),
        agitation_precision: ratio(tp, flagged),
        agitation_recall: ratio(tp, agitated),
        error_rate: ratio(errors, words),
        decision_ms_median: percentile(&ms, 0.5),
        decision_ms_p95: percentile(&ms, 0.95),
        speech_end_ms_median: percentile(&from_speech_end, 0.5),
        speech_end_ms_p95: percentile(&from_speech_end, 0.95),
        speculation,
    }
}

/// Nearest-rank percentile of sorted values; 0 for none.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_error_counts_substitutions_insertions_deletions() {
        let (e, n) = error_count(
            "I want to pay my bill",
            "i want pay my build now",
            Language::En,
        );
        assert_eq!(n, 6);
        assert_eq!(e, 3);
    }

    #[test]
    fn percentile_uses_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 0.5), 2.0);
        assert_eq!(percentile(&v, 0.95), 4.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
