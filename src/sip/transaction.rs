//! RFC 3261 section 17 transactions (with the RFC 6026 Accepted state), as
//! plain state machines over `now_ms`. They keep the last message to resend
//! and say when to resend it; the endpoint does the sending.
//!
//! On TCP no retransmission timer runs and the wait states end at once.

use super::types::Transport;

/// RTT estimate, the base of every timer.
pub const T1: u64 = 500;
/// Cap of the retransmission interval for non-INVITE requests and responses.
pub const T2: u64 = 4_000;
/// How long a message may stay in the network.
pub const T4: u64 = 5_000;
/// Timers B, F, H, J, L, M, and the wait for the ACK of a 2xx.
pub const TIMEOUT: u64 = 64 * T1;

#[derive(Debug, Clone, Copy)]
struct Resend {
    at: u64,
    interval: u64,
}

/// What a fired timer asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fired {
    /// Bytes to send again.
    pub resend: Option<Vec<u8>>,
    /// Timer B/F (no final response) or H (no ACK) ran out.
    pub timed_out: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// No final response yet (Trying / Proceeding).
    Proceeding,
    /// Final response sent: non-2xx to INVITE waits for the ACK, non-INVITE
    /// absorbs retransmissions.
    Completed,
    /// ACK for a non-2xx received.
    Confirmed,
    /// 2xx to INVITE sent; the dialog layer retransmits it until the ACK.
    Accepted,
    Terminated,
}

pub struct ServerTransaction {
    invite: bool,
    reliable: bool,
    state: ServerState,
    last_response: Option<Vec<u8>>,
    resend: Option<Resend>,
    end_at: Option<u64>,
}

impl ServerTransaction {
    pub fn new(invite: bool, transport: Transport) -> ServerTransaction {
        ServerTransaction {
            invite,
            reliable: transport.is_reliable(),
            state: ServerState::Proceeding,
            last_response: None,
            resend: None,
            end_at: None,
        }
    }

    #[cfg(test)]
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// Records a response the caller is sending. Returns false (and records
    /// nothing) when a final response was already sent.
    pub fn respond(&mut self, now_ms: u64, status: u16, bytes: Vec<u8>) -> bool {
        if self.state != ServerState::Proceeding {
            return false;
        }
        self.last_response = Some(bytes);
        if status < 200 {
            return true;
        }
        if self.invite && status < 300 {
            self.state = ServerState::Accepted;
            self.end_at = Some(now_ms + TIMEOUT); // timer L
        } else if self.invite {
            self.state = ServerState::Completed;
            if !self.reliable {
                self.resend = Some(Resend {
                    at: now_ms + T1,
                    interval: T1,
                }); // timer G
            }
            self.end_at = Some(now_ms + TIMEOUT); // timer H
        } else {
            self.state = ServerState::Completed;
            self.end_at = Some(now_ms + if self.reliable { 0 } else { TIMEOUT }); // timer J
        }
        true
    }

    /// The request came again: what to resend, if anything yet.
    pub fn retransmission(&self) -> Option<Vec<u8>> {
        match self.state {
            ServerState::Proceeding | ServerState::Completed | ServerState::Accepted => {
                self.last_response.clone()
            }
            ServerState::Confirmed | ServerState::Terminated => None,
        }
    }

    /// An ACK matching this INVITE transaction (for a non-2xx). Returns
    /// whether it was absorbed here.
    pub fn ack(&mut self, now_ms: u64) -> bool {
        match self.state {
            ServerState::Completed if self.invite => {
                self.state = ServerState::Confirmed;
                self.resend = None;
                self.end_at = Some(now_ms + if self.reliable { 0 } else { T4 }); // timer I
                true
            }
            ServerState::Confirmed => true,
            _ => false,
        }
    }

    pub fn next_timer(&self) -> Option<u64> {
        earliest(self.resend.map(|r| r.at), self.end_at)
    }

    pub fn on_timer(&mut self, now_ms: u64) -> Fired {
        let mut fired = Fired::default();
        if self.end_at.is_some_and(|t| t <= now_ms) {
            fired.timed_out = self.state == ServerState::Completed && self.invite;
            self.terminate();
            return fired;
        }
        if let Some(r) = self.resend.as_mut().filter(|r| r.at <= now_ms) {
            r.interval = (r.interval * 2).min(T2);
            r.at = now_ms + r.interval;
            fired.resend = self.last_response.clone();
        }
        fired
    }

    pub fn terminate(&mut self) {
        self.state = ServerState::Terminated;
        self.resend = None;
        self.end_at = None;
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerState::Terminated
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Request sent, nothing heard (Calling / Trying).
    Calling,
    Proceeding,
    /// Final response received (non-2xx for INVITE: ACK sent).
    Completed,
    /// 2xx to INVITE received; more 2xx may follow (RFC 6026 timer M).
    Accepted,
    Terminated,
}

/// What to do with a response the client transaction has seen.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ResponseAction {
    /// Give it to the call (the transaction user).
    pub pass_up: bool,
    /// Send these bytes (an ACK).
    pub send: Option<Vec<u8>>,
}

pub struct ClientTransaction {
    invite: bool,
    reliable: bool,
    state: ClientState,
    request: Vec<u8>,
    resend: Option<Resend>,
    timeout_at: Option<u64>,
    fixed_deadline: bool,
    end_at: Option<u64>,
    ack: Option<Vec<u8>>,
}

impl ClientTransaction {
    /// `request` is what the caller sends now; timers A/E and B/F start.
    pub fn new(
        now_ms: u64,
        invite: bool,
        transport: Transport,
        request: Vec<u8>,
    ) -> ClientTransaction {
        let reliable = transport.is_reliable();
        ClientTransaction {
            invite,
            reliable,
            state: ClientState::Calling,
            request,
            resend: (!reliable).then_some(Resend {
                at: now_ms + T1,
                interval: T1,
            }),
            timeout_at: Some(now_ms + TIMEOUT),
            fixed_deadline: false,
            end_at: None,
            ack: None,
        }
    }

    #[cfg(test)]
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// Gives up at `at` unless a final response came (RFC 3261 9.1: an
    /// INVITE whose CANCEL got no 487 within 64*T1).
    pub fn set_deadline(&mut self, at: u64) {
        if matches!(self.state, ClientState::Calling | ClientState::Proceeding) {
            self.timeout_at = Some(at);
            self.fixed_deadline = true;
        }
    }

    /// The ACK the call sent for the 2xx, resent for each 2xx retransmission.
    pub fn set_ack_for_2xx(&mut self, ack: Vec<u8>) {
        self.ack = Some(ack);
    }

    pub fn on_response(
        &mut self,
        now_ms: u64,
        status: u16,
        make_ack: impl FnOnce() -> Vec<u8>,
    ) -> ResponseAction {
        let open = matches!(self.state, ClientState::Calling | ClientState::Proceeding);
        let pass = ResponseAction {
            pass_up: true,
            send: None,
        };
        if status < 200 {
            if !open {
                return ResponseAction::default();
            }
            self.state = ClientState::Proceeding;
            if self.invite {
                self.resend = None;
                if !self.fixed_deadline {
                    self.timeout_at = None;
                }
            } else if let Some(r) = self.resend.as_mut() {
                r.interval = T2;
            }
            return pass;
        }
        if self.invite && status < 300 {
            if self.state == ClientState::Accepted {
                return match &self.ack {
                    Some(ack) => ResponseAction {
                        pass_up: false,
                        send: Some(ack.clone()),
                    },
                    None => pass,
                };
            }
            if !open {
                return ResponseAction::default();
            }
            self.state = ClientState::Accepted;
            self.stop_timers();
            self.end_at = Some(now_ms + TIMEOUT); // timer M
            return pass;
        }
        if !open {
            // A retransmitted final response: INVITE resends its ACK.
            let send = (self.invite && self.state == ClientState::Completed)
                .then(|| self.ack.clone())
                .flatten();
            return ResponseAction {
                pass_up: false,
                send,
            };
        }
        self.state = ClientState::Completed;
        self.stop_timers();
        let wait = match (self.reliable, self.invite) {
            (true, _) => 0,
            (false, true) => 32_000, // timer D
            (false, false) => T4,    // timer K
        };
        self.end_at = Some(now_ms + wait);
        if self.invite {
            let ack = make_ack();
            self.ack = Some(ack.clone());
            return ResponseAction {
                pass_up: true,
                send: Some(ack),
            };
        }
        pass
    }

    fn stop_timers(&mut self) {
        self.resend = None;
        self.timeout_at = None;
    }

    pub fn next_timer(&self) -> Option<u64> {
        earliest(
            earliest(self.resend.map(|r| r.at), self.timeout_at),
            self.end_at,
        )
    }

    pub fn on_timer(&mut self, now_ms: u64) -> Fired {
        let mut fired = Fired::default();
        if self.timeout_at.is_some_and(|t| t <= now_ms) {
            fired.timed_out = true;
            self.terminate();
            return fired;
        }
        if self.end_at.is_some_and(|t| t <= now_ms) {
            self.terminate();
            return fired;
        }
        let invite = self.invite;
        if let Some(r) = self.resend.as_mut().filter(|r| r.at <= now_ms) {
            // Timer A doubles without a cap; timer E is capped at T2.
            r.interval = if invite {
                r.interval * 2
            } else {
                (r.interval * 2).min(T2)
            };
            r.at = now_ms + r.interval;
            fired.resend = Some(self.request.clone());
        }
        fired
    }

    pub fn terminate(&mut self) {
        self.state = ClientState::Terminated;
        self.resend = None;
        self.timeout_at = None;
        self.end_at = None;
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientState::Terminated
    }
}

fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs timers until `until`, returning when each resend happened.
    fn resends(
        next: impl Fn() -> Option<u64>,
        mut fire: impl FnMut(u64) -> Fired,
        until: u64,
    ) -> (Vec<u64>, bool) {
        let mut at = Vec::new();
        while let Some(t) = next() {
            if t > until {
                break;
            }
            let f = fire(t);
            if f.resend.is_some() {
                at.push(t);
            }
            if f.timed_out {
                return (at, true);
            }
        }
        (at, false)
    }

    #[test]
    fn invite_client_timer_a_doubles_until_timer_b() {
        let tx = std::cell::RefCell::new(ClientTransaction::new(
            0,
            true,
            Transport::Udp,
            b"INVITE".to_vec(),
        ));
        let (at, timed_out) = resends(
            || tx.borrow().next_timer(),
            |t| tx.borrow_mut().on_timer(t),
            40_000,
        );
        assert_eq!(at, vec![500, 1500, 3500, 7500, 15500, 31500]);
        assert!(timed_out);
    }

    #[test]
    fn non_invite_client_timer_e_caps_at_t2() {
        let tx = std::cell::RefCell::new(ClientTransaction::new(
            0,
            false,
            Transport::Udp,
            b"BYE".to_vec(),
        ));
        let (at, timed_out) = resends(
            || tx.borrow().next_timer(),
            |t| tx.borrow_mut().on_timer(t),
            40_000,
        );
        assert_eq!(&at[..5], &[500, 1500, 3500, 7500, 11500]);
        assert!(timed_out);
    }

    #[test]
    fn tcp_client_never_resends_but_still_times_out() {
        let tx = std::cell::RefCell::new(ClientTransaction::new(
            0,
            false,
            Transport::Tcp,
            b"BYE".to_vec(),
        ));
        let (at, timed_out) = resends(
            || tx.borrow().next_timer(),
            |t| tx.borrow_mut().on_timer(t),
            40_000,
        );
        assert!(at.is_empty());
        assert!(timed_out);
    }

    #[test]
    fn invite_client_acks_non_2xx_and_reacks_retransmissions() {
        let mut tx = ClientTransaction::new(0, true, Transport::Udp, b"INVITE".to_vec());
        assert!(tx.on_response(10, 180, Vec::new).pass_up);
        let first = tx.on_response(20, 486, || b"ACK".to_vec());
        assert!(first.pass_up);
        assert_eq!(first.send.as_deref(), Some(&b"ACK"[..]));
        let again = tx.on_response(30, 486, || b"other".to_vec());
        assert!(!again.pass_up);
        assert_eq!(again.send.as_deref(), Some(&b"ACK"[..]));
        assert_eq!(tx.state(), ClientState::Completed);
        assert_eq!(tx.next_timer(), Some(20 + 32_000));
    }

    #[test]
    fn invite_server_timer_g_until_ack() {
        let tx = std::cell::RefCell::new(ServerTransaction::new(true, Transport::Udp));
        tx.borrow_mut().respond(0, 486, b"486".to_vec());
        let (at, _) = resends(
            || tx.borrow().next_timer(),
            |t| tx.borrow_mut().on_timer(t),
            8_000,
        );
        assert_eq!(at, vec![500, 1500, 3500, 7500]);
        assert!(tx.borrow_mut().ack(8_000));
        assert_eq!(tx.borrow().state(), ServerState::Confirmed);
        assert_eq!(tx.borrow().next_timer(), Some(8_000 + T4));
    }

    #[test]
    fn invite_server_without_ack_times_out_with_timer_h() {
        let tx = std::cell::RefCell::new(ServerTransaction::new(true, Transport::Udp));
        tx.borrow_mut().respond(0, 603, b"603".to_vec());
        let (_, timed_out) = resends(
            || tx.borrow().next_timer(),
            |t| tx.borrow_mut().on_timer(t),
            40_000,
        );
        assert!(timed_out);
        assert!(tx.borrow().is_terminated());
    }

    #[test]
    fn non_invite_server_resends_last_response_on_request_retransmission() {
        let mut tx = ServerTransaction::new(false, Transport::Tcp);
        assert_eq!(tx.retransmission(), None);
        tx.respond(0, 200, b"200".to_vec());
        assert_eq!(tx.retransmission().as_deref(), Some(&b"200"[..]));
        assert!(!tx.respond(1, 500, b"500".to_vec()));
        assert_eq!(tx.next_timer(), Some(0));
    }
}
