//! Test helpers for real speech through Whisper: the converted models live
//! in the repository's `models/` folder (installed once, then reused by
//! every test) and sentences are synthesised with espeak-ng.
#![allow(dead_code)] // each test crate uses only some helpers

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub fn models_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models"))
}

/// Installs (or finds) model `name` ("tiny.en", "base") and returns its path.
pub fn install_model(name: &str) -> PathBuf {
    ivr::models::install::install(name, &models_dir()).unwrap_or_else(|e| {
        panic!(
            "installing {name}: {e} ({:?})",
            std::error::Error::source(&e)
        )
    })
}

/// `text` spoken by espeak-ng voice `voice` ("en-us", "cmn") as 16 kHz mono
/// samples in -1..1.
pub fn speak(voice: &str, text: &str) -> Vec<f32> {
    let mut espeak = Command::new("espeak-ng")
        .args(["-v", voice, "--stdout", text])
        .stdout(Stdio::piped())
        .spawn()
        .expect("espeak-ng is installed");
    let sox = Command::new("sox")
        .args(["-t", "wav", "-", "-t", "raw", "-r", "16000", "-c", "1"])
        .args(["-b", "16", "-e", "signed-integer", "-L", "-"])
        .stdin(espeak.stdout.take().expect("espeak-ng stdout"))
        .output()
        .expect("sox is installed");
    assert!(espeak.wait().is_ok_and(|s| s.success()), "espeak-ng failed");
    assert!(
        sox.status.success(),
        "sox: {}",
        String::from_utf8_lossy(&sox.stderr)
    );
    sox.stdout
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect()
}

/// Word error rate of `heard` against `said`, ignoring case and punctuation.
pub fn word_error_rate(said: &str, heard: &str) -> f64 {
    let words = |s: &str| -> Vec<String> {
        s.split_whitespace()
            .map(|w| {
                w.chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect::<String>()
                    .to_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect()
    };
    let (a, b) = (words(said), words(heard));
    edit_distance(&a, &b) as f64 / a.len().max(1) as f64
}

/// Character error rate, for languages written without spaces.
pub fn char_error_rate(said: &str, heard: &str) -> f64 {
    let chars = |s: &str| -> Vec<char> { s.chars().filter(|c| c.is_alphanumeric()).collect() };
    let (a, b) = (chars(said), chars(heard));
    edit_distance(&a, &b) as f64 / a.len().max(1) as f64
}

fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(x != y))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}
