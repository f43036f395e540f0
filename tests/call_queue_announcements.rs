//! A queued caller, driven on fake time through the sans-IO core, hears
//! their position and expected wait between hold chimes (recorded pieces
//! in English, text in Mandarin or without recordings), can take a
//! callback with key 1, and asking for a person again does no harm.

mod call_support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use call_support::{Harness, fixture};
use ivr::brain::asr::Language;
use ivr::call::{CallConfig, CallEvent, Input, announcement_sounds};

/// Where Debian's `asterisk-core-sounds-en-wav` puts the English prompts.
const DEBIAN_SOUNDS: &str = "/usr/share/asterisk/sounds/en";

fn with_sounds(dir: &str) -> CallConfig {
    CallConfig {
        sounds_dir: Some(PathBuf::from(dir)),
        ..CallConfig::default()
    }
}

/// A caller who pressed 0 and is now on hold.
fn queued(config: CallConfig) -> Harness {
    let mut h = Harness::scripted_with(&[], config);
    h.start();
    h.silence(500);
    h.dtmf('0');
    assert!(
        h.wait_for(20_000, |h| !h.handoffs.is_empty()),
        "{:?}",
        h.events
    );
    h
}

fn report(h: &mut Harness, position: usize, expected_wait_ms: u64) {
    let input = Input::QueuePosition {
        position,
        expected_wait_ms,
    };
    h.call.handle_input(h.now, input);
    h.drain();
}

fn input(h: &mut Harness, input: Input<'_>) {
    h.call.handle_input(h.now, input);
    h.drain();
}

/// Runs of frames the caller heard back to back from one source, as
/// (key, frames); `None` is the hold chime.
fn runs(h: &Harness, from: usize) -> Vec<(Option<String>, usize)> {
    let mut out: Vec<(Option<String>, usize)> = Vec::new();
    let mut last_ms = 0;
    for f in &h.heard[from..] {
        match out.last_mut() {
            Some((key, n)) if *key == f.key && f.at_ms == last_ms + 20 => *n += 1,
            _ => out.push((f.key.clone(), 1)),
        }
        last_ms = f.at_ms;
    }
    out
}

fn started_text(h: &Harness, key: &str) -> Option<String> {
    h.events.iter().find_map(|e| match e {
        CallEvent::PromptStarted { key: k, text, .. } if k == key => Some(text.clone()),
        _ => None,
    })
}

/// The recordings asked for, relative to the sound folder, without `.wav`.
fn stems(h: &Harness, dir: &str) -> Vec<String> {
    h.wavs
        .iter()
        .map(|w| {
            let rel = w.strip_prefix(dir).expect("in the sound folder");
            rel.with_extension("").to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn the_position_is_announced_with_recorded_pieces_between_chimes() {
    let position_pieces = |p: usize| -> Vec<&str> {
        match p {
            1 => vec!["queue-youarenext"],
            2 => vec!["queue-thereare", "digits/2", "queue-callswaiting"],
            12 => vec!["queue-thereare", "digits/12", "queue-callswaiting"],
            _ => unreachable!(),
        }
    };
    // (wait, minutes in the prompt key, what is said of it)
    let waits: [(u64, u64, &[&str]); 3] = [
        (30_000, 0, &["queue-less-than", "digits/1", "queue-minute"]),
        (120_000, 2, &["digits/2", "queue-minutes"]),
        (600_000, 10, &["digits/10", "queue-minutes"]),
    ];
    for position in [1, 2, 12] {
        for (wait, minutes, wait_pieces) in waits {
            let ctx = format!("position {position}, wait {wait} ms");
            let mut h = queued(with_sounds("sounds"));
            let on_hold = h.heard.len();
            // Reported while the first chime sounds: it is not cut off.
            h.silence(200);
            report(&mut h, position, wait);
            let key = format!("en:queue:recorded:{position}:{minutes}");
            assert!(
                h.wait_for(30_000, |h| h.finished(&key)),
                "{ctx}: {:?}",
                h.events
            );
            h.silence(6000);

            let mut expected = position_pieces(position);
            expected.push("queue-holdtime");
            expected.extend(wait_pieces);
            expected.push("queue-thankyou");
            // Each recording is asked for once, even if said twice.
            let mut seen = HashSet::new();
            expected.retain(|p| seen.insert(*p));
            assert_eq!(stems(&h, "sounds"), expected, "{ctx}");

            let runs = runs(&h, on_hold);
            let chime = runs[0].1;
            assert_eq!(runs[0].0, None, "{ctx}: on hold the chime comes first");
            let spoken: Vec<_> = runs.iter().filter(|(k, _)| k.is_some()).collect();
            assert_eq!(spoken.len(), 1, "{ctx}: one unbroken announcement {runs:?}");
            assert_eq!(spoken[0].0.as_deref(), Some(key.as_str()));
            assert!(
                runs.iter()
                    .filter(|(k, _)| k.is_none())
                    .all(|(_, n)| *n == chime),
                "{ctx}: every chime whole {runs:?}"
            );
            let at = runs.iter().position(|(k, _)| k.is_some()).unwrap();
            assert!(
                at > 0 && at + 1 < runs.len(),
                "{ctx}: between chimes {runs:?}"
            );

            assert!(h.events.iter().any(|e| matches!(
                e,
                CallEvent::QueuePosition { position: p, expected_wait_ms: w, .. }
                    if *p == position && *w == wait
            )));
            assert_eq!(h.handoffs.len(), 1, "{ctx}");
            assert_eq!(h.hangup, None, "{ctx}");
        }
    }
}

#[test]
fn the_recorded_announcement_says_the_numbers_in_words() {
    let mut h = queued(with_sounds("sounds"));
    report(&mut h, 12, 600_000);
    assert!(h.wait_for(30_000, |h| h.finished("en:queue:recorded:12:10")));
    let text = started_text(&h, "en:queue:recorded:12:10").unwrap();
    assert_eq!(
        text,
        "You are currently caller number twelve waiting to speak with a representative. \
         The estimated hold time is currently ten minutes. Thank you for your patience."
    );
    let record = h.call.record();
    let announced = record
        .events
        .iter()
        .find(|e| e.kind == "queue_position")
        .expect("in the call record");
    assert_eq!(announced.detail, "position 12, expected wait 600 s");
}

#[test]
fn the_real_recordings_load_and_play_back_to_back() {
    let dir = Path::new(DEBIAN_SOUNDS);
    for file in announcement_sounds() {
        let pcm = ivr::runtime::tts::load_wav(&dir.join(&file))
            .unwrap_or_else(|e| panic!("{file:?}: {e} (scripts/install-deps.sh installs them)"));
        assert!(pcm.len() > 800, "{file:?}: at least 0.1 s of audio");
    }
    let mut h = queued(with_sounds(DEBIAN_SOUNDS));
    h.load_wavs = true;
    report(&mut h, 3, 120_000);
    let key = "en:queue:recorded:3:2";
    assert!(h.wait_for(60_000, |h| h.finished(key)), "{:?}", h.events);
    let samples: usize = h
        .wavs
        .iter()
        .map(|w| ivr::runtime::tts::load_wav(w).unwrap().len())
        .sum();
    assert_eq!(h.frames_of(key), samples.div_ceil(160));
}

#[test]
fn missing_recordings_fall_back_to_text() {
    let missing = std::env::temp_dir().join("ivr-no-such-sound-folder");
    let mut h = queued(with_sounds(missing.to_str().unwrap()));
    h.load_wavs = true;
    report(&mut h, 3, 120_000);
    assert!(
        h.wait_for(30_000, |h| h.finished("en:queue:thanks")),
        "{:?}",
        h.events
    );
    let asked = h.wavs.len();
    assert!(asked > 0, "the recordings were tried first");
    let spoken: Vec<String> = h
        .started()
        .into_iter()
        .filter(|k| k.contains(":queue:"))
        .collect();
    assert_eq!(
        spoken,
        ["en:queue:position:3", "en:queue:wait:2", "en:queue:thanks"]
    );
    assert_eq!(h.frames_of("en:queue:recorded:3:2"), 0);

    // The next announcement goes straight to text.
    h.silence(4000);
    report(&mut h, 2, 60_000);
    assert!(h.wait_for(30_000, |h| h.finished("en:queue:wait:1")));
    assert_eq!(h.wavs.len(), asked);
}

#[test]
fn mandarin_and_no_sound_folder_are_said_from_text() {
    let zh = CallConfig {
        language: Language::Zh,
        ..with_sounds("sounds")
    };
    let mut h = queued(zh);
    report(&mut h, 3, 120_000);
    assert!(h.wait_for(30_000, |h| h.finished("zh:queue:thanks")));
    assert!(h.wavs.is_empty());
    assert_eq!(
        started_text(&h, "zh:queue:position:3").as_deref(),
        Some("您现在排在第3位。")
    );
    assert_eq!(
        started_text(&h, "zh:queue:wait:2").as_deref(),
        Some("预计等待时间大约2分钟。")
    );

    let mut h = queued(CallConfig::default());
    report(&mut h, 1, 30_000);
    assert!(h.wait_for(30_000, |h| h.finished("en:queue:thanks")));
    assert!(h.wavs.is_empty());
    assert_eq!(
        started_text(&h, "en:queue:position:1").as_deref(),
        Some("You are next in line.")
    );
    assert_eq!(
        started_text(&h, "en:queue:wait:0").as_deref(),
        Some("The estimated hold time is less than a minute.")
    );
}

#[test]
fn an_announcement_waits_for_the_line_already_playing() {
    let mut h = queued(CallConfig::default());
    h.silence(1000); // past the first chime
    input(&mut h, Input::OfferCallback);
    h.silence(100);
    assert!(h.is_playing());
    report(&mut h, 4, 300_000);
    assert!(h.wait_for(30_000, |h| h.finished("en:queue:thanks")));
    let queue_lines: Vec<String> = h
        .started()
        .into_iter()
        .filter(|k| k.contains(":queue:"))
        .collect();
    assert_eq!(
        queue_lines,
        [
            "en:queue:offer_callback",
            "en:queue:position:4",
            "en:queue:wait:5",
            "en:queue:thanks"
        ]
    );
    assert!(h.finished("en:queue:offer_callback"));
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, CallEvent::PromptStopped { key, .. } if key.contains(":queue:")))
    );
}

#[test]
fn a_report_during_the_transfer_notice_follows_it_on_hold() {
    let text = (
        CallConfig::default(),
        "en:queue:position:2",
        "en:queue:thanks",
    );
    let key = "en:queue:recorded:2:2";
    let recorded = (with_sounds("sounds"), key, key);
    for (config, first, last) in [text, recorded] {
        let mut h = Harness::scripted_with(&[], config);
        h.start();
        h.silence(500);
        h.dtmf('0');
        h.silence(100);
        assert!(h.handoffs.is_empty(), "the transfer notice still plays");
        report(&mut h, 2, 90_000);
        assert!(h.wait_for(30_000, |h| h.finished(last)), "{:?}", h.events);
        assert!(h.finished("en:transfer"), "not cut off");
        assert_eq!(h.handoffs.len(), 1);
        let started = h.started();
        let at = |key: &str| started.iter().position(|k| k == key).unwrap();
        assert_eq!(at(first), at("en:transfer") + 1, "{started:?}");
    }
}

#[test]
fn key_one_asks_for_a_callback_and_an_accepted_one_ends_the_call() {
    let mut h = queued(CallConfig {
        caller: "+15550123".into(),
        ..CallConfig::default()
    });
    input(&mut h, Input::OfferCallback);
    assert!(h.wait_for(30_000, |h| h.finished("en:queue:offer_callback")));
    assert_eq!(
        started_text(&h, "en:queue:offer_callback").as_deref(),
        Some("Press 1 to keep your place and get a call back when an agent is free.")
    );
    h.dtmf('1');
    assert_eq!(h.callback_requests, 1);
    assert_eq!(h.handoffs.len(), 1);
    h.silence(2000);
    assert_eq!(h.hangup, None, "the queue decides, not the key");

    input(&mut h, Input::CallbackAccepted);
    // The caller talking over the confirmation changes nothing.
    h.feed(&fixture("en_agent_02"));
    h.dtmf('0');
    assert!(h.wait_for(30_000, |h| h.hangup.is_some()));
    assert_eq!(h.hangup.as_deref(), Some("callback"));
    assert!(h.finished("en:queue:callback_confirmed"));
    assert_eq!(
        started_text(&h, "en:queue:callback_confirmed").as_deref(),
        Some("We will call you back at this number. Goodbye.")
    );
    assert_eq!(h.handoffs.len(), 1);
    assert!(h.call.is_ended());

    let record = h.call.record();
    assert_eq!(record.end_reason.as_deref(), Some("callback"));
    let kinds: Vec<&str> = record.events.iter().map(|e| e.kind.as_str()).collect();
    let at = |kind: &str| kinds.iter().position(|k| *k == kind).unwrap();
    assert!(at("callback_offered") < at("callback_requested"));
    assert!(at("callback_requested") < at("callback_accepted"));
}

#[test]
fn key_one_outside_the_queue_is_no_callback_request() {
    let mut h = Harness::scripted(&[]);
    h.start();
    h.silence(500);
    h.dtmf('1');
    input(&mut h, Input::CallbackAccepted);
    input(
        &mut h,
        Input::QueuePosition {
            position: 1,
            expected_wait_ms: 0,
        },
    );
    h.silence(3000);
    assert_eq!(h.callback_requests, 0);
    assert_eq!(h.hangup, None);
    assert!(!h.started().iter().any(|k| k.contains(":queue:")));
}

#[test]
fn asking_for_a_person_while_queued_keeps_the_caller_where_they_are() {
    let mut h = Harness::scripted(&[
        "My home internet has been down since this morning.",
        "Can I talk to a real person please?",
    ]);
    h.start();
    h.hear_greeting();
    h.feed(&fixture("en_outage_01"));
    assert!(
        h.wait_for(20_000, |h| !h.handoffs.is_empty()),
        "{:?}",
        h.events
    );
    let queue = h.call.record().queue;
    assert_eq!(queue.as_deref(), Some("tech"));
    h.silence(2000);

    h.feed(&fixture("en_agent_02"));
    h.silence(1500);
    h.dtmf('0');
    let heard = h.heard.len();
    h.silence(5000);
    assert_eq!(h.transcripts.len(), 2, "the request was heard");
    // The request only refreshes what the agent will read.
    let decisions: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| match e {
            CallEvent::Decision(d) => Some(d),
            _ => None,
        })
        .collect();
    let last = decisions.last().expect("decisions");
    assert_eq!(last.summary.utterances.len(), 2, "{decisions:?}");
    assert!(decisions.iter().all(|d| d.route.target == queue));
    assert_eq!(h.handoffs.len(), 1, "no second handoff");
    assert_eq!(h.hangup, None);
    assert_eq!(h.call.record().queue, queue);
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, CallEvent::LeftQueue { .. }))
    );
    assert!(
        h.heard[heard..].iter().any(|f| f.key.is_none()),
        "still on hold"
    );
}
