//! Load for the benchmarks: many `dial` callers at once against a running
//! engine, and what they measured.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::runtime::dialer::{DialOptions, DialReport, dial};

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub target: String,
    /// What the callers say, cycled over the calls.
    pub fixtures: Vec<PathBuf>,
    pub calls: usize,
    /// Delay between call starts, so calls do not all speak in the same ms.
    pub stagger_ms: u64,
    pub wait_for_prompt_ms: u64,
    pub listen_ms: u64,
    /// Batches of `calls` run one after the other (each next batch says the
    /// next fixtures); the figures cover every call.
    pub rounds: usize,
    /// The engine's process: its resident memory is sampled during the load.
    pub watch_pid: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    /// Simultaneous calls per round.
    pub calls: usize,
    pub rounds: usize,
    /// Wall-clock span of the load (Unix ms), to find its call records.
    pub started_unix_ms: i64,
    pub ended_unix_ms: i64,
    pub failed: usize,
    pub failures: Vec<String>,
    pub setup_ms: Stats,
    /// End of speech to the answer's first RTP packet at the caller.
    pub voice_to_voice_ms: Stats,
    /// The same to when the caller heard it (after its playout buffer).
    #[serde(default)]
    pub voice_to_ear_ms: Stats,
    pub packets: u64,
    pub late_packets: u64,
    pub max_lateness_ms: f64,
    /// How far behind schedule 99% of the engine's packets arrived (ms),
    /// each stream against its own best packet (held calls only).
    #[serde(default)]
    pub behind_p99_ms: Option<f64>,
    /// Packets that never reached the caller (sequence gaps).
    #[serde(default)]
    pub lost_packets: u64,
    /// The engine's resident memory when the load started and at its
    /// highest during it (kB, from /proc), when a pid was watched.
    pub rss_start_kb: Option<u64>,
    pub rss_peak_kb: Option<u64>,
    /// CPU seconds (user + system) the engine used during the load, when
    /// its pid was watched.
    #[serde(default)]
    pub engine_cpu_s: Option<f64>,
    /// CPU seconds this load generator used meanwhile, on the same cores:
    /// what the engine could not have.
    #[serde(default)]
    pub generator_cpu_s: Option<f64>,
    /// CPU seconds the hypervisor gave to other guests while this machine's
    /// processes were ready to run (`steal` in /proc/stat, all cores): on a
    /// shared virtual machine, late packets often come from there.
    #[serde(default)]
    pub host_steal_s: Option<f64>,
    /// The slowest answers and what the caller said.
    #[serde(default)]
    pub slowest: Vec<SlowAnswer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowAnswer {
    pub fixture: String,
    pub voice_to_voice_ms: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub n: usize,
    pub median: f64,
    pub p95: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(values: &[f64]) -> Stats {
        if values.is_empty() {
            return Stats::default();
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Stats {
            n: v.len(),
            median: at(0.5),
            p95: at(0.95),
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

pub async fn run_load(opts: &LoadOptions) -> LoadReport {
    let watch = Watch::start(opts.watch_pid);
    let mut reports: Vec<(PathBuf, DialReport)> = Vec::new();
    let mut failures = Vec::new();
    for round in 0..opts.rounds.max(1) {
        let (mut done, mut failed) = run_round(opts, round * opts.calls).await;
        reports.append(&mut done);
        failures.append(&mut failed);
    }
    let slowest = slowest_answers(&reports, SLOWEST_SHOWN);
    let reports: Vec<DialReport> = reports.into_iter().map(|(_, r)| r).collect();
    let setup: Vec<f64> = reports.iter().map(|r| r.setup_ms).collect();
    let v2v: Vec<f64> = reports.iter().filter_map(|r| r.voice_to_voice_ms).collect();
    let v2e: Vec<f64> = reports.iter().filter_map(|r| r.voice_to_ear_ms).collect();
    let mut report = watch.finish(opts.calls, opts.rounds.max(1), failures, &setup);
    report.voice_to_voice_ms = Stats::of(&v2v);
    report.voice_to_ear_ms = Stats::of(&v2e);
    report.packets = reports.iter().map(|r| r.packets).sum();
    report.late_packets = reports.iter().map(|r| r.late_packets).sum();
    report.lost_packets = reports.iter().map(|r| r.lost_packets).sum();
    report.max_lateness_ms = reports
        .iter()
        .map(|r| r.max_lateness_ms)
        .fold(0.0, f64::max);
    report.slowest = slowest;
    report
}

/// What a load samples of the engine's process and its own while it runs:
/// wall-clock span, resident memory, CPU time.
pub struct Watch {
    started_unix_ms: i64,
    pid: Option<u32>,
    rss_start_kb: Option<u64>,
    engine_cpu_start: Option<f64>,
    generator_cpu_start: Option<f64>,
    steal_start: Option<f64>,
    peak: Arc<AtomicU64>,
    sampler: Option<tokio::task::JoinHandle<()>>,
}

impl Watch {
    /// Starts watching `pid` (when given); call within a tokio runtime.
    pub fn start(pid: Option<u32>) -> Watch {
        let rss_start_kb = pid.and_then(rss_kb);
        let peak = Arc::new(AtomicU64::new(rss_start_kb.unwrap_or(0)));
        Watch {
            started_unix_ms: crate::runtime::clock::unix_ms(),
            pid,
            rss_start_kb,
            engine_cpu_start: pid.and_then(cpu_seconds),
            generator_cpu_start: cpu_seconds(std::process::id()),
            steal_start: steal_seconds(),
            sampler: pid.map(|pid| tokio::spawn(sample_peak_rss(pid, peak.clone()))),
            peak,
        }
    }

    /// A report with what was watched, the calls' setup times and
    /// failures; the media figures are left for the load to fill in.
    pub fn finish(
        self,
        calls: usize,
        rounds: usize,
        failures: Vec<String>,
        setup_ms: &[f64],
    ) -> LoadReport {
        let rss_peak_kb = self.sampler.map(|task| {
            task.abort();
            self.peak.load(Ordering::Relaxed)
        });
        let used = |start: Option<f64>, pid: Option<u32>| Some(cpu_seconds(pid?)? - start?);
        LoadReport {
            calls,
            rounds,
            started_unix_ms: self.started_unix_ms,
            ended_unix_ms: crate::runtime::clock::unix_ms(),
            failed: failures.len(),
            failures: failures.into_iter().take(5).collect(),
            setup_ms: Stats::of(setup_ms),
            voice_to_voice_ms: Stats::default(),
            voice_to_ear_ms: Stats::default(),
            packets: 0,
            late_packets: 0,
            max_lateness_ms: 0.0,
            behind_p99_ms: None,
            lost_packets: 0,
            rss_start_kb: self.rss_start_kb,
            rss_peak_kb,
            engine_cpu_s: used(self.engine_cpu_start, self.pid),
            generator_cpu_s: used(self.generator_cpu_start, Some(std::process::id())),
            host_steal_s: steal_seconds()
                .zip(self.steal_start)
                .map(|(now, start)| now - start),
            slowest: Vec::new(),
        }
    }
}

/// How many of the slowest answers a report names.
const SLOWEST_SHOWN: usize = 3;

/// The `n` calls answered slowest (voice-to-voice), slowest first, by the
/// fixture the caller said: a tail that is always the same fixture is the
/// recogniser or the endpointer on that audio, not load.
fn slowest_answers(reports: &[(PathBuf, DialReport)], n: usize) -> Vec<SlowAnswer> {
    let mut answered: Vec<SlowAnswer> = reports
        .iter()
        .filter_map(|(fixture, r)| {
            Some(SlowAnswer {
                fixture: fixture.file_stem()?.to_string_lossy().into_owned(),
                voice_to_voice_ms: r.voice_to_voice_ms?,
            })
        })
        .collect();
    answered.sort_by(|a, b| b.voice_to_voice_ms.total_cmp(&a.voice_to_voice_ms));
    answered.truncate(n);
    answered
}

/// One round: `opts.calls` callers, the first saying fixture `first`.
async fn run_round(opts: &LoadOptions, first: usize) -> (Vec<(PathBuf, DialReport)>, Vec<String>) {
    let opts = Arc::new(opts.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..opts.calls {
        let opts = opts.clone();
        tasks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(opts.stagger_ms * i as u64)).await;
            let fixture = opts.fixtures[(first + i) % opts.fixtures.len()].clone();
            dial(&DialOptions {
                target: opts.target.clone(),
                play: fixture.clone(),
                local_ip: "127.0.0.1".parse().expect("loopback"),
                wait_for_prompt_ms: opts.wait_for_prompt_ms,
                listen_ms: opts.listen_ms,
                answer_timeout_ms: 30_000,
                dtmf: String::new(),
            })
            .await
            .map(|report| (fixture, report))
            .map_err(|e| e.to_string())
        });
    }
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(r)) => reports.push(r),
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(e.to_string()),
        }
    }
    (reports, failures)
}

/// Keeps the highest resident memory of `pid` seen, every 200 ms, until
/// aborted.
async fn sample_peak_rss(pid: u32, peak: Arc<AtomicU64>) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        if let Some(kb) = rss_kb(pid) {
            peak.fetch_max(kb, Ordering::Relaxed);
        }
    }
}

/// Resident memory of a process (`VmRSS` in /proc/PID/status), kB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

/// CPU time a process has used, user + system, seconds (/proc/PID/stat).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks_per_s = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    Some(parse_cpu_ticks(&stat)? as f64 / ticks_per_s as f64)
}

/// CPU time stolen by the hypervisor since boot, all cores, seconds.
pub fn steal_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks_per_s = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    Some(parse_steal_ticks(&stat)? as f64 / ticks_per_s as f64)
}

/// The 8th number of the `cpu` line: user nice system idle iowait irq
/// softirq steal.
fn parse_steal_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    line.split_whitespace().nth(8)?.parse().ok()
}

/// utime + stime, the 14th and 15th fields. The name (2nd) is in
/// parentheses and may hold spaces or parentheses, so count from the last
/// closing one.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let mut after_name = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let utime: u64 = after_name.nth(11)?.parse().ok()?;
    let stime: u64 = after_name.next()?.parse().ok()?;
    Some(utime + stime)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(ms: Option<f64>) -> DialReport {
        DialReport {
            packets: 0,
            late_packets: 0,
            max_lateness_ms: 0.0,
            lost_packets: 0,
            answered: true,
            setup_ms: 1.0,
            heard_ms: 0,
            heard: Vec::new(),
            voice_to_voice_ms: ms,
            voice_to_ear_ms: None,
            remote_hung_up: false,
        }
    }

    #[test]
    fn slowest_answers_come_first_by_fixture_and_unanswered_are_left_out() {
        let reports = vec![
            (
                PathBuf::from("audio-fixtures/en_a.wav"),
                answered(Some(600.0)),
            ),
            (
                PathBuf::from("audio-fixtures/en_b.wav"),
                answered(Some(1200.0)),
            ),
            (PathBuf::from("audio-fixtures/en_c.wav"), answered(None)),
            (
                PathBuf::from("audio-fixtures/en_d.wav"),
                answered(Some(900.0)),
            ),
        ];
        let slowest = slowest_answers(&reports, 2);
        let names: Vec<(&str, f64)> = slowest
            .iter()
            .map(|s| (s.fixture.as_str(), s.voice_to_voice_ms))
            .collect();
        assert_eq!(names, [("en_b", 1200.0), ("en_d", 900.0)]);
    }

    #[test]
    fn stats_take_nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = Stats::of(&v);
        assert_eq!((s.n, s.min, s.max), (20, 1.0, 20.0));
        assert_eq!(s.median, 11.0);
        assert_eq!(s.p95, 19.0);
        assert_eq!(Stats::of(&[]).n, 0);
    }

    #[test]
    fn vm_rss_is_read_from_proc_status() {
        let status = "Name:\tivr\nVmPeak:\t  900 kB\nVmRSS:\t  160872 kB\nThreads:\t9\n";
        assert_eq!(parse_vm_rss(status), Some(160_872));
        assert_eq!(parse_vm_rss("Name:\tivr\n"), None);
        assert!(rss_kb(std::process::id()).is_some_and(|kb| kb > 0));
    }

    #[test]
    fn steal_is_read_from_the_cpu_line() {
        let stat = "cpu  4217527 22495 565432 4524829 31163 0 29477 142308 0 0\n\
                    cpu0 1 2 3 4 5 6 7 8 0 0\n";
        assert_eq!(parse_steal_ticks(stat), Some(142_308));
        assert_eq!(parse_steal_ticks("cpu0 1 2 3\n"), None);
        assert!(steal_seconds().is_some());
    }

    #[test]
    fn cpu_time_is_read_from_proc_stat() {
        let stat = "4242 (ivr (serve) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    1250 375 0 0 20 0 9 0 1000 500000000 40000 ...";
        assert_eq!(parse_cpu_ticks(stat), Some(1625));
        assert_eq!(parse_cpu_ticks("4242 (ivr) S 1"), None);
        // Reading it is work enough to show within a few clock ticks.
        let busy = std::time::Instant::now();
        let mut used = 0.0;
        while used == 0.0 && busy.elapsed() < Duration::from_secs(5) {
            used = cpu_seconds(std::process::id()).expect("own /proc/self/stat");
        }
        assert!(used > 0.0);
    }
}
