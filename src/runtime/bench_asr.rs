//! `ivr bench asr`: recognition alone. Cuts every English fixture into the
//! utterances the engine's endpointer finds, writes each as a 16 kHz WAV
//! (so a peer recogniser gets exactly the same samples), and times this
//! engine's Whisper pool on each: the time from the end of the utterance to
//! its transcript.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::brain::asr::{Language, TranscribeRequest};
use crate::dialplan::{DialplanError, load_dialplan};
use crate::eval_fixtures::{self, FixtureError};
use crate::media::vad::{Endpointer, VadConfig, VadEvent};
use crate::media::wav::{self, WavError};
use crate::runtime::whisper::{AsrError, PoolOptions, WhisperPool};

#[derive(Debug, thiserror::Error)]
pub enum AsrBenchError {
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
    #[error(transparent)]
    Wav(#[from] WavError),
    #[error(transparent)]
    Asr(#[from] AsrError),
    #[error(transparent)]
    Dialplan(#[from] DialplanError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no English fixture in {0} has speech")]
    NoSpeech(PathBuf),
}

#[derive(Debug, Clone)]
pub struct AsrBenchOptions {
    pub fixtures_dir: PathBuf,
    /// The ggml model this engine runs.
    pub model: PathBuf,
    /// The bias prompt comes from this dialplan, as on a live call.
    pub dialplan: PathBuf,
    /// Whisper threads (one worker).
    pub threads: usize,
    /// Where the utterance WAVs are written.
    pub clips_dir: PathBuf,
}

/// One utterance and what this engine made of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClipResult {
    pub fixture: String,
    pub wav: PathBuf,
    pub audio_ms: f64,
    /// End of utterance to transcript.
    pub ms: f64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AsrBenchReport {
    pub model: String,
    pub threads: usize,
    /// The bias prompt both recognisers are given.
    pub prompt: String,
    pub clips: Vec<ClipResult>,
    /// Every English fixture, with its reference text, including those
    /// where no utterance was found (all their words count as errors).
    pub references: Vec<(String, String)>,
}

/// The utterances the engine's endpointer cuts from 16 kHz audio.
pub fn cut_utterances(pcm_16k: &[f32]) -> Vec<Vec<f32>> {
    let mut vad = Endpointer::new(VadConfig::default());
    let mut events = Vec::new();
    // 20 ms at a time, as a call delivers it.
    for frame in pcm_16k.chunks(320) {
        events.extend(vad.push(frame));
    }
    events.extend(vad.finish());
    events
        .into_iter()
        .filter_map(|e| match e {
            VadEvent::Utterance(u) => Some(u.pcm_16k),
            VadEvent::SpeechStarted { .. } => None,
        })
        .collect()
}

/// The utterance WAVs written for a run.
#[derive(Debug)]
pub struct Clips {
    /// (fixture id, WAV) in fixture order, then utterance order.
    pub clips: Vec<(String, PathBuf)>,
    /// (fixture id, reference text) for every English fixture.
    pub references: Vec<(String, String)>,
}

/// Writes the clips and their list (`clips.txt`, one WAV path a line).
pub fn write_clips(fixtures_dir: &Path, clips_dir: &Path) -> Result<Clips, AsrBenchError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AsrBenchError::Write { path, source }
    };
    std::fs::create_dir_all(clips_dir).map_err(write_err(clips_dir))?;
    let mut clips = Vec::new();
    let mut references = Vec::new();
    for f in eval_fixtures::load_fixtures(fixtures_dir)? {
        if f.language != Language::En {
            continue;
        }
        references.push((f.id.clone(), f.utterances.join(" ")));
        let audio = wav::read_wav(&f.wav)?;
        for (i, pcm) in cut_utterances(&wav::to_16k_f32(&audio))
            .into_iter()
            .enumerate()
        {
            let path = clips_dir.join(format!("{}_{i}.wav", f.id));
            let samples: Vec<i16> = pcm
                .iter()
                .map(|&x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
                .collect();
            wav::write_wav_pcm16(&path, 16_000, &samples)?;
            clips.push((f.id.clone(), path));
        }
    }
    if clips.is_empty() {
        return Err(AsrBenchError::NoSpeech(fixtures_dir.to_path_buf()));
    }
    let list = clips_dir.join("clips.txt");
    let text: String = clips
        .iter()
        .map(|(_, p)| format!("{}\n", p.display()))
        .collect();
    std::fs::write(&list, text).map_err(write_err(&list))?;
    Ok(Clips { clips, references })
}

pub fn run_asr_bench(opts: &AsrBenchOptions) -> Result<AsrBenchReport, AsrBenchError> {
    let Clips { clips, references } = write_clips(&opts.fixtures_dir, &opts.clips_dir)?;
    let prompt = load_dialplan(&opts.dialplan)?.vocabulary_prompt(Language::En);
    let pool = WhisperPool::open(
        &opts.model,
        PoolOptions {
            workers: 1,
            threads: opts.threads.max(1),
            ..PoolOptions::default()
        },
    )?;
    let request = |utterance: u32, pcm_16k: Vec<f32>| TranscribeRequest {
        utterance,
        pcm_16k,
        language: Language::En,
        prompt: prompt.clone(),
        speculative: false,
    };
    let mut results = Vec::new();
    for (i, (fixture, path)) in clips.iter().enumerate() {
        // The same samples the peer reads from the file.
        let pcm = wav::to_16k_f32(&wav::read_wav(path)?);
        let audio_ms = pcm.len() as f64 / 16.0;
        if i == 0 {
            // Warm-up, not counted: first-touch of the weights and buffers.
            pool.transcribe(&request(u32::MAX, pcm.clone()))?;
        }
        let started = Instant::now();
        let transcript = pool.transcribe(&request(i as u32, pcm))?;
        results.push(ClipResult {
            fixture: fixture.clone(),
            wav: path.clone(),
            audio_ms,
            ms: started.elapsed().as_secs_f64() * 1000.0,
            text: transcript.text,
        });
    }
    Ok(AsrBenchReport {
        model: opts
            .model
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        threads: opts.threads.max(1),
        prompt,
        clips: results,
        references,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: usize) -> Vec<f32> {
        (0..ms * 16)
            .map(|i| 0.3 * (2.0 * std::f32::consts::PI * 180.0 * i as f32 / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn silence_has_no_utterance() {
        assert!(cut_utterances(&vec![0.0; 16_000 * 3]).is_empty());
    }

    #[test]
    fn clips_are_written_for_the_english_fixtures_only() {
        let base = std::env::temp_dir().join(format!("ivr-bench-asr-{}", std::process::id()));
        let fixtures = base.join("fixtures");
        std::fs::create_dir_all(&fixtures).unwrap();
        let mut pcm = vec![0i16; 8000];
        pcm.extend(tone(1500).iter().step_by(2).map(|&x| (x * 32767.0) as i16));
        pcm.extend(vec![0i16; 8000]);
        for (id, lang) in [("en_a", "en"), ("zh_a", "zh")] {
            wav::write_wav_pcm16(&fixtures.join(format!("{id}.wav")), 8000, &pcm).unwrap();
            let sidecar = format!(
                r#"{{"id":"{id}","language":"{lang}","intent":null,"agitated":false,"utterances":["hello there"]}}"#
            );
            std::fs::write(fixtures.join(format!("{id}.json")), sidecar).unwrap();
        }
        let result = write_clips(&fixtures, &base.join("clips"));
        let listed = std::fs::read_to_string(base.join("clips/clips.txt")).unwrap_or_default();
        std::fs::remove_dir_all(&base).unwrap();
        let Clips { clips, references } = result.unwrap();
        assert_eq!(
            references,
            vec![("en_a".to_string(), "hello there".to_string())]
        );
        assert!(clips.iter().all(|(id, _)| id == "en_a"), "{clips:?}");
        assert_eq!(listed.lines().count(), clips.len());
    }
}
