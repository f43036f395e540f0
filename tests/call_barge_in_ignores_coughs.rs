//! The caller can cut a prompt short by speaking, but coughs, clicks and
//! line noise do not stop it; the transfer notice and the goodbye are heard
//! out whatever the caller does.

mod call_support;

use call_support::{Harness, Noise, RATE, fixture, hiss};
use ivr::call::{CallConfig, CallEvent, StopReason};

/// A line with `events` mixed into faint hiss, as long as `ms`.
fn line_with(ms: usize, events: &[(usize, Vec<f32>)]) -> Vec<i16> {
    let mut pcm: Vec<f32> = hiss(ms, 3).iter().map(|&s| f32::from(s)).collect();
    for (at_ms, sound) in events {
        let at = at_ms * RATE / 1000;
        for (n, s) in sound.iter().enumerate() {
            if let Some(x) = pcm.get_mut(at + n) {
                *x += s * 32767.0;
            }
        }
    }
    pcm.iter()
        .map(|&s| s.clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// A cough: 150 ms of low-passed noise with a sharp attack and a quick
/// decay, peaking at `peak` of full scale.
fn cough(peak: f32, seed: u64) -> Vec<f32> {
    let len = 150 * RATE / 1000;
    let mut noise = Noise::new(seed);
    let mut low = 0.0f32;
    (0..len)
        .map(|n| {
            low = 0.6 * low + 0.4 * noise.next(); // chest noise is darker than hiss
            let envelope = (1.0 - n as f32 / len as f32).powi(2);
            peak * envelope * low * 1.6
        })
        .collect()
}

fn stops(h: &Harness, key: &str) -> Vec<StopReason> {
    h.events
        .iter()
        .filter_map(|e| match e {
            CallEvent::PromptStopped { key: k, why, .. } if k == key => Some(*why),
            _ => None,
        })
        .collect()
}

#[test]
fn coughs_and_clicks_during_the_greeting_do_not_stop_it() {
    let mut h = Harness::scripted(&[]);
    h.start();
    let mut sounds = Vec::new();
    for (i, peak) in [0.05f32, 0.3, 0.9].iter().enumerate() {
        sounds.push((500 + i * 1500, cough(*peak, i as u64 + 11)));
        sounds.push((1200 + i * 1500, vec![*peak])); // a click
    }
    // Two coughs in a row, as people do.
    sounds.push((5200, cough(0.5, 21)));
    sounds.push((5450, cough(0.4, 22)));
    h.feed(&line_with(6000, &sounds));
    h.hear_greeting();
    assert!(h.barge_ins().is_empty(), "{:?}", h.barge_ins());
    assert!(stops(&h, "en:greeting").is_empty());
}

#[test]
fn line_noise_of_real_recordings_does_not_stop_the_greeting() {
    // The lead-in of noisy fixtures (before the caller speaks) is nothing
    // but the line's noise: white, pink, brown and several talkers far off.
    // Each is a call of its own with that noise on the line throughout.
    for name in [
        "en_outage_02",
        "en_balance_03",
        "en_lost_02",
        "en_balance_02",
    ] {
        let mut h = Harness::scripted(&[]);
        h.start();
        let lead = &fixture(name)[..RATE / 4];
        while !h.finished("en:greeting") && h.barge_ins().is_empty() {
            h.feed(lead);
        }
        assert!(h.barge_ins().is_empty(), "{name}: {:?}", h.events);
    }
}

#[test]
fn speech_stops_the_greeting_while_the_caller_is_still_on_the_first_words() {
    let mut h =
        Harness::scripted(&["Hi, yeah, I'd like to know how much I owe on my account right now."]);
    h.start();
    h.silence(1000);
    h.feed(&fixture("en_balance_01"));
    let barge_ins = h.barge_ins();
    assert_eq!(barge_ins.len(), 1, "{:?}", h.events);
    let CallEvent::BargeIn {
        key,
        speech_ms,
        at_ms,
    } = barge_ins[0]
    else {
        unreachable!()
    };
    assert_eq!(key, "en:greeting");
    assert!(
        *at_ms < speech_ms + 500,
        "stopped {} ms into the speech",
        at_ms - speech_ms
    );
    assert_eq!(stops(&h, "en:greeting"), [StopReason::BargeIn]);
    let greeting_frames = h.frames_of("en:greeting");
    assert!(h.wait_for(5000, |h| h.frames_of("en:answer:check_balance") > 0));
    assert_eq!(h.frames_of("en:greeting"), greeting_frames, "not resumed");
}

#[test]
fn with_barge_in_off_speech_does_not_stop_a_prompt_but_the_decision_does() {
    let config = CallConfig {
        barge_in: false,
        ..CallConfig::default()
    };
    let mut h = Harness::scripted_with(&["I want to pay my bill."], config);
    h.start();
    h.silence(500);
    h.feed(&fixture("en_pay_01"));
    assert!(h.wait_for(3000, |h| h.started().len() == 2));
    assert!(h.barge_ins().is_empty());
    assert_eq!(stops(&h, "en:greeting"), [StopReason::Decision]);
    assert_eq!(h.started()[1], "en:answer:pay_bill");
}

#[test]
fn the_transfer_notice_is_heard_out_even_if_the_caller_talks() {
    let mut h = Harness::scripted(&["Hello? Hello?"]);
    h.start();
    h.silence(500);
    h.dtmf('0');
    h.silence(100);
    h.feed(&fixture("en_agent_02"));
    assert!(h.wait_for(10_000, |h| !h.handoffs.is_empty()));
    assert!(h.finished("en:transfer"));
    assert!(stops(&h, "en:transfer").is_empty());
}
