//! A phone that sends nothing while the greeting plays (or zeros: muted,
//! silence suppression) and then streams a noisy line must be endpointed as
//! if it had streamed all along. Digital silence says nothing about the
//! line's noise; before the endpointer forgot it, babble that came with the
//! signal counted as speech and held callers' utterances open for up to
//! half a second after their last word, on 26 of the 66 fixtures.

use std::path::{Path, PathBuf};

use ivr::media::vad::{Endpointer, VadConfig, VadEvent};
use ivr::media::wav::{CallerAudio, read_wav, to_16k_f32};

/// What the engine hears before the caller's first packet: a greeting's
/// worth of zeros.
const LEAD_MS: u64 = 10_000;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio-fixtures");
    let mut wavs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("audio-fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    wavs.sort();
    wavs
}

/// Where each utterance's speech ends, ms from the start of the stream.
fn speech_ends(audio: &CallerAudio) -> Vec<u64> {
    let mut vad = Endpointer::new(VadConfig::default());
    let mut events = Vec::new();
    for chunk in to_16k_f32(audio).chunks(320) {
        events.extend(vad.push(chunk));
    }
    events.extend(vad.finish());
    events
        .into_iter()
        .filter_map(|e| match e {
            VadEvent::Utterance(u) => Some(u.end_ms),
            VadEvent::SpeechStarted { .. } => None,
        })
        .collect()
}

fn after_silence(audio: &CallerAudio) -> CallerAudio {
    let lead = (LEAD_MS * u64::from(audio.sample_rate) / 1000) as usize;
    let mut samples = vec![0i16; lead];
    samples.extend_from_slice(&audio.samples);
    CallerAudio {
        samples,
        ..audio.clone()
    }
}

#[test]
fn every_fixture_ends_where_it_ends_after_a_silent_greeting() {
    let wavs = fixtures();
    assert!(wavs.len() >= 40, "only {} fixtures", wavs.len());
    let mut differ = Vec::new();
    for wav in &wavs {
        let audio = read_wav(wav).expect("fixture reads");
        let streamed = speech_ends(&audio);
        let late: Vec<u64> = speech_ends(&after_silence(&audio))
            .into_iter()
            .map(|end| end.saturating_sub(LEAD_MS))
            .collect();
        assert!(!streamed.is_empty(), "{}: no speech found", wav.display());
        if late != streamed {
            differ.push(format!("{}: {streamed:?} vs {late:?}", wav.display()));
        }
    }
    assert!(differ.is_empty(), "ends moved:\n{}", differ.join("\n"));
}
