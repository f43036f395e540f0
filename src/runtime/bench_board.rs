//! The supervisors' board under load (`ivr bench board`): many live calls
//! on a running engine, several boards open on its event stream. Measures
//! how long a change takes from the engine to a board (each call view says
//! when it changed, on the same machine's clock) and what the open boards
//! cost the server in CPU and memory.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::runtime::clock::unix_ms;
use crate::runtime::load::{LoadOptions, Stats, rss_kb, run_load};

/// Pairs of windows (without boards, with boards) the measure alternates.
const ROUNDS: usize = 3;

#[derive(Debug, Clone)]
pub struct BoardBenchOptions {
    pub http: SocketAddr,
    pub user: String,
    pub password: String,
    pub boards: usize,
    /// The callers that keep the board busy.
    pub load: LoadOptions,
    /// Seconds measured without boards, then with them.
    pub window_s: u64,
    pub server_pid: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardBenchReport {
    pub calls: usize,
    pub boards: usize,
    /// Engine to board, over every call update every board received.
    pub event_latency_ms: Stats,
    pub updates_received: usize,
    /// The server's CPU (% of one core, averaged) and peak resident memory,
    /// same callers, in alternating windows without boards and with them.
    pub cpu_percent_no_boards: f64,
    pub cpu_percent_with_boards: f64,
    pub rss_kb_no_boards: u64,
    pub rss_kb_with_boards: u64,
    pub failed_calls: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BoardBenchError {
    #[error("cannot log in to {0}: {1}")]
    Login(SocketAddr, String),
    #[error("cannot open the event stream: {0}")]
    Stream(String),
}

pub async fn run_board_bench(opts: BoardBenchOptions) -> Result<BoardBenchReport, BoardBenchError> {
    let token = login(opts.http, &opts.user, &opts.password)?;
    let calls = opts.load.calls;
    let load = opts.load.clone();
    let callers = tokio::spawn(async move { run_load(&load).await });
    // Let the calls come up (greeting, first words) before measuring.
    let ramp = opts.load.stagger_ms * calls as u64 + 4000;
    tokio::time::sleep(Duration::from_millis(ramp)).await;
    let window = Duration::from_secs(opts.window_s.max(1));

    // Windows without and with boards alternate, so the callers' own work
    // (recognition comes in bursts) weighs on both alike.
    let slice = window / ROUNDS as u32;
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let (mut cpu_no_boards, mut cpu_with_boards) = (0.0, 0.0);
    let (mut rss_no_boards, mut rss_with_boards) = (0, 0);
    for _ in 0..ROUNDS {
        let (cpu, rss) = measure(opts.server_pid, slice).await;
        cpu_no_boards += cpu / ROUNDS as f64;
        rss_no_boards = rss_no_boards.max(rss);
        let stop = Arc::new(AtomicBool::new(false));
        let mut readers = Vec::new();
        for _ in 0..opts.boards {
            let socket = open_board(opts.http, &token)?;
            let (stop, latencies) = (stop.clone(), latencies.clone());
            readers.push(std::thread::spawn(move || {
                read_board(socket, &stop, &latencies)
            }));
        }
        let (cpu, rss) = measure(opts.server_pid, slice).await;
        cpu_with_boards += cpu / ROUNDS as f64;
        rss_with_boards = rss_with_boards.max(rss);
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            let _ = reader.join();
        }
    }
    let report = callers.await.ok();
    let latencies = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    Ok(BoardBenchReport {
        calls,
        boards: opts.boards,
        event_latency_ms: Stats::of(&latencies),
        updates_received: latencies.len(),
        cpu_percent_no_boards: cpu_no_boards,
        cpu_percent_with_boards: cpu_with_boards,
        rss_kb_no_boards: rss_no_boards,
        rss_kb_with_boards: rss_with_boards,
        failed_calls: report.map_or(calls, |r| r.failed),
    })
}

/// The server's CPU over `window` (% of one core) and its memory at the end.
async fn measure(pid: u32, window: Duration) -> (f64, u64) {
    let before = cpu_ticks(pid).unwrap_or(0);
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let used = cpu_ticks(pid).unwrap_or(0).saturating_sub(before);
    // Linux reports CPU time in clock ticks of 1/100 s.
    let percent = used as f64 / 100.0 / started.elapsed().as_secs_f64() * 100.0;
    (percent, rss_kb(pid).unwrap_or(0))
}

/// utime + stime of a process, in clock ticks (/proc/PID/stat).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces: ") S ppid ...".
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// POST /api/login with a plain HTTP/1.1 request; returns the token.
fn login(http: SocketAddr, user: &str, password: &str) -> Result<String, BoardBenchError> {
    let fail = |e: String| BoardBenchError::Login(http, e);
    let body = serde_json::json!({ "user": user, "password": password }).to_string();
    let mut stream = TcpStream::connect_timeout(&http, Duration::from_secs(5))
        .map_err(|e| fail(e.to_string()))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| fail(e.to_string()))?;
    write!(
        stream,
        "POST /api/login HTTP/1.1\r\nHost: {http}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| fail(e.to_string()))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| fail(e.to_string()))?;
    let json = response.split("\r\n\r\n").nth(1).unwrap_or("");
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|_| fail(response.lines().next().unwrap_or("").into()))?;
    value["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| fail(value.to_string()))
}

type Board = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>;

fn open_board(http: SocketAddr, token: &str) -> Result<Board, BoardBenchError> {
    use tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{http}/api/events")
        .into_client_request()
        .map_err(|e| BoardBenchError::Stream(e.to_string()))?;
    let bearer = format!("Bearer {token}")
        .parse()
        .map_err(|_| BoardBenchError::Stream("bad token".into()))?;
    request.headers_mut().insert("Authorization", bearer);
    let (socket, _) =
        tungstenite::connect(request).map_err(|e| BoardBenchError::Stream(e.to_string()))?;
    if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = socket.get_ref() {
        // Wake now and then to see whether the window is over.
        let _ = tcp.set_read_timeout(Some(Duration::from_millis(200)));
    }
    Ok(socket)
}

fn read_board(mut socket: Board, stop: &AtomicBool, latencies: &Mutex<Vec<f64>>) {
    while !stop.load(Ordering::Relaxed) {
        let text = match socket.read() {
            Ok(tungstenite::Message::Text(text)) => text,
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => return,
        };
        let received = unix_ms();
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if message["type"] == "call"
            && let Some(changed) = message["updated_unix_ms"].as_i64()
            && let Ok(mut all) = latencies.lock()
        {
            all.push((received - changed).max(0) as f64);
        }
    }
    let _ = socket.close(None);
}
