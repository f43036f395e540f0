//! An agitated caller needs both the words and the voice to score high; a
//! calm caller who mentions a problem, or says they are not upset, stays calm.

use ivr::brain::agitation::{Agitation, AgitationLevel, AgitationTracker};
use ivr::media::prosody::ProsodyFeatures;

fn voice(loudness_dbfs: f32, pitch_hz: f32, syllable_rate: f32) -> ProsodyFeatures {
    ProsodyFeatures {
        duration_s: 2.5,
        pitch_median_hz: Some(pitch_hz),
        pitch_range_st: 5.0,
        loudness_dbfs,
        syllable_rate,
        voiced_ratio: 0.55,
    }
}

fn calm_voice() -> ProsodyFeatures {
    voice(-25.0, 180.0, 4.3)
}

fn raised_voice() -> ProsodyFeatures {
    voice(-17.0, 260.0, 5.9)
}

/// A caller who first says something ordinary, then `text` in `prosody`.
fn second_utterance(text: &str, prosody: &ProsodyFeatures, intent: Option<&str>) -> Agitation {
    let mut tracker = AgitationTracker::default();
    tracker.score("hello, I'm calling about my account", &calm_voice(), None);
    tracker.score(text, prosody, intent)
}

#[test]
fn angry_words_in_a_raised_voice_score_high() {
    let a = second_utterance(
        "this is absolutely unacceptable, I have been charged twice and I'm sick of it",
        &raised_voice(),
        Some("bill_dispute"),
    );
    assert_eq!(a.level, AgitationLevel::High, "{a:?}");
    assert!(a.score > 0.8, "{a:?}");
    assert!(a.reasons.iter().any(|r| r.starts_with("angry words")));
    assert!(a.reasons.iter().any(|r| r.starts_with("raised voice")));
}

#[test]
fn calm_mention_of_a_problem_stays_calm() {
    for text in [
        "I'd like to dispute a charge on my last invoice",
        "I want to make a complaint about the engineer's visit",
        "there seems to be a problem with my connection since Monday",
        "no problem, I'm not angry, I just want to understand the fee",
    ] {
        let a = second_utterance(text, &calm_voice(), None);
        assert_eq!(a.level, AgitationLevel::Calm, "{text}: {a:?}");
        assert!(a.score < 0.15, "{text}: {a:?}");
    }
}

#[test]
fn words_or_voice_alone_stay_below_words_and_voice_together() {
    let text = "this is ridiculous";
    let words_only = second_utterance(text, &calm_voice(), None);
    let voice_only = second_utterance("I'm calling about my account", &raised_voice(), None);
    let both = second_utterance(text, &raised_voice(), None);
    assert!(words_only.level != AgitationLevel::High, "{words_only:?}");
    assert!(voice_only.level != AgitationLevel::Calm, "{voice_only:?}");
    assert!(both.score > words_only.score && both.score > voice_only.score);
    assert_eq!(both.level, AgitationLevel::High, "{both:?}");
}

#[test]
fn repeated_demands_for_a_person_escalate() {
    let mut tracker = AgitationTracker::default();
    let first = tracker.score("can I speak to someone", &calm_voice(), Some("human_agent"));
    let second = tracker.score("operator", &calm_voice(), Some("human_agent"));
    let third = tracker.score(
        "I said get me a human, a human",
        &voice(-19.0, 230.0, 5.4),
        Some("human_agent"),
    );
    assert_eq!(first.level, AgitationLevel::Calm, "{first:?}");
    assert!(second.score > first.score, "{second:?}");
    assert!(
        second
            .reasons
            .iter()
            .any(|r| r == "asked for a person 2 times")
    );
    assert_eq!(third.level, AgitationLevel::High, "{third:?}");
    assert!(
        third
            .reasons
            .iter()
            .any(|r| r == "asked for a person 3 times")
    );
}

#[test]
fn repeating_the_same_request_counts() {
    let mut tracker = AgitationTracker::default();
    let first = tracker.score("I need to reset my voicemail pin", &calm_voice(), None);
    let again = tracker.score("reset my voicemail pin", &calm_voice(), None);
    assert!(again.score > first.score, "{again:?}");
    assert!(
        again
            .reasons
            .iter()
            .any(|r| r.starts_with("repeated the same request"))
    );
}

#[test]
fn mandarin_anger_in_a_raised_voice_scores_high() {
    let mut tracker = AgitationTracker::default();
    tracker.score("你好，我想问一下我的套餐", &calm_voice(), None);
    let a = tracker.score("你们这是什么破网络，我真是受够了", &raised_voice(), None);
    assert_eq!(a.level, AgitationLevel::High, "{a:?}");

    let mut tracker = AgitationTracker::default();
    tracker.score("你好，我想问一下我的套餐", &calm_voice(), None);
    let calm = tracker.score("我不生气，就是想问问这个费用", &calm_voice(), None);
    assert_eq!(calm.level, AgitationLevel::Calm, "{calm:?}");
}

#[test]
fn scores_stay_in_range() {
    let mut tracker = AgitationTracker::default();
    let extreme = voice(0.0, 600.0, 12.0);
    for _ in 0..4 {
        let a = tracker.score(
            "damn this is the worst, ridiculous, unacceptable, I'm furious, get me a manager now",
            &extreme,
            Some("human_agent"),
        );
        assert!((0.0..=1.0).contains(&a.score), "{a:?}");
    }
}
