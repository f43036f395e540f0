//! `ivr bench report`: turns one `make bench` run (a folder of JSON results
//! from `scripts/bench-*.sh`) into the generated section of BENCHMARKS.md,
//! between [`BEGIN`] and [`END`]; the hand-written text around it stays.
//! A figure whose results are missing says so instead of failing the run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::CliResult;
use crate::call_record::CallRecord;
use crate::runtime::bench_media::MediaBenchReport;
use crate::runtime::bench_sipp::SetupRateReport;
use crate::runtime::load::{LoadReport, SlowAnswer, Stats};
use crate::store::{CallFilter, Store, StoreError};

pub const BEGIN: &str = "<!-- bench:begin -->";
pub const END: &str = "<!-- bench:end -->";

#[derive(clap::Args)]
pub struct Args {
    /// The run's results folder.
    #[arg(long)]
    pub results: PathBuf,
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub benchmarks: PathBuf,
    /// The commit measured; default: the run's `run.json`.
    #[arg(long)]
    pub commit: Option<String>,
    /// Print the section instead of writing it.
    #[arg(long)]
    pub print: bool,
}

pub fn run(args: Args) -> CliResult {
    let mut run: Run = load(&args.results.join("run.json")).unwrap_or_default();
    if let Some(commit) = args.commit {
        run.commit = commit;
    }
    let section = render(&args.results, &run, &Machine::this());
    if args.print {
        print!("{section}");
        return Ok(());
    }
    let doc = std::fs::read_to_string(&args.benchmarks).unwrap_or_default();
    std::fs::write(&args.benchmarks, replace_section(&doc, &section))?;
    eprintln!("ivr: figures written to {}", args.benchmarks.display());
    Ok(())
}

/// `doc` with the text between the markers replaced by `section` (the
/// markers stay); without markers the section is appended.
pub fn replace_section(doc: &str, section: &str) -> String {
    let body = format!("{BEGIN}\n{}{END}", section.trim_end().to_string() + "\n");
    match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{body}{}", &doc[..b], &doc[e + END.len()..]),
        _ => {
            let sep = if doc.is_empty() || doc.ends_with("\n\n") {
                ""
            } else if doc.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            format!("{doc}{sep}{body}\n")
        }
    }
}

/// When and on what a run was made (`run.json`, written by
/// `scripts/bench-all.sh` as it starts).
#[derive(Debug, Clone, Deserialize)]
pub struct Run {
    pub commit: String,
    pub started_utc: String,
}

impl Default for Run {
    fn default() -> Self {
        Run {
            commit: "unknown".into(),
            started_utc: "an unknown date".into(),
        }
    }
}

/// What the figures were measured on.
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub ram_gib: f64,
}

impl Machine {
    pub fn this() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let value = |text: &str, key: &str| -> Option<String> {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        };
        let ram_kb: f64 = value(&meminfo, "MemTotal")
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpu: value(&cpuinfo, "model name").unwrap_or_else(|| "unknown CPU".into()),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ram_gib: ram_kb / 1024.0 / 1024.0,
        }
    }
}

/// The generated section for the run in `results`.
pub fn render(results: &Path, run: &Run, machine: &Machine) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Latest `make bench` run\n");
    let _ = writeln!(
        out,
        "`make bench` started {}, commit `{}`. Machine: {}, {} cores, {:.1} GiB RAM. \
         Release build; the load generators run on the same cores as the engine. \
         The machine was shared with other work during the run, so absolute figures are noisy: \
         re-run on a quiet machine for final numbers. Ratios are measured in the same run.\n",
        run.started_utc, run.commit, machine.cpu, machine.cores, machine.ram_gib
    );
    super::bench_report_asr::asr_section(&mut out, results);
    latency_section(&mut out, results);
    capacity_section(&mut out, results);
    memory_section(&mut out, results);
    setup_section(&mut out, results);
    out
}

pub(super) fn load<T: DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("not measured ({}: {e})", file_name(path)))?;
    serde_json::from_str(text.trim())
        .map_err(|e| format!("not measured ({}: {e})", file_name(path)))
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned())
}

pub(super) fn stats_cells(s: &Stats) -> String {
    if s.n == 0 {
        return "- | - | - | -".into();
    }
    format!(
        "{:.0} | {:.0} | {:.0} | {:.0}",
        s.median, s.p95, s.min, s.max
    )
}

/// Time from the end of a caller's speech to each routing decision that
/// followed speech, from stored call records (`turns[].end_ms` and
/// `decisions[].at_ms`, both ms from the start of the call).
pub fn decision_latencies(records: &[CallRecord]) -> Vec<f64> {
    const AFTER_SPEECH: [&str; 5] = [
        "understood",
        "asked_for_person",
        "agitated",
        "not_understood",
        "too_many_attempts",
    ];
    let mut out = Vec::new();
    for r in records {
        for d in r
            .decisions
            .iter()
            .filter(|d| AFTER_SPEECH.contains(&d.reason.as_str()))
        {
            let spoken = r
                .turns
                .iter()
                .filter(|t| t.end_ms <= d.at_ms)
                .map(|t| t.end_ms)
                .max();
            if let Some(end) = spoken {
                out.push((d.at_ms - end) as f64);
            }
        }
    }
    out
}

/// Files `<prefix>-<n>.json` in `results`, by n.
fn numbered<T: DeserializeOwned>(results: &Path, prefix: &str) -> Vec<(usize, Result<T, String>)> {
    let mut found: Vec<(usize, PathBuf)> = std::fs::read_dir(results)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let n = name
                .strip_prefix(&format!("{prefix}-"))?
                .strip_suffix(".json")?
                .parse()
                .ok()?;
            Some((n, p))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(n, p)| (n, load(&p))).collect()
}

fn latency_section(out: &mut String, results: &Path) {
    let _ = writeln!(out, "### 2. Decision and voice-to-voice latency\n");
    let runs: Vec<(usize, Result<LoadReport, String>)> = numbered(results, "voice");
    if runs.is_empty() {
        let _ = writeln!(out, "not measured (no voice-N.json)\n");
        return;
    }
    let store = Store::open(&results.join("calls.sqlite")).map_err(|e| e.to_string());
    let _ = writeln!(
        out,
        "Callers (`ivr bench voice`, real SIP and RTP over loopback) wait for the greeting, say \
         an English fixture, and listen. Decision: end of speech (as the engine's endpointer \
         placed it, after the 60 ms jitter buffer) to the routing decision, from the stored call \
         records. Voice-to-voice: end of speech to the first RTP packet of the answer (with \
         sound in it) at the caller's socket, over the callers who got one within their \
         listening time (6 s, plus 0.6 s per caller at once). Heard: the same to when the \
         caller's own 40 ms playout buffer plays it. Callers start 100 ms apart.\n"
    );
    let _ = writeln!(
        out,
        "| callers at once | calls | decision median ms | p95 | min | max | voice-to-voice median ms | p95 | min | max | heard median ms | p95 | no answer heard | failed |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    // The first level whose p95 is over 1 s, and the first where a caller
    // heard no answer in time or a call failed.
    let mut slow = None;
    let mut missed = None;
    let mut slowest = Vec::new();
    for (n, run) in runs {
        let r = match run {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(out, "| {n} | {e} |");
                continue;
            }
        };
        let decisions = match &store {
            Ok(store) => calls_during(store, &r)
                .map(|calls| Stats::of(&decision_latencies(&calls)))
                .unwrap_or_default(),
            Err(_) => Stats::default(),
        };
        let placed = r.calls * r.rounds;
        let heard = r.voice_to_voice_ms.n;
        let answered = placed - r.failed;
        let v = &r.voice_to_voice_ms;
        if slow.is_none() && v.p95 > 1000.0 {
            slow = Some(n);
        }
        if missed.is_none() && (heard < answered || r.failed > 0) {
            missed = Some(n);
        }
        slowest.push(slowest_line(n, &r.slowest));
        let _ = writeln!(
            out,
            "| {n} | {placed} | {} | {} | {:.0} | {:.0} | {} | {} |",
            stats_cells(&decisions),
            stats_cells(v),
            r.voice_to_ear_ms.median,
            r.voice_to_ear_ms.p95,
            answered - heard.min(answered),
            r.failed
        );
    }
    if let Err(e) = &store {
        let _ = writeln!(out, "\nDecision latency not measured: {e}");
    }
    let _ = writeln!(out, "\n{}\n", where_it_breaks(slow, missed));
    let slowest: Vec<String> = slowest.into_iter().flatten().collect();
    if !slowest.is_empty() {
        let _ = writeln!(
            out,
            "Slowest answers (voice-to-voice, by what the caller said): {}.\n",
            slowest.join("; ")
        );
    }
}

/// "10 at once: `en_x` 1158 ms, `en_y` 955 ms", or `None` when none was
/// timed.
fn slowest_line(callers: usize, slowest: &[SlowAnswer]) -> Option<String> {
    if slowest.is_empty() {
        return None;
    }
    let calls: Vec<String> = slowest
        .iter()
        .map(|s| format!("`{}` {:.0} ms", s.fixture, s.voice_to_voice_ms))
        .collect();
    Some(format!("{callers} at once: {}", calls.join(", ")))
}

fn where_it_breaks(slow: Option<usize>, missed: Option<usize>) -> String {
    let callers = |n: usize| format!("{n} caller{}", if n == 1 { "" } else { "s" });
    let slow = match slow {
        Some(n) => format!("p95 voice-to-voice is over 1 s from {} at once", callers(n)),
        None => "p95 voice-to-voice stays under 1 s at every level measured".into(),
    };
    let missed = match missed {
        Some(n) => format!(
            "from {} at once some callers heard no answer within their listening time or failed",
            callers(n)
        ),
        None => "every caller heard an answer".into(),
    };
    format!("Where it breaks: {slow}; {missed}.")
}

/// A share of one core, with enough digits to be more than zero.
fn core_share(us_per_s: f64) -> String {
    let percent = us_per_s / 10_000.0;
    match percent {
        p if p >= 1.0 => format!("{p:.1}%"),
        p if p >= 0.01 => format!("{p:.3}%"),
        p => format!("{p:.5}%"),
    }
}

/// The call records of one load run: the calls started during it.
fn calls_during(store: &Store, run: &LoadReport) -> Result<Vec<CallRecord>, StoreError> {
    store.list_calls(&CallFilter {
        since_unix_ms: Some(run.started_unix_ms),
        until_unix_ms: Some(run.ended_unix_ms),
        ..CallFilter::default()
    })
}

/// The engine's late sends over the calls of one load run, from their
/// records' `rtp_stats.sent_late`; `None` when no call of it was stored.
fn sent_late_between(store: &Store, run: &LoadReport) -> Option<u64> {
    let calls = calls_during(store, run).ok()?;
    let mut late = calls
        .iter()
        .filter_map(|c| c.rtp_stats.as_ref()?.get("sent_late")?.as_u64())
        .peekable();
    late.peek()?;
    Some(late.sum())
}

/// Where the two cores went at each level: the engine's whole cost per
/// call (sockets, tokio and media) and what the load generator took.
fn cpu_table(out: &mut String, runs: &[(usize, Result<LoadReport, String>)]) {
    let rows: Vec<String> = runs
        .iter()
        .filter_map(|(n, run)| {
            let r = run.as_ref().ok()?;
            let engine = r.engine_cpu_s?;
            let generator = r.generator_cpu_s?;
            let wall_s = (r.ended_unix_ms - r.started_unix_ms) as f64 / 1000.0;
            // Every packet the callers heard is 20 ms of one call.
            let call_s = r.packets as f64 * 0.02;
            let stolen = r
                .host_steal_s
                .map_or("not measured".to_string(), |s| format!("{:.2}", s / wall_s));
            (wall_s > 0.0 && call_s > 0.0).then(|| {
                format!(
                    "| {n} | {:.2} | {:.2} | {:.2} | {stolen} | {:.0} |",
                    engine / wall_s,
                    generator / wall_s,
                    (engine + generator) / wall_s,
                    engine * 1e6 / call_s
                )
            })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "CPU during each level, from /proc (user + system, over the whole load, ramp-up and \
         hang-ups included), in cores of the 2. The engine's cost per call-second counts \
         everything a held call costs it: the kernel's UDP send and receive, tokio, and the \
         media pipeline. Taken by the host: CPU time the hypervisor gave to other machines \
         while this one had work ready (steal in /proc/stat); what it takes, neither the \
         engine nor the load generator gets.\n"
    );
    let _ = writeln!(
        out,
        "| held calls | engine, cores | load generator, cores | both | taken by the host, cores | engine CPU µs per call-second |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for row in rows {
        let _ = writeln!(out, "{row}");
    }
    let _ = writeln!(out);
}

#[derive(Deserialize)]
struct Idle {
    rss_kb: u64,
}

fn capacity_section(out: &mut String, results: &Path) {
    let _ = writeln!(out, "### 3. Capacity and media cost\n");
    let runs: Vec<(usize, Result<LoadReport, String>)> = numbered(results, "hold");
    if runs.is_empty() {
        let _ = writeln!(out, "Held calls not measured (no hold-N.json).\n");
    } else {
        let _ = writeln!(
            out,
            "Callers who listen to the greeting and reprompts and say nothing, their phones \
             sending silent RTP all along, as a muted phone does (`ivr bench hold`: one task \
             with one SIP socket and one RTP port for all callers, on the same 2 cores as the \
             engine). Late at the caller: a packet \
             arriving more than 40 ms behind the engine's schedule. 99% within: how far \
             behind schedule 99% of the packets arrived, each call's stream against its own \
             earliest packet (steadier than the late count, which sees only the tail). \
             Lost: missing from the \
             engine's sequence numbers at the caller. Sent late: the engine's own \
             count, from its call records, of 20 ms sends that left over 40 ms behind schedule.\n"
        );
        let _ = writeln!(
            out,
            "| held calls | failed | engine packets | late at the caller | 99% within ms | worst lateness ms | lost | sent late by the engine | INVITE to 200 OK median ms | p95 | max |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
        let store = Store::open(&results.join("calls.sqlite")).ok();
        let mut best = None;
        let mut nearly = None;
        for (n, run) in &runs {
            match run {
                Ok(r) => {
                    if r.failed == 0 && r.late_packets + r.lost_packets == 0 && r.packets > 0 {
                        best = Some(*n);
                    }
                    if r.failed == 0 && (r.late_packets + r.lost_packets) * 1000 < r.packets {
                        nearly = Some(*n);
                    }
                    let sent_late = store
                        .as_ref()
                        .and_then(|store| sent_late_between(store, r))
                        .map_or("not recorded".to_string(), |late| late.to_string());
                    let within = r.behind_p99_ms.map_or("-".into(), |ms| format!("{ms:.0}"));
                    let _ = writeln!(
                        out,
                        "| {n} | {} | {} | {} ({:.2}%) | {within} | {:.0} | {} | {sent_late} | {:.1} | {:.1} | {:.1} |",
                        r.failed,
                        r.packets,
                        r.late_packets,
                        100.0 * r.late_packets as f64 / r.packets.max(1) as f64,
                        r.max_lateness_ms,
                        r.lost_packets,
                        r.setup_ms.median,
                        r.setup_ms.p95,
                        r.setup_ms.max
                    );
                }
                Err(e) => {
                    let _ = writeln!(out, "| {n} | {e} |");
                }
            }
        }
        let level =
            |n: Option<usize>| n.map_or("none of the levels measured".into(), |n| n.to_string());
        let _ = writeln!(
            out,
            "\nLargest number of held calls with media flowing and no late or lost packet: **{}** \
             (with under 0.1% late or lost: {}).\n",
            level(best),
            level(nearly)
        );
        cpu_table(out, &runs);
    }
    match load::<MediaBenchReport>(&results.join("media.json")) {
        Ok(m) => {
            let _ = writeln!(
                out,
                "Media cost per call (`ivr bench media`): {} fixtures as calls ({:.0} s of audio, \
                 8 kHz mu-law in 20 ms RTP packets), {} passes, {} time. CPU µs per second of call:\n",
                m.calls,
                m.audio_s,
                m.repeats,
                if m.clock == "thread_cpu" {
                    "thread CPU"
                } else {
                    "wall"
                }
            );
            let _ = writeln!(
                out,
                "| stage | median | p95 | min | max | share of one core (median) |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|");
            for (name, s) in [
                (
                    "RTP receive: parse, jitter buffer, G.711 decode",
                    &m.receive,
                ),
                ("G.711 decode alone", &m.decode),
                ("resample 8 to 16 kHz", &m.resample),
                ("VAD and endpointing", &m.vad),
                ("prosody (per utterance)", &m.prosody),
                ("**receive + resample + VAD + prosody**", &m.sum),
                (
                    "whole pipeline in one go (receiver feeding the session)",
                    &m.pipeline,
                ),
            ] {
                let _ = writeln!(
                    out,
                    "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                    s.median,
                    s.p95,
                    s.min,
                    s.max,
                    core_share(s.median)
                );
            }
            let _ = writeln!(out);
        }
        Err(e) => {
            let _ = writeln!(out, "Media cost {e}\n");
        }
    }
}

fn memory_section(out: &mut String, results: &Path) {
    let _ = writeln!(out, "### 4. Memory\n");
    let idle = match load::<Idle>(&results.join("idle.json")) {
        Ok(i) => i.rss_kb,
        Err(e) => {
            let _ = writeln!(out, "{e}\n");
            return;
        }
    };
    let _ = writeln!(
        out,
        "Engine resident memory (VmRSS of `ivr serve`) at idle with tiny.en loaded: **{:.0} MiB**. \
         Per additional call: (highest RSS while N calls are held - idle RSS) / N, call \
         recording off:\n",
        idle as f64 / 1024.0
    );
    let _ = writeln!(out, "| held calls | highest RSS MiB | per call KiB |");
    let _ = writeln!(out, "|---|---|---|");
    for (n, run) in numbered::<LoadReport>(results, "hold") {
        if let Ok(LoadReport {
            rss_peak_kb: Some(peak),
            ..
        }) = run
        {
            let _ = writeln!(
                out,
                "| {n} | {:.0} | {:.0} |",
                peak as f64 / 1024.0,
                peak.saturating_sub(idle) as f64 / n.max(1) as f64
            );
        }
    }
    let _ = writeln!(out);
}

fn setup_section(out: &mut String, results: &Path) {
    let _ = writeln!(out, "### 5. Call setup rate\n");
    let r: SetupRateReport = match load(&results.join("setup-rate.json")) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(out, "{e}\n");
            return;
        }
    };
    let _ = writeln!(
        out,
        "sipp (`tests/sipp/bench_setup_rate.xml`: INVITE, 200 OK, ACK, 0.5 s, BYE) at a rising \
         rate for a few seconds per step, over loopback; INVITE to 200 OK as sipp times it \
         (whole ms).\n"
    );
    let _ = writeln!(
        out,
        "| calls/s asked | achieved | calls | successful | failed | INVITE to 200 OK median ms | p95 | min | max |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for s in &r.steps {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {} | {} | {} |",
            s.rate,
            s.achieved_cps,
            s.calls,
            s.successful,
            s.failed,
            stats_cells(&s.setup_ms)
        );
    }
    let best = r
        .steps
        .iter()
        .filter(|s| Some(s.rate) == r.best_rate)
        .map(|s| format!("{} calls/s asked, {:.0} achieved", s.rate, s.achieved_cps))
        .next();
    let _ = writeln!(
        out,
        "\nHighest rate sustained with no failed call (achieved within 10% of the asked rate): \
         **{}**{}.\n",
        best.unwrap_or_else(|| "none".into()),
        if r.steps.last().is_some_and(|s| s.clean()) {
            " (the top of the ramp: the limit is higher)"
        } else {
            ""
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call_record::{DecisionRecord, TurnRecord};

    #[test]
    fn the_section_between_the_markers_is_replaced_and_the_rest_kept() {
        let doc =
            format!("# Benchmarks\n\nintro\n\n{BEGIN}\nold figures\n{END}\n\n## Older\ntext\n");
        let new = replace_section(&doc, "new figures\n");
        assert_eq!(
            new,
            format!("# Benchmarks\n\nintro\n\n{BEGIN}\nnew figures\n{END}\n\n## Older\ntext\n")
        );
        assert_eq!(replace_section(&new, "new figures\n"), new);
    }

    #[test]
    fn without_markers_the_section_is_appended() {
        let new = replace_section("# Benchmarks\ntext\n", "figures");
        assert_eq!(
            new,
            format!("# Benchmarks\ntext\n\n{BEGIN}\nfigures\n{END}\n")
        );
    }

    fn held(calls: usize, engine_cpu_s: Option<f64>, steal_s: Option<f64>) -> LoadReport {
        // 10 s of load; 500 packets a call is 10 call-seconds each.
        serde_json::from_value(serde_json::json!({
            "calls": calls, "rounds": 1, "started_unix_ms": 0, "ended_unix_ms": 10_000,
            "failed": 0, "failures": [], "setup_ms": Stats::default(),
            "voice_to_voice_ms": Stats::default(), "packets": 500 * calls,
            "late_packets": 0, "max_lateness_ms": 0.0, "rss_start_kb": null,
            "rss_peak_kb": null, "engine_cpu_s": engine_cpu_s, "generator_cpu_s": 4.0,
            "host_steal_s": steal_s,
        }))
        .unwrap()
    }

    #[test]
    fn slowest_answers_name_the_fixture_and_time() {
        let slow = |fixture: &str, ms: f64| SlowAnswer {
            fixture: fixture.into(),
            voice_to_voice_ms: ms,
        };
        assert_eq!(slowest_line(10, &[]), None);
        assert_eq!(
            slowest_line(10, &[slow("en_a", 1158.4), slow("en_b", 955.0)]).as_deref(),
            Some("10 at once: `en_a` 1158 ms, `en_b` 955 ms")
        );
    }

    #[test]
    fn cpu_per_call_second_counts_every_packet_heard_as_20_ms() {
        let runs = vec![
            (100, Ok(held(100, Some(5.0), Some(1.5)))),
            (150, Ok(held(150, Some(5.0), None))),
            (200, Ok(held(200, None, None))),
            (300, Err("no run".to_string())),
        ];
        let mut out = String::new();
        cpu_table(&mut out, &runs);
        // 5 CPU s over 10 s is half a core; over 1,000 call-seconds, 5,000
        // µs each; 1.5 s stolen is 0.15 of a core. Levels without a watched
        // engine have no row; a report from before steal was measured says so.
        assert!(
            out.contains("| 100 | 0.50 | 0.40 | 0.90 | 0.15 | 5000 |"),
            "{out}"
        );
        assert!(
            out.contains("| 150 | 0.50 | 0.40 | 0.90 | not measured | 3333 |"),
            "{out}"
        );
        assert!(
            !out.contains("| 200 |") && !out.contains("| 300 |"),
            "{out}"
        );
        let mut none = String::new();
        cpu_table(&mut none, &[(200, Ok(held(200, None, None)))]);
        assert!(none.is_empty());
    }

    fn turn(end_ms: u64) -> TurnRecord {
        TurnRecord {
            start_ms: end_ms.saturating_sub(1000),
            end_ms,
            text: "balance".into(),
            intent: None,
            confidence: 0.0,
            agitation: 0.0,
            reasons: vec![],
        }
    }

    fn decision(at_ms: u64, reason: &str) -> DecisionRecord {
        DecisionRecord {
            at_ms,
            intent: None,
            confidence: 0.0,
            route: "self_service".into(),
            target: None,
            reason: reason.into(),
            agitated: false,
        }
    }

    #[test]
    fn decision_latency_runs_from_the_last_speech_before_it() {
        let call = CallRecord {
            turns: vec![turn(12_000), turn(20_000)],
            decisions: vec![
                decision(12_600, "understood"),
                decision(15_000, "no_input"),
                decision(20_450, "asked_for_person"),
            ],
            ..CallRecord::default()
        };
        assert_eq!(decision_latencies(&[call]), vec![600.0, 450.0]);
        let dtmf_only = CallRecord {
            decisions: vec![decision(3_000, "understood")],
            ..CallRecord::default()
        };
        assert!(decision_latencies(&[dtmf_only]).is_empty());
    }

    #[test]
    fn the_breaking_points_are_named() {
        assert_eq!(
            where_it_breaks(Some(10), None),
            "Where it breaks: p95 voice-to-voice is over 1 s from 10 callers at once; \
             every caller heard an answer."
        );
        assert!(where_it_breaks(None, Some(1)).contains("stays under 1 s"));
        assert!(where_it_breaks(None, Some(1)).contains("from 1 caller at once some"));
        assert_eq!(core_share(4.1), "0.00041%");
        assert_eq!(core_share(2158.8), "0.216%");
    }

    #[test]
    fn missing_results_are_reported_not_fatal() {
        let dir = std::env::temp_dir().join(format!("ivr-bench-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("idle.json"), r#"{"rss_kb": 204800}"#).unwrap();
        let machine = Machine {
            cpu: "Test CPU".into(),
            cores: 2,
            ram_gib: 8.0,
        };
        let run = Run {
            commit: "abc1234".into(),
            started_utc: "2026-11-22T00:00:00Z".into(),
        };
        let text = render(&dir, &run, &machine);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(text.contains("started 2026-11-22T00:00:00Z, commit `abc1234`"));
        assert!(text.contains("Test CPU, 2 cores"));
        assert!(text.contains("not measured (asr-engine.json"));
        assert!(text.contains("idle with tiny.en loaded: **200 MiB**"));
        assert!(text.contains("not measured (setup-rate.json"));
    }
}
