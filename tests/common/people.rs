//! Helpers for tests where callers reach people over SIP: a caller placed in
//! the background (the in-process `ivr dial`), bounded waits on the live
//! board, and the agent and queue views it shows.
#![allow(dead_code)] // each test crate uses only some helpers

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ivr::board::{AgentBoardView, WaitingView};
use ivr::media::wav;
use ivr::runtime::dialer::{DialOptions, DialReport, dial};

use crate::server::TestServer;

/// Polls `done` every 100 ms for at most `limit`; whether it came true.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `ms` of silence as an 8 kHz WAV in `dir`: a caller who only keys digits.
pub fn silence_wav(dir: &Path, ms: usize) -> PathBuf {
    let path = dir.join(format!("silence-{ms}.wav"));
    wav::write_wav_pcm16(&path, 8000, &vec![0i16; ms * 8]).unwrap();
    path
}

/// The caller: plays `play` once the greeting ended, then keys `dtmf`,
/// listens `listen_ms` and hangs up. Runs on the server's runtime; join
/// with [`Caller::finish`].
pub struct Caller(tokio::task::JoinHandle<Result<DialReport, String>>);

impl Caller {
    pub fn dial(srv: &TestServer, play: PathBuf, dtmf: &str, listen_ms: u64) -> Caller {
        let opts = DialOptions {
            target: format!("sip:hotline@127.0.0.1:{}", srv.sip_udp().port()),
            play,
            local_ip: "127.0.0.1".parse().unwrap(),
            wait_for_prompt_ms: 800,
            listen_ms,
            answer_timeout_ms: 10_000,
            dtmf: dtmf.to_string(),
        };
        Caller(
            srv.runtime
                .spawn(async move { dial(&opts).await.map_err(|e| e.to_string()) }),
        )
    }

    pub fn finish(self, srv: &TestServer) -> DialReport {
        srv.runtime
            .block_on(self.0)
            .expect("the caller ran")
            .expect("the caller's call was answered")
    }
}

pub fn agent(srv: &TestServer, id: &str) -> Option<AgentBoardView> {
    let snapshot = srv.engine.live.snapshot();
    snapshot.agents.into_iter().find(|a| a.id == id)
}

/// Callers waiting in `queue` as the board shows them.
pub fn waiting(srv: &TestServer, queue: &str) -> Vec<WaitingView> {
    let snapshot = srv.engine.live.snapshot();
    snapshot
        .queues
        .into_iter()
        .find(|q| q.name == queue)
        .map(|q| q.waiting)
        .unwrap_or_default()
}

/// Waits until the agent's phone is registered (the board says so).
pub fn wait_registered(srv: &TestServer, id: &str) -> bool {
    wait_until(Duration::from_secs(20), || {
        agent(srv, id).is_some_and(|a| a.registered)
    })
}
