//! Prompts are spoken by espeak-ng as 8 kHz audio a caller can understand,
//! rendered once and then served from memory or from the disk cache, and
//! recorded WAV prompts load at 8 kHz whatever rate they were made at.

#[path = "common/model.rs"]
mod model;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ivr::brain::asr::{Language, TranscribeRequest};
use ivr::media::resample::upsample_8k_to_16k;
use ivr::media::wav::{Encoding, read_wav, write_wav_pcm16};
use ivr::runtime::tts::{PromptRenderer, SAMPLE_RATE, TtsError, load_wav};
use ivr::runtime::whisper::{PoolOptions, WhisperPool};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ivr-tts-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const HOLD: &str = "Please hold while I connect you to someone who can help.";

#[test]
fn english_prompt_is_understandable_8khz_speech() {
    let dir = scratch("speech");
    let renderer = PromptRenderer::new(dir.join("prompts"));
    let pcm = renderer.render(HOLD, Language::En).unwrap();

    let seconds = pcm.len() as f64 / f64::from(SAMPLE_RATE);
    assert!((1.5..8.0).contains(&seconds), "{seconds} s");
    assert!(rms(&pcm) > 500.0, "too quiet: rms {}", rms(&pcm));
    // Faded in and out, so the first and last packets do not click.
    assert!(pcm[0].abs() < 200 && pcm[pcm.len() - 1].abs() < 200);
    // Leading silence trimmed: sound within the first 100 ms.
    assert!(pcm[..800].iter().any(|s| s.abs() > 1000));

    // What the caller hears, through the same recogniser the engine uses.
    let pool = WhisperPool::open(&model::install_model("tiny.en"), PoolOptions::default())
        .expect("tiny.en loads");
    let request = TranscribeRequest {
        utterance: 1,
        pcm_16k: upsample_8k_to_16k(&pcm),
        language: Language::En,
        prompt: String::new(),
        speculative: false,
    };
    let heard = pool.transcribe(&request).unwrap().text;
    let wer = model::word_error_rate(HOLD, &heard);
    assert!(wer <= 0.25, "heard {heard:?} (WER {wer:.2})");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn renders_are_cached_in_memory_and_on_disk() {
    let dir = scratch("cache");
    let cache = dir.join("prompts");
    let renderer = PromptRenderer::new(&cache);
    let first = renderer.render(HOLD, Language::En).unwrap();
    let again = renderer.render(HOLD, Language::En).unwrap();
    assert!(Arc::ptr_eq(&first, &again), "second render not from memory");

    let path = renderer.cache_path(HOLD, Language::En);
    assert_eq!(path.parent(), Some(cache.as_path()));
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("en-") && name.ends_with(".wav"), "{name}");
    let on_disk = read_wav(&path).unwrap();
    assert_eq!(
        (on_disk.sample_rate, on_disk.encoding),
        (8000, Encoding::Pcm16)
    );
    assert_eq!(on_disk.samples, &first[..]);
    // Only the finished file: no temporary left behind.
    assert_eq!(files_in(&cache), [name]);

    // A restarted engine reads the disk cache without running espeak-ng.
    let restarted = PromptRenderer::new(&cache).with_program("/nonexistent/espeak-ng");
    assert_eq!(restarted.render(HOLD, Language::En).unwrap(), first);
    // Text not yet cached does need espeak-ng, and says so.
    let err = restarted
        .render("Goodbye.", Language::En)
        .expect_err("no espeak-ng");
    assert!(matches!(err, TtsError::EspeakMissing { .. }), "{err}");
    assert!(err.to_string().contains("espeak-ng"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mandarin_renders_with_its_own_voice_and_cache_file() {
    let dir = scratch("zh");
    let renderer = PromptRenderer::new(&dir);
    let text = "请稍候，正在为您转接工作人员。";
    let zh = renderer.render(text, Language::Zh).unwrap();
    let seconds = zh.len() as f64 / f64::from(SAMPLE_RATE);
    assert!((1.0..8.0).contains(&seconds), "{seconds} s");
    assert!(rms(&zh) > 500.0);
    let path = renderer.cache_path(text, Language::Zh);
    assert!(
        path.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("zh-")
    );
    assert!(path.exists());
    // The same letters in the other language are another prompt.
    assert_ne!(path, renderer.cache_path(text, Language::En));

    // Spoken as Mandarin, not as English letters: the multilingual model
    // hears most of the characters.
    let pool = WhisperPool::open(&model::install_model("base"), PoolOptions::default())
        .expect("base loads");
    let request = TranscribeRequest {
        utterance: 1,
        pcm_16k: upsample_8k_to_16k(&zh),
        language: Language::Zh,
        prompt: String::new(),
        speculative: false,
    };
    let heard = pool.transcribe(&request).unwrap().text;
    let cer = model::char_error_rate(text, &heard);
    assert!(cer <= 0.5, "heard {heard:?} (CER {cer:.2})");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_damaged_cache_file_is_rendered_again() {
    let dir = scratch("damaged");
    let renderer = PromptRenderer::new(&dir);
    let path = renderer.cache_path("Goodbye.", Language::En);
    std::fs::write(&path, b"RIFF\x10\0\0\0WAVEjunk").unwrap();
    let pcm = renderer.render("Goodbye.", Language::En).unwrap();
    assert!(rms(&pcm) > 500.0);
    assert_eq!(read_wav(&path).unwrap().samples, &pcm[..]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_renders_of_one_prompt_agree() {
    let dir = scratch("concurrent");
    let renderer = Arc::new(PromptRenderer::new(&dir));
    let text = "Thank you for calling. Goodbye.";
    let renders: Vec<Arc<[i16]>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| renderer.render(text, Language::En).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for pcm in &renders[1..] {
        assert_eq!(pcm, &renders[0]);
    }
    assert_eq!(files_in(&dir).len(), 1, "{:?}", files_in(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_text_is_an_error() {
    let dir = scratch("empty");
    let renderer = PromptRenderer::new(&dir);
    assert!(matches!(
        renderer.render("  \n", Language::En),
        Err(TtsError::EmptyText)
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn recorded_prompts_load_at_8khz() {
    let dir = scratch("recorded");
    // A phone-line fixture (8 kHz mu-law) loads sample for sample.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio-fixtures/en_pay_01.wav");
    let decoded = read_wav(&fixture).unwrap().samples;
    assert_eq!(&load_wav(&fixture).unwrap()[..], &decoded[..]);

    // A 16 kHz recording is resampled to half as many samples.
    let tone_16k: Vec<i16> = (0..16_000)
        .map(|i| (6000.0 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16000.0).sin()) as i16)
        .collect();
    let wide = dir.join("wide.wav");
    write_wav_pcm16(&wide, 16_000, &tone_16k).unwrap();
    let narrow = load_wav(&wide).unwrap();
    assert!((narrow.len() as i64 - 8_000).abs() <= 1, "{}", narrow.len());
    let peak = narrow[1000..7000].iter().map(|s| s.abs()).max().unwrap();
    assert!((5500..=6500).contains(&peak), "peak {peak}");

    // The renderer keeps a loaded recording in memory.
    let renderer = PromptRenderer::new(&dir);
    let a = renderer.load_wav(&wide).unwrap();
    assert!(Arc::ptr_eq(&a, &renderer.load_wav(&wide).unwrap()));

    // Unsupported and missing files name the file.
    let cd = dir.join("cd.wav");
    write_wav_pcm16(&cd, 44_100, &tone_16k).unwrap();
    for path in [cd, dir.join("missing.wav")] {
        let err = load_wav(&path).unwrap_err();
        assert!(matches!(err, TtsError::Prompt { .. }), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rendering_timings_are_reported() {
    // Not an assertion on time (that is BENCHMARKS.md's job); this prints
    // cold and cached render times with `--nocapture` and checks that a
    // cached render returns the same audio.
    let dir = scratch("timing");
    let text = "Your balance is twelve dollars and forty cents.";
    let cold_start = std::time::Instant::now();
    let cold = PromptRenderer::new(&dir)
        .render(text, Language::En)
        .unwrap();
    let cold_time = cold_start.elapsed();
    let disk_start = std::time::Instant::now();
    let renderer = PromptRenderer::new(&dir);
    let disk = renderer.render(text, Language::En).unwrap();
    let disk_time = disk_start.elapsed();
    let memory_start = std::time::Instant::now();
    let memory = renderer.render(text, Language::En).unwrap();
    let memory_time = memory_start.elapsed();
    eprintln!(
        "prompt of {:.2} s: espeak-ng {cold_time:?}, disk cache {disk_time:?}, memory {memory_time:?}",
        cold.len() as f64 / 8000.0
    );
    assert_eq!(cold, disk);
    assert_eq!(disk, memory);
    std::fs::remove_dir_all(&dir).unwrap();
}
