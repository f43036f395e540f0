//! Runs sipp (Debian `sip-tester`) scenarios from `tests/sipp/` against a
//! test server: placeholders `@NAME@` filled in, one call, bounded in time,
//! the SIP messages traced to a file the test can read.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct SippRun {
    pub success: bool,
    pub output: String,
    /// Every SIP message sipp sent and received, in order.
    pub messages: String,
    pub errors: String,
}

impl SippRun {
    /// The first lines (request or status lines) of the traced messages.
    pub fn flow(&self) -> Vec<String> {
        let mut flow = Vec::new();
        let mut expect_start = false;
        for line in self.messages.lines() {
            let line = line.trim();
            if line.starts_with("----------") || line.is_empty() && flow.is_empty() {
                expect_start = true;
                continue;
            }
            if expect_start
                && !line.is_empty()
                && !line.contains("message sent")
                && !line.contains("message received")
            {
                if line.starts_with("SIP/2.0 ") || line.split_whitespace().nth(2) == Some("SIP/2.0")
                {
                    flow.push(line.to_string());
                }
                expect_start = false;
            }
        }
        flow
    }
}

/// A UDP port free right now (sipp needs explicit ports to run in parallel).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A free UDP port below the kernel's ephemeral range (and the test
/// server's RTP range), for a sipp that must listen on a port chosen before
/// it starts: a port from [`free_udp_port`] can be handed to another
/// socket bound to port 0 in the meantime.
pub fn listening_port() -> u16 {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()) << 20;
    loop {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let port = 21_000 + ((seed >> 33) % 8_000) as u16;
        if UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && UdpSocket::bind(("127.0.0.1", port & !1)).is_ok()
        {
            return port;
        }
    }
}

/// Runs `tests/sipp/<scenario>.xml` once against `server` (`transport`:
/// `u1` UDP, `t1` TCP), with `vars` filled in.
pub fn run_sipp(
    scenario: &str,
    vars: &[(&str, String)],
    server: SocketAddr,
    transport: &str,
    work: &Path,
) -> SippRun {
    let template =
        std::fs::read_to_string(crate::common::repo().join(format!("tests/sipp/{scenario}.xml")))
            .expect("scenario exists");
    let mut xml = template;
    for (name, value) in vars {
        xml = xml.replace(&format!("@{name}@"), value);
    }
    assert!(!xml.contains("@CALLER@") || vars.iter().all(|(n, _)| *n != "CALLER"));
    let file = work.join(format!("{scenario}.xml"));
    std::fs::write(&file, xml).unwrap();
    let messages = work.join(format!("{scenario}-messages.log"));
    let errors = work.join(format!("{scenario}-errors.log"));
    let media = free_udp_port() & !1;
    let output = Command::new("timeout")
        .args(["120", "sipp"])
        .arg(server.to_string())
        .arg("-sf")
        .arg(&file)
        .args(["-m", "1", "-l", "1", "-t", transport, "-i", "127.0.0.1"])
        .args(["-p", &free_udp_port().to_string()])
        .args(["-mp", &media.to_string()])
        .args(["-mi", "127.0.0.1"])
        .args(["-timeout", "90s", "-timeout_error", "-recv_timeout", "30s"])
        .args(["-trace_msg", "-message_file"])
        .arg(&messages)
        .args(["-trace_err", "-error_file"])
        .arg(&errors)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sipp runs (make test installs the sip-tester package)");
    SippRun {
        success: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        messages: std::fs::read_to_string(&messages).unwrap_or_default(),
        errors: std::fs::read_to_string(&errors).unwrap_or_default(),
    }
}

pub fn sip_tester_file(name: &str) -> PathBuf {
    PathBuf::from("/usr/share/sip-tester").join(name)
}

/// A sipp instance running in the background (an agent's phone), killed
/// when dropped. Its SIP messages are traced to `messages`.
pub struct SippPhone {
    child: std::process::Child,
    pub messages: PathBuf,
}

impl SippPhone {
    /// Starts `tests/sipp/<scenario>.xml` with out-of-call scenario
    /// `<ooc>.xml` (both with `vars` filled in) and extra sipp arguments.
    pub fn spawn(
        scenario: &str,
        ooc: &str,
        vars: &[(&str, String)],
        server: SocketAddr,
        extra: &[&str],
        work: &Path,
    ) -> SippPhone {
        let fill = |name: &str| {
            let mut xml = std::fs::read_to_string(
                crate::common::repo().join(format!("tests/sipp/{name}.xml")),
            )
            .expect("scenario exists");
            for (var, value) in vars {
                xml = xml.replace(&format!("@{var}@"), value);
            }
            let file = work.join(format!("{name}.xml"));
            std::fs::write(&file, xml).unwrap();
            file
        };
        let (main, ooc) = (fill(scenario), fill(ooc));
        let messages = work.join(format!("{scenario}-messages.log"));
        let child = Command::new("timeout")
            .args(["120", "sipp"])
            .arg(server.to_string())
            .arg("-sf")
            .arg(&main)
            .arg("-oocsf")
            .arg(&ooc)
            .args(["-m", "1", "-t", "u1", "-i", "127.0.0.1", "-mi", "127.0.0.1"])
            .args(["-p", &free_udp_port().to_string()])
            .args(["-mp", &(free_udp_port() & !1).to_string()])
            .args(["-timeout", "90s", "-trace_msg", "-message_file"])
            .arg(&messages)
            .args(extra)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sipp runs");
        SippPhone { child, messages }
    }

    /// A phone that only takes calls: `tests/sipp/<scenario>.xml` (with
    /// `vars` filled in) as a UAS on loopback `port`, answering one call.
    pub fn listen(
        scenario: &str,
        vars: &[(&str, String)],
        port: u16,
        extra: &[&str],
        work: &Path,
    ) -> SippPhone {
        let mut xml = std::fs::read_to_string(
            crate::common::repo().join(format!("tests/sipp/{scenario}.xml")),
        )
        .expect("scenario exists");
        for (var, value) in vars {
            xml = xml.replace(&format!("@{var}@"), value);
        }
        let file = work.join(format!("{scenario}-uas.xml"));
        std::fs::write(&file, xml).unwrap();
        let messages = work.join(format!("{scenario}-uas-messages.log"));
        let child = Command::new("timeout")
            .args(["120", "sipp", "-sf"])
            .arg(&file)
            .args(["-m", "1", "-t", "u1", "-i", "127.0.0.1", "-mi", "127.0.0.1"])
            .args(["-p", &port.to_string()])
            .args(["-mp", &(listening_port() & !1).to_string()])
            .args(["-timeout", "90s", "-trace_msg", "-message_file"])
            .arg(&messages)
            .args(extra)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sipp runs");
        SippPhone { child, messages }
    }

    pub fn messages(&self) -> String {
        std::fs::read_to_string(&self.messages).unwrap_or_default()
    }

    /// Waits (bounded) until the traced messages contain `text`.
    pub fn wait_for(&self, text: &str, limit: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + limit;
        while std::time::Instant::now() < until {
            if self.messages().contains(text) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.messages().contains(text)
    }
}

impl Drop for SippPhone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
