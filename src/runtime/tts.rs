//! Prompt audio: dialplan text spoken by espeak-ng, or recorded WAV files,
//! as 8 kHz mono samples ready for G.711.
//!
//! A rendered prompt is cached twice: in memory (a call's answer must start
//! on the tick after the decision) and on disk as
//! `<cache_dir>/<lang>-<hash>.wav`, so a restarted engine does not run
//! espeak-ng again. The hash covers the text and the voice settings, so a
//! changed prompt or voice never plays stale audio. The renderer is `Sync`:
//! share it in an `Arc` and call it from `spawn_blocking`, since a cold
//! render runs a process.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::brain::asr::Language;
use crate::media::wav::{self, WavError};

/// The rate prompts are played at (G.711).
pub const SAMPLE_RATE: u32 = 8_000;

#[derive(Debug, Error)]
pub enum TtsError {
    #[error("prompt text is empty")]
    EmptyText,
    #[error("{program} is not installed (Debian package espeak-ng)")]
    EspeakMissing { program: String },
    #[error("cannot run {program}: {source}")]
    EspeakRun {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} failed ({status}) for voice {voice}: {stderr}")]
    EspeakFailed {
        program: String,
        voice: &'static str,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("{program} produced unreadable audio: {reason}")]
    EspeakOutput { program: String, reason: String },
    #[error("prompt file {path}: {source}")]
    Prompt { path: PathBuf, source: WavError },
    #[error("cannot resample prompt audio from {rate} Hz: {reason}")]
    Resample { rate: u32, reason: String },
}

/// How espeak-ng speaks each language. Changing anything here changes the
/// cache key, so old renders are not reused.
struct Voice {
    name: &'static str,
    words_per_minute: u32,
}

fn voice(language: Language) -> Voice {
    match language {
        Language::En => Voice {
            name: "en-us",
            words_per_minute: 165,
        },
        // Not `cmn`: in espeak-ng 1.51 it turns Han characters into pinyin
        // and then reads the pinyin as English words.
        Language::Zh => Voice {
            name: "cmn-latn-pinyin",
            words_per_minute: 165,
        },
    }
}

/// Bumped when the rendering below changes (trim, fade, resampler).
const RENDER_VERSION: u32 = 1;
/// Hex digits of the SHA-256 kept in a cache file name.
const HASH_CHARS: usize = 16;
/// Quieter than this (-40 dBFS) counts as silence when trimming.
const SILENCE: i16 = 328;
/// Silence kept before the first sound: the answer starts at once.
const LEAD_MS: usize = 20;
/// Silence kept after the last sound (espeak-ng leaves ~300 ms).
const TAIL_MS: usize = 100;
/// Fade at each end, so a trimmed edge never clicks.
const FADE_MS: usize = 5;

type Cache<K> = Mutex<HashMap<K, Arc<[i16]>>>;

pub struct PromptRenderer {
    cache_dir: PathBuf,
    program: String,
    /// Keyed by language code (`Language` is not `Hash`) and text.
    rendered: Cache<(&'static str, String)>,
    recorded: Cache<PathBuf>,
}

impl PromptRenderer {
    /// A renderer caching under `cache_dir` (created on first render).
    pub fn new(cache_dir: impl Into<PathBuf>) -> PromptRenderer {
        PromptRenderer {
            cache_dir: cache_dir.into(),
            program: "espeak-ng".into(),
            rendered: Mutex::default(),
            recorded: Mutex::default(),
        }
    }

    /// Use another espeak-ng executable (a path, or a name on `PATH`).
    pub fn with_program(mut self, program: impl Into<String>) -> PromptRenderer {
        self.program = program.into();
        self
    }

    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// `text` spoken in `language`, 8 kHz mono: from memory, else from the
    /// disk cache, else rendered with espeak-ng and cached.
    pub fn render(&self, text: &str, language: Language) -> Result<Arc<[i16]>, TtsError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TtsError::EmptyText);
        }
        let key = (language.code(), text.to_owned());
        if let Some(pcm) = lock(&self.rendered).get(&key) {
            return Ok(pcm.clone());
        }
        let path = self.cache_path(text, language);
        let pcm: Arc<[i16]> = match read_cached(&path) {
            Some(pcm) => pcm.into(),
            None => {
                let pcm = self.speak(text, language)?;
                store_cached(&path, &pcm);
                pcm.into()
            }
        };
        lock(&self.rendered).insert(key, pcm.clone());
        Ok(pcm)
    }

    /// Where `render` caches `text` in `language` on disk.
    pub fn cache_path(&self, text: &str, language: Language) -> PathBuf {
        let voice = voice(language);
        let mut hash = Sha256::new();
        hash.update(
            format!(
                "v{RENDER_VERSION}\n{}\n{}\n",
                voice.name, voice.words_per_minute
            )
            .as_bytes(),
        );
        hash.update(text.trim().as_bytes());
        let hex = hex::encode(hash.finalize());
        self.cache_dir
            .join(format!("{}-{}.wav", language.code(), &hex[..HASH_CHARS]))
    }

    /// A recorded prompt, decoded once and then served from memory.
    pub fn load_wav(&self, path: &Path) -> Result<Arc<[i16]>, TtsError> {
        if let Some(pcm) = lock(&self.recorded).get(path) {
            return Ok(pcm.clone());
        }
        let pcm = load_wav(path)?;
        lock(&self.recorded).insert(path.to_owned(), pcm.clone());
        Ok(pcm)
    }

    fn speak(&self, text: &str, language: Language) -> Result<Vec<i16>, TtsError> {
        let voice = voice(language);
        let mut child = Command::new(&self.program)
            .args(["-v", voice.name, "-s", &voice.words_per_minute.to_string()])
            // -b 1: the text is UTF-8 (Mandarin), whatever the locale.
            .args(["-b", "1", "--stdin", "--stdout"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => TtsError::EspeakMissing {
                    program: self.program.clone(),
                },
                _ => TtsError::EspeakRun {
                    program: self.program.clone(),
                    source,
                },
            })?;
        // One line, so espeak-ng speaks it as one utterance.
        let line: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // Written from another thread so a long prompt cannot deadlock
        // against espeak-ng filling the stdout pipe.
        let output = std::thread::scope(|scope| {
            scope.spawn(move || {
                // A write error shows up as espeak-ng's exit status.
                let _ = stdin.write_all(line.as_bytes());
            });
            let mut stderr = child.stderr.take().expect("stderr is piped");
            let stderr_reader = scope.spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            });
            let mut stdout = Vec::new();
            let read = child
                .stdout
                .take()
                .expect("stdout is piped")
                .read_to_end(&mut stdout);
            let status = child.wait();
            let stderr = stderr_reader.join().unwrap_or_default();
            (read.and(status), stdout, stderr)
        });
        let (status, stdout, stderr) = output;
        let status = status.map_err(|source| TtsError::EspeakRun {
            program: self.program.clone(),
            source,
        })?;
        if !status.success() {
            return Err(TtsError::EspeakFailed {
                program: self.program.clone(),
                voice: voice.name,
                status,
                stderr: stderr.trim().to_owned(),
            });
        }
        let (rate, samples) =
            parse_streamed_wav(&stdout).map_err(|reason| TtsError::EspeakOutput {
                program: self.program.clone(),
                reason,
            })?;
        let mut pcm = resample_to_8k(&samples, rate)?;
        trim_silence(&mut pcm);
        if pcm.is_empty() {
            return Err(TtsError::EspeakOutput {
                program: self.program.clone(),
                reason: format!("no audible speech for {text:?}"),
            });
        }
        fade(&mut pcm);
        Ok(pcm)
    }
}

/// A recorded prompt as 8 kHz mono: 8 kHz PCM, mu-law or A-law as is,
/// 16 kHz PCM resampled.
pub fn load_wav(path: &Path) -> Result<Arc<[i16]>, TtsError> {
    let audio = wav::read_wav(path).map_err(|source| TtsError::Prompt {
        path: path.to_owned(),
        source,
    })?;
    let pcm = if audio.sample_rate == SAMPLE_RATE {
        audio.samples
    } else {
        resample_to_8k(&audio.samples, audio.sample_rate)?
    };
    Ok(pcm.into())
}

fn lock<K>(cache: &Cache<K>) -> std::sync::MutexGuard<'_, HashMap<K, Arc<[i16]>>> {
    // The maps are only inserted into, so a panic elsewhere cannot leave
    // one half-updated.
    cache.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A cached render, or `None` when there is none or it is unreadable (then
/// it is rendered again and replaced).
fn read_cached(path: &Path) -> Option<Vec<i16>> {
    match wav::read_wav(path) {
        Ok(audio)
            if audio.sample_rate == SAMPLE_RATE
                && audio.encoding == wav::Encoding::Pcm16
                && !audio.samples.is_empty() =>
        {
            Some(audio.samples)
        }
        Ok(_) => {
            tracing::warn!(path = %path.display(), "cached prompt has the wrong format; rendering again");
            None
        }
        Err(WavError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cached prompt unreadable; rendering again");
            None
        }
    }
}

/// Write through a temporary file and rename, so a crash or a concurrent
/// render never leaves a half-written file under the cache name. A cache
/// that cannot be written costs a re-render later, not the prompt now.
fn store_cached(path: &Path, pcm: &[i16]) {
    let write = || -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let tmp = path.with_extension(format!(
            "{}-{:?}.tmp",
            std::process::id(),
            std::thread::current().id()
        ));
        wav::write_wav_pcm16(&tmp, SAMPLE_RATE, pcm).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            e.to_string()
        })
    };
    if let Err(error) = write() {
        tracing::warn!(path = %path.display(), error, "cannot cache rendered prompt");
    }
}

/// espeak-ng's `--stdout` WAV: it cannot seek back on a pipe, so the RIFF
/// and data sizes are placeholders (0x7ffff000) that both hound and
/// `media::wav` rightly refuse; the data runs to the end of the stream.
fn parse_streamed_wav(bytes: &[u8]) -> Result<(u32, Vec<i16>), String> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(format!(
            "no RIFF/WAVE header in {} bytes of output",
            bytes.len()
        ));
    }
    let mut offset = 12;
    let mut rate = None;
    while let Some(header) = bytes.get(offset..offset + 8) {
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let body = &bytes[offset + 8..];
        match &header[..4] {
            b"fmt " => {
                let fmt = body
                    .get(..16)
                    .ok_or_else(|| "'fmt ' chunk cut off".to_string())?;
                let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
                let (tag, channels, bits) = (u16_at(0), u16_at(2), u16_at(14));
                if (tag, channels, bits) != (1, 1, 16) {
                    return Err(format!(
                        "expected mono 16-bit PCM, got format {tag}, {channels} channel(s), {bits} bits"
                    ));
                }
                rate = Some(u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]));
            }
            b"data" => {
                let rate = rate.ok_or_else(|| "'data' before 'fmt '".to_string())?;
                let data = &body[..size.min(body.len())];
                let samples = data
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                return Ok((rate, samples));
            }
            _ => {}
        }
        offset = offset
            .saturating_add(8)
            .saturating_add(size)
            .saturating_add(size % 2);
    }
    Err("no 'data' chunk".into())
}

/// Whole-clip resampling to 8 kHz with rubato's FFT resampler (a fixed
/// rational ratio such as 22050:8000 or 2:1, band-limited below 4 kHz).
fn resample_to_8k(samples: &[i16], rate: u32) -> Result<Vec<i16>, TtsError> {
    if rate == SAMPLE_RATE {
        return Ok(samples.to_vec());
    }
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let error = |reason: String| TtsError::Resample { rate, reason };
    let input: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let mut resampler = Fft::<f32>::new(
        rate as usize,
        SAMPLE_RATE as usize,
        1024,
        1,
        FixedSync::Input,
    )
    .map_err(|e| error(e.to_string()))?;
    let buffer = InterleavedSlice::new(&input, 1, input.len()).map_err(|e| error(e.to_string()))?;
    let output = resampler
        .process_all(&buffer, input.len(), None)
        .map_err(|e| error(e.to_string()))?;
    Ok(output
        .take_data()
        .into_iter()
        .map(|x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// Cut leading and trailing silence down to `LEAD_MS` and `TAIL_MS`.
fn trim_silence(pcm: &mut Vec<i16>) {
    let per_ms = SAMPLE_RATE as usize / 1000;
    let loud = |s: &i16| s.unsigned_abs() > SILENCE.unsigned_abs();
    let (Some(first), Some(last)) = (pcm.iter().position(loud), pcm.iter().rposition(loud)) else {
        pcm.clear();
        return;
    };
    let end = (last + 1 + TAIL_MS * per_ms).min(pcm.len());
    let start = first.saturating_sub(LEAD_MS * per_ms);
    pcm.truncate(end);
    pcm.drain(..start);
}

fn fade(pcm: &mut [i16]) {
    let len = (FADE_MS * SAMPLE_RATE as usize / 1000).min(pcm.len() / 2);
    let n = pcm.len();
    for i in 0..len {
        let gain = i as f32 / len as f32;
        pcm[i] = (f32::from(pcm[i]) * gain) as i16;
        pcm[n - 1 - i] = (f32::from(pcm[n - 1 - i]) * gain) as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, freq: f32, seconds: f32) -> Vec<i16> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / rate as f32;
                (8000.0 * (2.0 * std::f32::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    /// Amplitude of `freq` in `x` (one DFT bin).
    fn level(x: &[i16], rate: u32, freq: f32) -> f32 {
        let (mut c, mut s) = (0.0f64, 0.0f64);
        for (i, &v) in x.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * f64::from(freq) * i as f64 / f64::from(rate);
            c += f64::from(v) * phase.cos();
            s += f64::from(v) * phase.sin();
        }
        (2.0 * (c * c + s * s).sqrt() / x.len() as f64) as f32
    }

    #[test]
    fn resampling_keeps_duration_and_the_voice_band() {
        for rate in [22_050, 16_000] {
            let input = tone(rate, 1000.0, 1.0);
            let output = resample_to_8k(&input, rate).unwrap();
            assert!((output.len() as i64 - 8000).abs() <= 1, "{}", output.len());
            let kept = level(&output[800..7200], SAMPLE_RATE, 1000.0);
            assert!((kept - 8000.0).abs() < 200.0, "{rate} Hz: 1 kHz at {kept}");
        }
    }

    #[test]
    fn resampling_removes_what_8khz_cannot_carry() {
        // 6 kHz would alias to 2 kHz at 8 kHz.
        let output = resample_to_8k(&tone(22_050, 6000.0, 1.0), 22_050).unwrap();
        let alias = level(&output[800..7200], SAMPLE_RATE, 2000.0);
        assert!(alias < 80.0, "alias at {alias}");
    }

    #[test]
    fn streamed_wav_header_is_read_to_the_end_of_the_stream() {
        let mut bytes = b"RIFF\x24\xf0\xff\x7fWAVEfmt \x10\0\0\0\x01\0\x01\0".to_vec();
        bytes.extend(22_050u32.to_le_bytes());
        bytes.extend(44_100u32.to_le_bytes());
        bytes.extend(2u16.to_le_bytes());
        bytes.extend(16u16.to_le_bytes());
        bytes.extend(b"data\0\xf0\xff\x7f");
        for s in [1i16, -2, 300] {
            bytes.extend(s.to_le_bytes());
        }
        assert_eq!(parse_streamed_wav(&bytes), Ok((22_050, vec![1, -2, 300])));
        for len in 0..bytes.len() - 6 {
            assert!(parse_streamed_wav(&bytes[..len]).is_err(), "{len}");
        }
        assert!(parse_streamed_wav(b"Error: voice not found").is_err());
    }

    #[test]
    fn trimming_keeps_a_short_lead_and_tail() {
        let mut pcm = vec![0i16; 4000];
        pcm.extend(vec![5000i16; 800]);
        pcm.extend(vec![10i16; 4000]);
        trim_silence(&mut pcm);
        assert_eq!(pcm.len(), (LEAD_MS + TAIL_MS) * 8 + 800);
        assert_eq!(pcm[LEAD_MS * 8], 5000);
        let mut quiet = vec![10i16; 100];
        trim_silence(&mut quiet);
        assert!(quiet.is_empty());
    }

    #[test]
    fn fades_start_and_end_at_zero() {
        let mut pcm = vec![10_000i16; 400];
        fade(&mut pcm);
        assert_eq!((pcm[0], pcm[399]), (0, 0));
        assert_eq!(pcm[200], 10_000);
        assert!(pcm[1] < pcm[20] && pcm[20] < pcm[39]);
    }

    #[test]
    fn cache_names_depend_on_text_and_language() {
        let renderer = PromptRenderer::new("/cache");
        let a = renderer.cache_path("Hello", Language::En);
        assert_eq!(a, renderer.cache_path("  Hello ", Language::En));
        assert_ne!(a, renderer.cache_path("Hello!", Language::En));
        let zh = renderer.cache_path("Hello", Language::Zh);
        assert_ne!(a, zh);
        assert!(zh.file_name().unwrap().to_str().unwrap().starts_with("zh-"));
        assert_eq!(a.parent(), Some(Path::new("/cache")));
    }

    #[test]
    fn renderer_is_shareable_between_threads() {
        fn sync<T: Send + Sync>() {}
        sync::<PromptRenderer>();
    }
}
