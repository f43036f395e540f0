//! `ivr bench hold` places its listening callers from one SIP socket and
//! one RTP port. Against the real engine over loopback, every call is
//! answered and held, the engine's streams are told apart and counted in
//! full (a packet the shared port lost would show as lost, not as on
//! time), and every caller's silence reaches its own call.

mod common;
#[path = "common/server.rs"]
mod server;

use std::time::Duration;

use ivr::brain::asr::Language;
use ivr::runtime::held_callers::{HoldOptions, hold_calls};
use server::TestServer;

const CALLS: usize = 12;
const HOLD_MS: u64 = 2_000;

#[test]
fn held_callers_share_one_port_and_every_stream_is_counted() {
    let srv = TestServer::start("bench-hold", Language::En);
    let opts = HoldOptions {
        target: format!("sip:hotline@{}", srv.sip_udp()),
        calls: CALLS,
        stagger_ms: 10,
        hold_ms: HOLD_MS,
        rounds: 1,
        watch_pid: Some(std::process::id()),
    };
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(hold_calls(&opts))
        .expect("the load runs");

    assert_eq!(report.failed, 0, "failures: {:?}", report.failures);
    assert_eq!(report.setup_ms.n, CALLS, "every call answered");
    // Each call is held 2 s: 100 packets of 20 ms from the engine, give or
    // take the ticks around answer and hang-up.
    let per_call = report.packets as f64 / CALLS as f64;
    assert!(
        (80.0..=120.0).contains(&per_call),
        "{per_call} packets a call"
    );
    assert_eq!(report.lost_packets, 0, "nothing lost on loopback");
    assert!(report.engine_cpu_s.is_some() && report.host_steal_s.is_some());
    // The spread of arrivals is reported, and is within the worst delay.
    let p99 = report.behind_p99_ms.expect("arrival spread measured");
    assert!((0.0..=report.max_lateness_ms).contains(&p99), "p99 {p99}");

    let calls = srv.wait_for_ended_calls(CALLS, Duration::from_secs(15));
    assert_eq!(calls.len(), CALLS, "every call stored");
    for call in &calls {
        assert_eq!(call.end_reason.as_deref(), Some("caller_hung_up"));
        let stats = call.rtp_stats.as_ref().expect("RTP counters");
        let received = stats["received"].as_u64().unwrap_or(0);
        assert!(
            received >= 80,
            "the caller's silence reached its call: {stats}"
        );
    }
}
