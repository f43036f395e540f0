//! `ivr serve` (the real binary) stops cleanly on SIGTERM: a caller in the
//! middle of a call hears goodbye and is hung up, the process exits 0, and
//! the call record is in the database with what the caller said.

mod common;

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ivr::runtime::dialer::{DialOptions, dial};
use ivr::store::{CallFilter, Store};

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn sigterm_says_goodbye_hangs_up_and_keeps_the_record() {
    let dir = std::env::temp_dir().join(format!("ivr-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let repo = common::repo();
    let config = dir.join("ivr.toml");
    std::fs::write(
        &config,
        format!(
            "[sip]\nudp = \"127.0.0.1:{port}\"\ntcp = \"127.0.0.1:{port}\"\n\
             [rtp]\nport_min = 50000\nport_max = 50998\n\
             [engine]\ndialplan = \"{}\"\nmodels_dir = \"{}\"\n\
             [storage]\ndatabase = \"{}\"\nrecordings = \"{}\"\nprompt_cache = \"{}\"\n",
            repo.join("dialplans/hotline.toml").display(),
            repo.join("models").display(),
            dir.join("calls.sqlite").display(),
            dir.join("recordings").display(),
            repo.join("target/test-prompts").display(),
        ),
    )
    .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_ivr"))
        .args(["serve", "--config"])
        .arg(&config)
        .stderr(Stdio::piped())
        .spawn()
        .expect("ivr serve starts");
    let log = server.stderr.take().unwrap();
    let ready = std::thread::spawn(move || {
        use std::io::{BufRead, BufReader};
        let mut lines = Vec::new();
        for line in BufReader::new(log).lines().map_while(Result::ok) {
            lines.push(line);
        }
        lines
    });
    // Wait (bounded) until SIP answers.
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until && !sip_answers_options(port) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        sip_answers_options(port),
        "ivr serve never answered OPTIONS"
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pid = server.id();
    let call = runtime.spawn(async move {
        dial(&DialOptions {
            target: format!("sip:hotline@127.0.0.1:{port}"),
            play: common::repo().join("audio-fixtures/en_lost_01.wav"),
            local_ip: "127.0.0.1".parse().unwrap(),
            wait_for_prompt_ms: 0,
            listen_ms: 30_000,
            answer_timeout_ms: 10_000,
            dtmf: String::new(),
        })
        .await
    });
    // Let the caller speak and be understood, then stop the engine mid-call.
    std::thread::sleep(Duration::from_secs(9));
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_bounded(&mut server, Duration::from_secs(30));
    let report = runtime
        .block_on(call)
        .unwrap()
        .expect("the call was answered");
    let log = ready.join().unwrap().join("\n");
    assert_eq!(exit, Some(0), "ivr serve exit status; log:\n{log}");
    assert!(report.remote_hung_up, "the engine hung up the caller");

    let store = Store::open(&dir.join("calls.sqlite")).unwrap();
    let calls = store.list_calls(&CallFilter::default()).unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call.end_reason.as_deref(), Some("shutdown"), "{call:?}");
    assert!(call.ended_unix_ms.is_some());
    assert!(!call.turns.is_empty(), "what the caller said is kept");
    assert!(
        call.events.iter().any(|e| e.detail.contains("goodbye")),
        "the caller heard goodbye: {:?}",
        call.events
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn sip_answers_options(port: u16) -> bool {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let local = socket.local_addr().unwrap();
    let msg = format!(
        "OPTIONS sip:hotline@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-{}\r\n\
         From: <sip:probe@{local}>;tag=p\r\nTo: <sip:hotline@127.0.0.1>\r\nCall-ID: probe-{}@test\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        local.port(),
        local.port()
    );
    if socket.send_to(msg.as_bytes(), ("127.0.0.1", port)).is_err() {
        return false;
    }
    let mut buf = [0u8; 4096];
    matches!(socket.recv_from(&mut buf), Ok((n, _)) if buf[..n].starts_with(b"SIP/2.0 200"))
}

fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    None
}
