//! Load for the benchmarks: many `dial` callers at once against a running
//! engine, and what they measured.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

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
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub calls: usize,
    pub failed: usize,
    pub failures: Vec<String>,
    pub setup_ms: Stats,
    pub voice_to_voice_ms: Stats,
    pub packets: u64,
    pub late_packets: u64,
    pub max_lateness_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
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
    let opts = Arc::new(opts.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..opts.calls {
        let opts = opts.clone();
        tasks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(opts.stagger_ms * i as u64)).await;
            let fixture = opts.fixtures[i % opts.fixtures.len()].clone();
            dial(&DialOptions {
                target: opts.target.clone(),
                play: fixture,
                local_ip: "127.0.0.1".parse().expect("loopback"),
                wait_for_prompt_ms: opts.wait_for_prompt_ms,
                listen_ms: opts.listen_ms,
                answer_timeout_ms: 30_000,
                dtmf: String::new(),
            })
            .await
            .map_err(|e| e.to_string())
        });
    }
    let mut reports: Vec<DialReport> = Vec::new();
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(r)) => reports.push(r),
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let setup: Vec<f64> = reports.iter().map(|r| r.setup_ms).collect();
    let v2v: Vec<f64> = reports.iter().filter_map(|r| r.voice_to_voice_ms).collect();
    LoadReport {
        calls: opts.calls,
        failed: failures.len(),
        failures: failures.into_iter().take(5).collect(),
        setup_ms: Stats::of(&setup),
        voice_to_voice_ms: Stats::of(&v2v),
        packets: reports.iter().map(|r| r.packets).sum(),
        late_packets: reports.iter().map(|r| r.late_packets).sum(),
        max_lateness_ms: reports
            .iter()
            .map(|r| r.max_lateness_ms)
            .fold(0.0, f64::max),
    }
}
