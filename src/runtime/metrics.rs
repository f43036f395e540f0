//! Prometheus metrics at `/metrics`. Counters the runtime bumps as things
//! happen (SIP responses, recognition time, RTP loss), and figures read off
//! the live board when scraped (calls, queues, agents). No call content.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::board::{CallPhase, Snapshot};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Code {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Phase {
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Queue {
    queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct State {
    state: String,
}

type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

pub struct Metrics {
    registry: Registry,
    sip_responses: Family<Code, Counter>,
    asr_seconds: Histogram,
    asr_given_up: Counter,
    rtp_lost: Counter,
    rtp_late: Counter,
    rtp_sent_late: Counter,
    calls_active: Family<Phase, Gauge>,
    calls: Counter,
    decisions: Family<Route, Counter>,
    escalations: Counter,
    answered: Counter,
    abandoned: Counter,
    queue_waiting: Family<Queue, Gauge>,
    queue_longest_wait: Family<Queue, FloatGauge>,
    queue_expected_wait: Family<Queue, FloatGauge>,
    queue_service_level: Family<Queue, FloatGauge>,
    agents: Family<State, Gauge>,
    /// Scrapes update the board figures before encoding: one at a time.
    render: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("ivr"),
            sip_responses: Family::default(),
            // 25 ms .. 6.4 s: tiny.en on a short utterance up to an overload.
            asr_seconds: Histogram::new(exponential_buckets(0.025, 2.0, 9)),
            asr_given_up: Counter::default(),
            rtp_lost: Counter::default(),
            rtp_late: Counter::default(),
            rtp_sent_late: Counter::default(),
            calls_active: Family::default(),
            calls: Counter::default(),
            decisions: Family::default(),
            escalations: Counter::default(),
            answered: Counter::default(),
            abandoned: Counter::default(),
            queue_waiting: Family::default(),
            queue_longest_wait: Family::default(),
            queue_expected_wait: Family::default(),
            queue_service_level: Family::default(),
            agents: Family::default(),
            render: Mutex::new(()),
        };
        let r = &mut m.registry;
        r.register(
            "sip_responses",
            "SIP responses sent, by status code",
            m.sip_responses.clone(),
        );
        r.register(
            "asr_latency_seconds",
            "Time to transcribe one utterance",
            m.asr_seconds.clone(),
        );
        r.register(
            "asr_given_up_utterances",
            "Utterances the overloaded recogniser gave up on (the caller went to a person)",
            m.asr_given_up.clone(),
        );
        r.register(
            "rtp_lost_packets",
            "RTP packets from callers never received (ended calls)",
            m.rtp_lost.clone(),
        );
        r.register(
            "rtp_late_packets",
            "RTP packets from callers that came too late to play (ended calls)",
            m.rtp_late.clone(),
        );
        r.register(
            "rtp_sent_late_packets",
            "Our own 20 ms RTP sends that ran over 40 ms behind schedule (ended calls)",
            m.rtp_sent_late.clone(),
        );
        r.register(
            "calls_active",
            "Live calls by phase",
            m.calls_active.clone(),
        );
        r.register("calls", "Calls answered", m.calls.clone());
        r.register(
            "decisions",
            "Routing decisions by route",
            m.decisions.clone(),
        );
        r.register(
            "agitation_escalations",
            "Calls whose agitation crossed the threshold",
            m.escalations.clone(),
        );
        r.register(
            "queue_answered",
            "Queued callers answered by an agent",
            m.answered.clone(),
        );
        r.register(
            "queue_abandoned",
            "Queued callers who hung up before an agent answered",
            m.abandoned.clone(),
        );
        r.register(
            "queue_waiting_callers",
            "Callers waiting per queue",
            m.queue_waiting.clone(),
        );
        r.register(
            "queue_longest_wait_seconds",
            "The longest current wait per queue",
            m.queue_longest_wait.clone(),
        );
        r.register(
            "queue_expected_wait_seconds",
            "What a caller joining now would wait, per queue",
            m.queue_expected_wait.clone(),
        );
        r.register(
            "queue_service_level_ratio",
            "Share of today's answered callers answered within the queue's target",
            m.queue_service_level.clone(),
        );
        r.register("agents", "Agents by state", m.agents.clone());
        m
    }

    pub fn sip_response(&self, code: u16) {
        self.sip_responses
            .get_or_create(&Code {
                code: code.to_string(),
            })
            .inc();
    }

    pub fn asr_latency_ms(&self, ms: f64) {
        self.asr_seconds.observe(ms / 1000.0);
    }

    pub fn asr_given_up(&self) {
        self.asr_given_up.inc();
    }

    pub fn rtp_packets(&self, lost: u64, late: u64) {
        self.rtp_lost.inc_by(lost);
        self.rtp_late.inc_by(late);
    }

    pub fn rtp_sent_late(&self, late: u64) {
        self.rtp_sent_late.inc_by(late);
    }

    /// The Prometheus text format, with the board's figures as of `board`.
    pub fn render(&self, board: &Snapshot) -> String {
        let _one = self.render.lock().unwrap_or_else(|p| p.into_inner());
        for phase in [
            CallPhase::InMenu,
            CallPhase::Waiting,
            CallPhase::Ringing,
            CallPhase::WithAgent,
        ] {
            let n = board.calls.iter().filter(|c| c.phase == phase).count();
            self.calls_active
                .get_or_create(&Phase {
                    phase: phase_name(phase).to_string(),
                })
                .set(n as i64);
        }
        catch_up(&self.calls, board.totals.calls);
        for (route, n) in &board.totals.decisions {
            catch_up(
                &self.decisions.get_or_create(&Route {
                    route: route.clone(),
                }),
                *n,
            );
        }
        catch_up(&self.escalations, board.totals.escalations);
        catch_up(&self.answered, board.totals.answered);
        catch_up(&self.abandoned, board.totals.abandoned);
        for q in &board.queues {
            let label = Queue {
                queue: q.name.clone(),
            };
            let on_line = q.waiting.iter().filter(|w| !w.callback).count();
            self.queue_waiting.get_or_create(&label).set(on_line as i64);
            self.queue_longest_wait
                .get_or_create(&label)
                .set(q.longest_wait_ms as f64 / 1000.0);
            self.queue_expected_wait
                .get_or_create(&label)
                .set(q.expected_wait_ms as f64 / 1000.0);
            if let Some(level) = q.service_level {
                self.queue_service_level
                    .get_or_create(&label)
                    .set(f64::from(level));
            }
        }
        for state in [
            "logged_out",
            "available",
            "ringing",
            "on_call",
            "wrap_up",
            "away",
        ] {
            let n = board.agents.iter().filter(|a| a.state == state).count();
            self.agents
                .get_or_create(&State {
                    state: state.to_string(),
                })
                .set(n as i64);
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

fn phase_name(phase: CallPhase) -> &'static str {
    match phase {
        CallPhase::InMenu => "in_menu",
        CallPhase::Waiting => "waiting",
        CallPhase::Ringing => "ringing",
        CallPhase::WithAgent => "with_agent",
        CallPhase::Ended => "ended",
    }
}

/// Brings a counter up to a total the board keeps.
fn catch_up(counter: &Counter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::{Board, BoardConfig, LiveEvent};

    #[test]
    fn renders_counters_and_board_figures() {
        let metrics = Metrics::new();
        metrics.sip_response(200);
        metrics.sip_response(200);
        metrics.sip_response(486);
        metrics.asr_latency_ms(180.0);
        metrics.asr_given_up();
        metrics.rtp_packets(3, 1);
        metrics.rtp_sent_late(2);
        let mut board = Board::new(BoardConfig {
            agitation_threshold: 0.6,
            queues: vec![("billing".into(), 30)],
        });
        board.handle_event(
            1,
            LiveEvent::CallStarted {
                call: "a".into(),
                caller: "100".into(),
                called: "hotline".into(),
            },
        );
        let text = metrics.render(&board.snapshot(2));
        for line in [
            "ivr_sip_responses_total{code=\"200\"} 2",
            "ivr_sip_responses_total{code=\"486\"} 1",
            "ivr_asr_latency_seconds_count 1",
            "ivr_asr_given_up_utterances_total 1",
            "ivr_rtp_lost_packets_total 3",
            "ivr_rtp_sent_late_packets_total 2",
            "ivr_calls_active{phase=\"in_menu\"} 1",
            "ivr_calls_total 1",
            "ivr_queue_waiting_callers{queue=\"billing\"} 0",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
        // A second scrape does not count twice.
        let again = metrics.render(&board.snapshot(3));
        assert!(again.contains("ivr_calls_total 1"), "{again}");
    }
}
