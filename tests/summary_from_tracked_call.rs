//! A call scored turn by turn hands the agent a summary carrying the caller's
//! own words and the most agitated moment, in one short readable sentence.

use ivr::brain::agitation::AgitationTracker;
use ivr::brain::summary::{SummaryInput, Turn, summarize};
use ivr::media::prosody::ProsodyFeatures;
use serde_json::json;

fn voice(loudness_dbfs: f32, pitch_hz: f32, syllable_rate: f32) -> ProsodyFeatures {
    ProsodyFeatures {
        duration_s: 2.2,
        pitch_median_hz: Some(pitch_hz),
        pitch_range_st: 5.0,
        loudness_dbfs,
        syllable_rate,
        voiced_ratio: 0.5,
    }
}

#[test]
fn escalating_caller_is_summarized_at_their_peak() {
    let call = [
        (
            "hi, there's a charge on my statement I don't understand",
            Some("bill_dispute"),
            voice(-26.0, 140.0, 4.2),
        ),
        (
            "the forty dollar one, I never signed up for anything",
            Some("bill_dispute"),
            voice(-24.0, 150.0, 4.6),
        ),
        (
            "this is outrageous, just put me through to a person",
            Some("human_agent"),
            voice(-17.0, 190.0, 5.8),
        ),
        ("yes", None, voice(-22.0, 150.0, 4.0)),
    ];
    let mut tracker = AgitationTracker::default();
    let mut turns = Vec::new();
    for (text, intent, prosody) in &call {
        let a = tracker.score(text, prosody, *intent);
        turns.push(Turn {
            text: text.to_string(),
            intent: intent.map(str::to_string),
            confidence: 0.8,
            agitation: a.score,
        });
    }
    let peak = tracker.peak().cloned().unwrap_or_default();
    let last = turns.last().map_or(0.0, |t| t.agitation);
    assert!(peak.score > last, "the peak outlasts a calmer last word");

    let summary = summarize(SummaryInput {
        turns,
        intent: Some("bill_dispute".into()),
        confidence: 0.8,
        slots: json!({ "amount": "40 dollars" }),
        queue: Some("billing".into()),
        attempts: 2,
        agitation: peak.clone(),
        language: "en".into(),
        unheard: 0,
    });

    assert_eq!(summary.agitation, peak.score);
    assert_eq!(summary.agitation_level, peak.level.as_str());
    assert_eq!(summary.agitation_reasons, peak.reasons);
    assert_eq!(summary.utterances.len(), call.len());
    assert_eq!(summary.utterances[2], call[2].0);
    let sentence = &summary.sentence;
    assert!(sentence.contains("disputing a bill charge"), "{sentence}");
    assert!(sentence.contains("amount 40 dollars"), "{sentence}");
    assert!(sentence.contains("2 attempts"), "{sentence}");
    assert!(sentence.split_whitespace().count() <= 25, "{sentence}");
    assert!(!sentence.contains(['\r', '\n']), "{sentence}");
}
