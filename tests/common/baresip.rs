//! Runs baresip (Debian `baresip-core`) headless as a caller: a private
//! config folder from `tests/baresip/`, the caller's voice read from a WAV
//! (`aufile`), and what the caller hears dumped to a WAV by the `sndfile`
//! filter. Every run is bounded in time.
#![allow(dead_code)]

use std::fs::File;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ivr::media::wav::{read_wav, write_wav_pcm16};

pub struct BaresipCall {
    /// baresip ended on its own or on our SIGTERM (not killed, not timed out).
    pub clean_exit: bool,
    /// Its console output and SIP trace.
    pub log: String,
    /// What the caller heard (8 kHz 16-bit PCM), when a call got media.
    pub heard: Option<PathBuf>,
    /// What the caller sent, as baresip encoded it.
    pub sent: Option<PathBuf>,
}

/// Writes `fixture` as 8 kHz 16-bit PCM (what baresip's aufile reads) with
/// `lead_ms` of silence before and `tail_ms` after. aufile starts with the
/// call and baresip hangs up when the file ends, so the lead lets the caller
/// hear the greeting first and the tail is how long it listens afterwards.
pub fn padded_caller_wav(fixture: &Path, lead_ms: u32, tail_ms: u32, out: &Path) -> PathBuf {
    let audio = read_wav(fixture).expect("fixture reads");
    assert_eq!(
        audio.sample_rate,
        8000,
        "{} is not 8 kHz",
        fixture.display()
    );
    let ms = |n: u32| (n as usize) * 8;
    let mut samples = vec![0i16; ms(lead_ms)];
    samples.extend_from_slice(&audio.samples);
    samples.resize(samples.len() + ms(tail_ms), 0);
    write_wav_pcm16(out, 8000, &samples).expect("caller WAV writes");
    out.to_path_buf()
}

/// A port free right now for both UDP and TCP (baresip listens on both).
fn free_sip_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("a UDP port");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP");
}

/// Has baresip, as user `caller`, call `target` (a sip: URI) speaking
/// `source`. It hangs up when `source` ends; it is stopped with SIGTERM once
/// `call_over` says the far end saw the call end, and killed after `limit`.
pub fn call(
    target: &str,
    caller: &str,
    source: &Path,
    work: &Path,
    limit: Duration,
    call_over: impl Fn() -> bool,
) -> BaresipCall {
    let conf = work.join("baresip");
    let dump = conf.join("dump");
    let _ = std::fs::remove_dir_all(&conf);
    std::fs::create_dir_all(&dump).unwrap();
    let template = |name: &str| {
        std::fs::read_to_string(crate::common::repo().join("tests/baresip").join(name))
            .expect("baresip template exists")
    };
    let config = template("config")
        .replace("@SIP_PORT@", &free_sip_port().to_string())
        .replace("@SOURCE@", &source.display().to_string())
        .replace("@DUMP_DIR@", &dump.display().to_string());
    std::fs::write(conf.join("config"), config).unwrap();
    std::fs::write(
        conf.join("accounts"),
        template("accounts").replace("@CALLER@", caller),
    )
    .unwrap();
    std::fs::write(conf.join("contacts"), "").unwrap();

    let log_path = work.join("baresip.log");
    let log = File::create(&log_path).unwrap();
    let secs = limit.as_secs().max(1).to_string();
    // `timeout` bounds it even if this test dies; `-t` is baresip's own quit timer.
    let mut child = Command::new("timeout")
        .args(["-k", "5", &secs, "baresip", "-4", "-s", "-f"])
        .arg(&conf)
        .args(["-t", &secs, "-e", &format!("/dial {target}")])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("baresip runs (make test installs the baresip-core package)");

    let started = Instant::now();
    let mut over_since: Option<Instant> = None;
    let mut signalled = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if over_since.is_none() && call_over() {
            over_since = Some(Instant::now());
        }
        // A moment's grace lets baresip finish its side of the hangup first.
        let grace_done = over_since.is_some_and(|t| t.elapsed() > Duration::from_millis(1500));
        if grace_done && !signalled {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            signalled = true;
        }
        if started.elapsed() > limit + Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // `timeout` passes SIGTERM on and exits with 124 when it signalled itself.
    let clean_exit = status.is_some_and(|s| s.success() || (signalled && s.code() == Some(143)));

    let dumped = |suffix: &str| {
        std::fs::read_dir(&dump)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(suffix))
    };
    BaresipCall {
        clean_exit,
        log: std::fs::read_to_string(&log_path).unwrap_or_default(),
        heard: dumped("-dec.wav"),
        sent: dumped("-enc.wav"),
    }
}
