//! The handoff summary an agent sees when a call reaches them: what the
//! caller wants, what they have said, how upset they are, and one plain
//! English sentence that can be read in two seconds and sent in a header.

use serde::Serialize;
use serde_json::Value;

use crate::brain::agitation::{Agitation, AgitationLevel};
use crate::brain::text::one_line;

/// The longest sentence we aim for, in words; detail is dropped beyond it.
const MAX_WORDS: usize = 25;
/// Slot values shown in the sentence, at most.
const MAX_SLOTS: usize = 2;
/// Longest slot value kept in the sentence, in characters.
const MAX_SLOT_CHARS: usize = 24;
/// Below this router confidence the intent is reported as "possibly".
const SURE_CONFIDENCE: f32 = 0.5;

/// One recognised utterance of the call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Turn {
    pub text: String,
    pub intent: Option<String>,
    pub confidence: f32,
    pub agitation: f32,
}

/// Everything the summary is made from.
#[derive(Debug, Clone, Default)]
pub struct SummaryInput {
    pub turns: Vec<Turn>,
    /// The intent the call was routed on, and the router's confidence in it.
    pub intent: Option<String>,
    pub confidence: f32,
    /// Slot values (an object of name to value), passed through as is.
    pub slots: Value,
    pub queue: Option<String>,
    /// How many times the caller had to state their request.
    pub attempts: u32,
    /// The verdict to report, usually the last or the most agitated turn's.
    pub agitation: Agitation,
    /// The caller's language code ("en", "zh", ...).
    pub language: String,
    /// Utterances the recogniser could not transcribe (it was overloaded):
    /// the agent has to ask for those.
    pub unheard: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandoffSummary {
    pub intent: Option<String>,
    pub confidence: f32,
    pub slots: Value,
    pub agitation: f32,
    pub agitation_level: String,
    pub agitation_reasons: Vec<String>,
    pub attempts: u32,
    /// The caller's own words, one entry per utterance.
    pub utterances: Vec<String>,
    /// One English sentence, no line breaks, at most about 25 words.
    pub sentence: String,
    pub queue: Option<String>,
}

pub fn summarize(input: SummaryInput) -> HandoffSummary {
    let sentence = sentence(&input);
    let SummaryInput {
        turns,
        intent,
        confidence,
        slots,
        queue,
        attempts,
        agitation,
        language: _,
        unheard: _,
    } = input;
    HandoffSummary {
        intent,
        confidence,
        slots,
        agitation: agitation.score,
        agitation_level: agitation.level.as_str().to_string(),
        agitation_reasons: agitation.reasons,
        attempts,
        utterances: turns
            .into_iter()
            .map(|t| t.text.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        sentence,
        queue,
    }
}

/// "Agitated caller (raised voice, asked for a person twice) disputing a
/// bill charge; account 4521 8890; 2 attempts."
fn sentence(input: &SummaryInput) -> String {
    let mood = match input.agitation.level {
        AgitationLevel::Calm => "Calm",
        AgitationLevel::Elevated => "Somewhat upset",
        AgitationLevel::High => "Agitated",
    };
    let mut who = mood.to_string();
    if let Some(lang) = language_name(&input.language) {
        who.push(' ');
        who.push_str(lang);
    }
    who.push_str(" caller");

    let cues = if input.agitation.level == AgitationLevel::Calm {
        Vec::new()
    } else {
        input
            .agitation
            .reasons
            .iter()
            .filter_map(|r| cue(r))
            .take(2)
            .collect()
    };
    let spoke = input.turns.iter().any(|t| !t.text.trim().is_empty());
    let what = match input.intent.as_deref() {
        Some(name) if input.confidence < SURE_CONFIDENCE => {
            format!("possibly {}", describe_intent(name))
        }
        Some(name) => describe_intent(name),
        None if spoke => "with a request we could not place".to_string(),
        None if input.unheard > 0 => "whose request was not transcribed".to_string(),
        None => "who has not said anything yet".to_string(),
    };
    let slots = slot_phrases(&input.slots);
    let attempts = (input.attempts >= 2).then(|| format!("{} attempts", input.attempts));
    // Said once already when nothing else is known ("whose request was not transcribed").
    let unheard = match input.unheard {
        0 => None,
        _ if input.intent.is_none() && !spoke => None,
        1 => Some("last words not transcribed".to_string()),
        n => Some(format!("{n} utterances not transcribed")),
    };

    // Drop detail, least useful first, until the sentence is short enough.
    let build = |cues: &[String], slots: &[String]| {
        let mut s = who.clone();
        if !cues.is_empty() {
            s.push_str(&format!(" ({})", cues.join(", ")));
        }
        s.push(' ');
        s.push_str(&what);
        for part in slots
            .iter()
            .chain(attempts.as_ref())
            .chain(unheard.as_ref())
        {
            s.push_str("; ");
            s.push_str(part);
        }
        s.push('.');
        one_line(&s)
    };
    let mut text = build(&cues, &slots);
    let mut slots = slots;
    let mut cues = cues;
    while text.split_whitespace().count() > MAX_WORDS && (!slots.is_empty() || !cues.is_empty()) {
        if !slots.is_empty() {
            slots.pop();
        } else {
            cues.pop();
        }
        text = build(&cues, &slots);
    }
    text
}

/// What the caller wants, as words that follow "caller".
pub fn describe_intent(name: &str) -> String {
    let known = match name {
        "check_balance" => "asking for their account balance",
        "data_usage" => "asking about their data usage",
        "pay_bill" => "wanting to pay a bill",
        "bill_dispute" => "disputing a bill charge",
        "change_plan" => "wanting to change their plan",
        "internet_outage" => "reporting an internet outage",
        "lost_phone" => "reporting a lost or stolen phone",
        "roaming" => "asking about roaming abroad",
        "cancel_service" => "wanting to cancel their service",
        "refund_status" => "asking about a refund",
        "store_hours" => "asking about store opening hours",
        "human_agent" => "asking for a person",
        "complaint" => "making a complaint",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    // Dataset intents ("lost_or_stolen_card", "exchangeRate") read well
    // enough as plain words.
    let mut words = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' || c == ':' || c.is_whitespace() {
            words.push(' ');
            prev_lower = false;
        } else {
            if c.is_uppercase() && prev_lower {
                words.push(' ');
            }
            words.extend(c.to_lowercase());
            prev_lower = c.is_lowercase();
        }
    }
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.is_empty() {
        "with an unnamed request".to_string()
    } else {
        format!("calling about {words}")
    }
}

/// A short cue from one agitation reason ("raised voice: +6 dB over ..." ->
/// "raised voice"); `None` for reasons not worth the space.
fn cue(reason: &str) -> Option<String> {
    let head = reason.split(':').next().unwrap_or(reason).trim();
    let cue = if let Some(rest) = head.strip_prefix("asked for a person ") {
        match rest {
            "2 times" => "asked for a person twice".to_string(),
            _ => format!("asked for a person {rest}"),
        }
    } else if head.starts_with("repeated the same request") {
        "repeated the same request".to_string()
    } else if head.starts_with("says they are") {
        head.to_string()
    } else if head.starts_with("kept repeating") {
        "repeating themselves".to_string()
    } else if head.starts_with("complaining in") {
        return None;
    } else if head == "higher pitch" {
        "high pitch".to_string()
    } else {
        head.to_string()
    };
    (!cue.is_empty()).then_some(cue)
}

/// "account number 4521 8890" for up to [`MAX_SLOTS`] filled slots. A slot
/// may be a bare value or an object with a `value` field.
fn slot_phrases(slots: &Value) -> Vec<String> {
    let Value::Object(map) = slots else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, v)| {
            let v = match v {
                Value::Object(inner) => inner.get("value")?,
                other => other,
            };
            let value = match v {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                _ => return None,
            };
            if value.is_empty() {
                return None;
            }
            let value: String = if value.chars().count() > MAX_SLOT_CHARS {
                let cut: String = value.chars().take(MAX_SLOT_CHARS).collect();
                format!("{}...", cut.trim_end())
            } else {
                value
            };
            let name = name.replace(['_', '-'], " ");
            Some(format!("{} {}", name.trim(), value))
        })
        .take(MAX_SLOTS)
        .collect()
}

fn language_name(code: &str) -> Option<&'static str> {
    let base = code
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match base.as_str() {
        "zh" | "cmn" => Some("Mandarin-speaking"),
        "yue" => Some("Cantonese-speaking"),
        "es" => Some("Spanish-speaking"),
        "fr" => Some("French-speaking"),
        "de" => Some("German-speaking"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn turn(text: &str, intent: Option<&str>, agitation: f32) -> Turn {
        Turn {
            text: text.to_string(),
            intent: intent.map(str::to_string),
            confidence: 0.9,
            agitation,
        }
    }

    fn agitated(reasons: &[&str]) -> Agitation {
        Agitation {
            score: 0.82,
            level: AgitationLevel::High,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn agitated_dispute_with_account_and_attempts() {
        let s = summarize(SummaryInput {
            turns: vec![
                turn("uh I have a question about a charge", None, 0.1),
                turn(
                    "you billed me twice, get me a person",
                    Some("bill_dispute"),
                    0.8,
                ),
            ],
            intent: Some("bill_dispute".into()),
            confidence: 0.88,
            slots: json!({"account": "4521 8890"}),
            queue: Some("billing".into()),
            attempts: 2,
            agitation: agitated(&[
                "raised voice: +6 dB over this caller's earlier speech",
                "asked for a person 2 times",
                "speaking fast: 5.8 syllables/s",
            ]),
            language: "en".into(),
            unheard: 0,
        });
        assert_eq!(
            s.sentence,
            "Agitated caller (raised voice, asked for a person twice) disputing a bill charge; account 4521 8890; 2 attempts."
        );
        assert_eq!(s.agitation_level, "high");
        assert_eq!(s.utterances.len(), 2);
        assert_eq!(s.queue.as_deref(), Some("billing"));
    }

    #[test]
    fn calm_caller_has_no_cues_and_no_single_attempt() {
        let s = summarize(SummaryInput {
            turns: vec![turn("will my phone work in Portugal", Some("roaming"), 0.0)],
            intent: Some("roaming".into()),
            confidence: 0.93,
            attempts: 1,
            language: "en".into(),
            ..Default::default()
        });
        assert_eq!(s.sentence, "Calm caller asking about roaming abroad.");
        assert_eq!(s.agitation_level, "calm");
    }

    #[test]
    fn every_hotline_intent_has_its_own_description() {
        let names = [
            "check_balance",
            "data_usage",
            "pay_bill",
            "bill_dispute",
            "change_plan",
            "internet_outage",
            "lost_phone",
            "roaming",
            "cancel_service",
            "refund_status",
            "store_hours",
            "human_agent",
            "complaint",
        ];
        let mut seen = std::collections::HashSet::new();
        for name in names {
            let d = describe_intent(name);
            assert!(!d.starts_with("calling about"), "{name}: {d}");
            assert!(seen.insert(d), "{name} shares a description");
        }
    }

    #[test]
    fn unknown_intents_read_as_words() {
        assert_eq!(
            describe_intent("lost_or_stolen_card"),
            "calling about lost or stolen card"
        );
        assert_eq!(
            describe_intent("exchangeRate"),
            "calling about exchange rate"
        );
        assert_eq!(describe_intent("__"), "with an unnamed request");
    }

    #[test]
    fn low_confidence_is_hedged() {
        let s = summarize(SummaryInput {
            turns: vec![turn("the thing with my bill", Some("bill_dispute"), 0.0)],
            intent: Some("bill_dispute".into()),
            confidence: 0.35,
            ..Default::default()
        });
        assert!(s.sentence.contains("possibly disputing"), "{}", s.sentence);
    }

    #[test]
    fn mandarin_caller_keeps_their_words_and_gets_an_english_sentence() {
        let s = summarize(SummaryInput {
            turns: vec![turn("转人工", Some("human_agent"), 0.0)],
            intent: Some("human_agent".into()),
            confidence: 0.95,
            language: "zh".into(),
            ..Default::default()
        });
        assert_eq!(
            s.sentence,
            "Calm Mandarin-speaking caller asking for a person."
        );
        assert_eq!(s.utterances, vec!["转人工".to_string()]);
    }

    #[test]
    fn sentence_is_one_line_and_short() {
        let long_reasons = agitated(&[
            "angry words: ridiculous, unacceptable, worst",
            "swearing: damn",
            "raised voice: +9 dB over this caller's earlier speech",
        ]);
        let s = summarize(SummaryInput {
            turns: vec![turn("line one\r\nline two", Some("complaint"), 0.9)],
            intent: Some("complaint".into()),
            confidence: 0.9,
            slots: json!({
                "street_address": "12 Long Road\r\nApartment 4, Some Very Long District Name",
                "account_number": {"value": "12345678", "confidence": 0.9},
                "reference": "ABC-778-221-XYZ"
            }),
            attempts: 3,
            agitation: long_reasons,
            language: "en".into(),
            ..Default::default()
        });
        assert!(!s.sentence.contains(['\r', '\n']), "{}", s.sentence);
        assert!(
            s.sentence.split_whitespace().count() <= MAX_WORDS,
            "{}",
            s.sentence
        );
        assert!(s.sentence.contains("3 attempts"), "{}", s.sentence);
    }

    #[test]
    fn nothing_said_yet() {
        let s = summarize(SummaryInput::default());
        assert_eq!(s.sentence, "Calm caller who has not said anything yet.");
        assert!(s.utterances.is_empty());
    }

    #[test]
    fn words_the_recogniser_missed_are_flagged() {
        let nothing = summarize(SummaryInput {
            unheard: 1,
            ..Default::default()
        });
        assert_eq!(
            nothing.sentence,
            "Calm caller whose request was not transcribed."
        );
        let after_a_request = summarize(SummaryInput {
            turns: vec![turn("I want to pay my bill", Some("pay_bill"), 0.1)],
            intent: Some("pay_bill".into()),
            confidence: 0.9,
            unheard: 2,
            ..Default::default()
        });
        assert_eq!(
            after_a_request.sentence,
            "Calm caller wanting to pay a bill; 2 utterances not transcribed."
        );
    }

    #[test]
    fn serializes_with_lowercase_level() {
        let s = summarize(SummaryInput {
            agitation: agitated(&["angry words: furious"]),
            ..Default::default()
        });
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["agitation_level"], "high");
        assert_eq!(v["agitation_reasons"][0], "angry words: furious");
    }
}
