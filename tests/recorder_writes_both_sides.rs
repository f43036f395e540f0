//! Each call is recorded as two time-aligned 8 kHz WAV files, one per side,
//! under a safe file name, without ever overwriting another recording.

use std::path::{Path, PathBuf};

use ivr::runtime::recorder::{CallRecorder, RecorderError};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ivr-recorder-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Spec and samples of a finished recording, read back with hound.
fn read(path: &Path) -> (hound::WavSpec, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let samples = reader.samples::<i16>().map(Result::unwrap).collect();
    (reader.spec(), samples)
}

/// A 20 ms frame whose samples say which tick it is.
fn frame(tick: i16) -> [i16; 160] {
    [tick; 160]
}

#[test]
fn both_sides_are_written_time_aligned() {
    let dir = scratch("aligned");
    let recordings = dir.join("var/recordings");
    let mut recorder = CallRecorder::create(&recordings, "call-0042").unwrap();
    // 2 s of call: the engine speaks on ticks 10..40 and 70..90, is silent
    // otherwise, as the runtime drives it every 20 ms.
    for tick in 0..100i16 {
        recorder.caller(&frame(tick)).unwrap();
        if (10..40).contains(&tick) || (70..90).contains(&tick) {
            recorder.engine(&frame(-tick)).unwrap();
        } else {
            recorder.silence_engine(160).unwrap();
        }
    }
    let paths = recorder.finish().unwrap();
    assert_eq!(paths.caller, recordings.join("call-0042-caller.wav"));
    assert_eq!(paths.engine, recordings.join("call-0042-engine.wav"));

    let (caller_spec, caller) = read(&paths.caller);
    let (engine_spec, engine) = read(&paths.engine);
    for spec in [caller_spec, engine_spec] {
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 8000, 16)
        );
        assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    }
    assert_eq!(caller.len(), 100 * 160);
    assert_eq!(engine.len(), caller.len());
    // Sample n of both files is the same instant.
    for tick in 0..100i16 {
        let at = tick as usize * 160;
        assert_eq!(caller[at], tick);
        let speaking = (10..40).contains(&tick) || (70..90).contains(&tick);
        assert_eq!(engine[at], if speaking { -tick } else { 0 }, "tick {tick}");
    }
    // The files are also readable by the engine's own WAV reader.
    let audio = ivr::media::wav::read_wav(&paths.engine).unwrap();
    assert_eq!(audio.samples, engine);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_shorter_side_is_padded_to_end_together() {
    let dir = scratch("padded");
    let mut recorder = CallRecorder::create(&dir, "short").unwrap();
    // The caller hung up mid-prompt: the engine's last frames were queued
    // but the caller's never came.
    for tick in 1..=5 {
        recorder.caller(&frame(tick)).unwrap();
        recorder.engine(&frame(tick)).unwrap();
    }
    recorder.engine(&frame(6)).unwrap();
    recorder.engine(&frame(7)).unwrap();
    assert_eq!(recorder.samples(), (800, 1120));
    let paths = recorder.finish().unwrap();
    let (_, caller) = read(&paths.caller);
    let (_, engine) = read(&paths.engine);
    assert_eq!(caller.len(), engine.len());
    assert_eq!(caller[799], 5);
    assert!(caller[800..].iter().all(|&s| s == 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn call_ids_cannot_escape_the_recordings_folder() {
    let dir = scratch("escape");
    let recordings = dir.join("recordings");
    for id in ["../../outside", "a/b\\c", "x@192.0.2.1;tag=1", "..", ""] {
        let recorder = CallRecorder::create(&recordings, id).unwrap();
        let paths = recorder.finish().unwrap();
        for path in [&paths.caller, &paths.engine] {
            assert_eq!(
                path.parent(),
                Some(recordings.as_path()),
                "{id:?}: {path:?}"
            );
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(!name.starts_with('.'), "{id:?}: {name}");
            assert!(path.exists());
        }
    }
    // Nothing was written next to the recordings folder.
    let beside: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(beside.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_existing_recording_is_never_overwritten() {
    let dir = scratch("existing");
    let mut first = CallRecorder::create(&dir, "same-id").unwrap();
    first.caller(&frame(1)).unwrap();
    first.engine(&frame(1)).unwrap();
    let first = first.finish().unwrap();

    let mut second = CallRecorder::create(&dir, "same-id").unwrap();
    second.caller(&frame(2)).unwrap();
    second.engine(&frame(2)).unwrap();
    let second = second.finish().unwrap();

    assert_ne!(first, second);
    assert_eq!(read(&first.caller).1, frame(1));
    assert_eq!(read(&second.caller).1, frame(2));
    let name = second.engine.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("same-id") && name.ends_with("-engine.wav"),
        "{name}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unusable_folder_is_an_error_naming_it() {
    let dir = scratch("unusable");
    let blocker = dir.join("recordings");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let err = CallRecorder::create(&blocker, "c1").unwrap_err();
    assert!(matches!(err, RecorderError::CreateDir { .. }), "{err}");
    assert!(err.to_string().contains("recordings"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
