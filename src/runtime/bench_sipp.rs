//! `ivr bench setup-rate`: call setups per second a running engine sustains
//! with no failed call, driven by sipp (Debian `sip-tester`) over loopback.
//! The rate steps up until a step has a failed call or sipp cannot keep
//! the rate; the answer is the highest clean step.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::runtime::load::Stats;

#[derive(Debug, thiserror::Error)]
pub enum SetupRateError {
    #[error("cannot prepare {path}: {source}")]
    Work {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run sipp (install the sip-tester package): {0}")]
    Spawn(std::io::Error),
}

#[derive(Debug, Clone)]
pub struct SetupRateOptions {
    pub server: SocketAddr,
    pub scenario: PathBuf,
    /// Calls per second to try, in order.
    pub rates: Vec<u32>,
    /// How long each step places calls.
    pub seconds_per_step: u32,
    /// sipp's SIP and media ports (loopback).
    pub sip_port: u16,
    pub media_port: u16,
    /// Each step's traces go to a folder here.
    pub work_dir: PathBuf,
}

/// One step of the ramp.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RateStep {
    /// Calls per second asked of sipp.
    pub rate: u32,
    pub calls: u64,
    pub successful: u64,
    pub failed: u64,
    /// Calls per second actually placed (first to last 200 OK).
    pub achieved_cps: f64,
    /// INVITE to 200 OK, as sipp measured it (whole ms).
    pub setup_ms: Stats,
    /// sipp's own verdict (exit status 0: every call succeeded).
    pub sipp_ok: bool,
}

impl RateStep {
    /// Every call succeeded at (nearly) the asked rate.
    pub fn clean(&self) -> bool {
        self.sipp_ok
            && self.failed == 0
            && self.successful == self.calls
            && self.achieved_cps >= 0.9 * f64::from(self.rate)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetupRateReport {
    pub steps: Vec<RateStep>,
    /// The highest rate whose step was clean.
    pub best_rate: Option<u32>,
}

pub fn run_setup_rate(opts: &SetupRateOptions) -> Result<SetupRateReport, SetupRateError> {
    let mut steps = Vec::new();
    for &rate in &opts.rates {
        let step = run_step(opts, rate)?;
        let clean = step.clean();
        steps.push(step);
        if !clean {
            break;
        }
    }
    let best_rate = steps
        .iter()
        .take_while(|s| s.clean())
        .map(|s| s.rate)
        .last();
    Ok(SetupRateReport { steps, best_rate })
}

fn run_step(opts: &SetupRateOptions, rate: u32) -> Result<RateStep, SetupRateError> {
    let dir = opts.work_dir.join(format!("rate-{rate}"));
    let work_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SetupRateError::Work { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(work_err(&dir))?;
    let scenario = dir.join("scenario.xml");
    std::fs::copy(&opts.scenario, &scenario).map_err(work_err(&opts.scenario))?;
    let calls = u64::from(rate) * u64::from(opts.seconds_per_step.max(1));
    let timeout_s = opts.seconds_per_step * 3 + 30;
    let status = Command::new("sipp")
        .current_dir(&dir)
        .arg(opts.server.to_string())
        .arg("-sf")
        .arg("scenario.xml")
        .args(["-r", &rate.to_string(), "-m", &calls.to_string()])
        .args([
            "-l",
            "10000",
            "-t",
            "u1",
            "-i",
            "127.0.0.1",
            "-mi",
            "127.0.0.1",
        ])
        .args(["-p", &opts.sip_port.to_string()])
        .args(["-mp", &opts.media_port.to_string()])
        .args(["-timer_resol", "1", "-max_socket", "20000"])
        .args(["-timeout", &format!("{timeout_s}s"), "-timeout_error"])
        .args(["-recv_timeout", "10s"])
        .args(["-trace_stat", "-stf", "stat.csv", "-fd", "1"])
        .args(["-trace_rtt", "-rtt_freq", "1", "-nostdin"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(SetupRateError::Spawn)?;
    let stat = std::fs::read_to_string(dir.join("stat.csv")).unwrap_or_default();
    let (successful, failed) = final_counts(&stat).unwrap_or((0, calls));
    let rtt = std::fs::read_dir(&dir)
        .map_err(work_err(&dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with("_rtt.csv"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let samples = response_times(&rtt);
    let setup: Vec<f64> = samples.iter().map(|&(_, ms)| ms).collect();
    Ok(RateStep {
        rate,
        calls,
        successful,
        failed,
        achieved_cps: achieved_rate(&samples),
        setup_ms: Stats::of(&setup),
        sipp_ok: status.success(),
    })
}

/// Successful and failed calls in the last line of sipp's `-trace_stat`
/// file (`;`-separated, header first).
fn final_counts(stat_csv: &str) -> Option<(u64, u64)> {
    let mut lines = stat_csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(';').collect();
    let last: Vec<&str> = lines.next_back()?.split(';').collect();
    let field = |name: &str| -> Option<u64> {
        let at = header.iter().position(|h| *h == name)?;
        last.get(at)?.trim().parse().ok()
    };
    Some((field("SuccessfulCall(C)")?, field("FailedCall(C)")?))
}

/// (ms since the start, INVITE-to-200 ms) per call from sipp's `-trace_rtt`
/// file (`Date_ms;response_time_ms;rtd_no`).
fn response_times(rtt_csv: &str) -> Vec<(f64, f64)> {
    rtt_csv
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split(';');
            let at = f.next()?.trim().parse().ok()?;
            let ms = f.next()?.trim().parse().ok()?;
            Some((at, ms))
        })
        .collect()
}

/// Calls per second between the first and the last answered call.
fn achieved_rate(samples: &[(f64, f64)]) -> f64 {
    let first = samples.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let last = samples
        .iter()
        .map(|s| s.0)
        .fold(f64::NEG_INFINITY, f64::max);
    if samples.len() < 2 || last <= first {
        return 0.0;
    }
    (samples.len() - 1) as f64 * 1000.0 / (last - first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_the_last_stat_line() {
        let csv = "StartTime;SuccessfulCall(C);FailedCall(C);\n\
                   t0;0;0;\n\
                   t1;29;0;\n\
                   t2;998;2;\n";
        assert_eq!(final_counts(csv), Some((998, 2)));
        assert_eq!(final_counts("StartTime;Other\n"), None);
        assert_eq!(final_counts(""), None);
    }

    #[test]
    fn response_times_and_rate_from_the_rtt_trace() {
        let csv = "Date_ms;response_time_ms;rtd_no\n0;1;1\n500;0;1\n1000;4;1\nbad line\n";
        let samples = response_times(csv);
        assert_eq!(samples, vec![(0.0, 1.0), (500.0, 0.0), (1000.0, 4.0)]);
        assert!((achieved_rate(&samples) - 2.0).abs() < 1e-9);
        assert_eq!(achieved_rate(&samples[..1]), 0.0);
    }

    #[test]
    fn a_step_is_clean_only_without_failures_at_the_asked_rate() {
        let step = RateStep {
            rate: 100,
            calls: 500,
            successful: 500,
            failed: 0,
            achieved_cps: 99.0,
            setup_ms: Stats::default(),
            sipp_ok: true,
        };
        assert!(step.clean());
        assert!(
            !RateStep {
                failed: 1,
                successful: 499,
                ..step.clone()
            }
            .clean()
        );
        assert!(
            !RateStep {
                achieved_cps: 60.0,
                ..step.clone()
            }
            .clean()
        );
        assert!(
            !RateStep {
                sipp_ok: false,
                ..step
            }
            .clean()
        );
    }
}
