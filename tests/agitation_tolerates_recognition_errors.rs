//! Angry phrases still count when a small recogniser on phone audio mishears
//! one word of them (an unstressed "of" as "on", "sick" as "fick"), while
//! calm sentences that merely look alike stay calm.

use ivr::brain::agitation::{Agitation, AgitationLevel, AgitationTracker};
use ivr::media::prosody::ProsodyFeatures;

/// An ordinary calm male voice on a phone line: no voice evidence at all.
fn calm_voice() -> ProsodyFeatures {
    ProsodyFeatures {
        duration_s: 3.0,
        pitch_median_hz: Some(110.0),
        pitch_range_st: 4.0,
        loudness_dbfs: -25.0,
        syllable_rate: 4.4,
        voiced_ratio: 0.5,
    }
}

fn first_utterance(text: &str) -> Agitation {
    AgitationTracker::default().score(text, &calm_voice(), None)
}

#[test]
fn misheard_anger_scores_like_the_words_that_were_said() {
    let pairs = [
        ("honestly I am sick of it", "honestly I am sick on it"),
        ("I'm so sick of waiting", "I'm so fick of waiting"),
        ("this is ridiculous", "this is rediculous"),
        ("your staff are incompetent", "your staff are incompetant"),
        ("I'm done with you people", "I'm done with the people"),
        ("it has been a waste of time", "it has been a waste if time"),
    ];
    for (said, heard) in pairs {
        let clean = first_utterance(said);
        let misheard = first_utterance(heard);
        assert!(clean.score > 0.3, "{said}: {clean:?}");
        assert_eq!(misheard.score, clean.score, "{heard}: {misheard:?}");
        assert!(
            misheard.reasons[0].starts_with("angry words"),
            "{heard}: {misheard:?}"
        );
    }
}

#[test]
fn look_alike_calm_sentences_stay_calm() {
    for text in [
        "I'm curious why my bill went up",
        "how many lines are on my plan",
        "I'm terribly sorry, I didn't catch that",
        "I was sick on holiday and missed a payment",
        "I already told her about the new address",
        "is there a sack of mail for me at the store",
        "tell me a joke",
    ] {
        let a = first_utterance(text);
        assert_eq!(a.level, AgitationLevel::Calm, "{text}: {a:?}");
        assert!(a.reasons.is_empty(), "{text}: {a:?}");
    }
}
