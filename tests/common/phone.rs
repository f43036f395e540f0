//! Test helpers that render speech as a phone line carries it: espeak-ng,
//! then sox to 8 kHz 16-bit with the 300-3400 Hz telephone band, in a
//! scratch folder removed when the test ends.
#![allow(dead_code)] // each test crate uses only some helpers

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ivr-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}

/// `text` spoken by espeak-ng `voice` with extra espeak `options`, written
/// as an 8 kHz phone-band WAV named after `name`; returns its path.
pub fn phone_wav(
    scratch: &Scratch,
    name: &str,
    voice: &str,
    options: &[&str],
    text: &str,
) -> PathBuf {
    let raw = scratch.path(&format!("{name}-raw.wav"));
    let phone = scratch.path(&format!("{name}-phone.wav"));
    let mut args = vec!["-v", voice, "-w", raw.to_str().unwrap()];
    args.extend(options);
    args.push(text);
    run("espeak-ng", &args);
    to_phone_band(&raw, &phone);
    phone
}

/// Resamples any WAV to 8 kHz 16-bit and band-limits it like a phone line.
pub fn to_phone_band(from: &Path, to: &Path) {
    run(
        "sox",
        &[
            from.to_str().unwrap(),
            "-r",
            "8000",
            "-b",
            "16",
            "-e",
            "signed-integer",
            to.to_str().unwrap(),
            "sinc",
            "300-3400",
        ],
    );
}
