//! REGISTER requests (RFC 3261 10.3): digest authentication of the agent's
//! phone, then its bindings in the registrar; and the lookups the runtime
//! uses to call a registered phone.

use super::compose::Reply;
use super::digest::Verdict;
use super::endpoint::Endpoint;
use super::message::Request;
use super::registrar::{self, MIN_EXPIRES_S, Origin, RegisterError};
use super::types::{Peer, Registration, SipEvent};

impl Endpoint {
    pub(super) fn on_register(&mut self, now_ms: u64, key: &str, peer: Peer, req: Request) {
        let reply = self.register(now_ms, peer, &req);
        self.reply(now_ms, key, &req, reply);
    }

    fn register(&mut self, now_ms: u64, peer: Peer, req: &Request) -> Reply {
        let aor = match registrar::aor_user(req) {
            Ok(user) => user,
            Err(e) => return refusal(&e),
        };
        if self.config.agents.is_empty() {
            return Reply::new(403).reason("Forbidden: no agents are configured to register");
        }
        let agents = &self.config.agents;
        let verdict = self.auth.verify(
            now_ms,
            req.method.as_str(),
            &req.uri,
            req.headers.get_all("Authorization"),
            |user| {
                agents
                    .iter()
                    .find(|a| a.user == user)
                    .map(|a| a.password.as_str())
            },
        );
        let user = match verdict {
            Verdict::Valid { user } => user,
            Verdict::Stale => return self.challenge(now_ms, true),
            Verdict::Rejected(_) => return self.challenge(now_ms, false),
            Verdict::UnknownUser(user) => {
                return Reply::new(403).reason(format!("Forbidden: unknown user {user}"));
            }
        };
        if user != aor {
            return Reply::new(403).reason(format!("Forbidden: {user} may not register {aor}"));
        }
        let update = match registrar::parse_update(req) {
            Ok(update) => update,
            Err(e) => return refusal(&e),
        };
        let origin = Origin {
            peer,
            call_id: &req.core.call_id,
            cseq: req.core.cseq.seq,
        };
        let applied = match self.registrar.apply(now_ms, &user, origin, &update) {
            Ok(applied) => applied,
            Err(e) => return refusal(&e),
        };
        // Older phones read the Expires header rather than the Contact's.
        let granted_s = applied
            .registered
            .first()
            .map(|b| b.expires_ms.saturating_sub(now_ms).div_ceil(1000));
        for b in applied.registered {
            self.emit(SipEvent::Registered {
                user: user.clone(),
                contact: b.contact,
                peer: b.peer,
                expires_ms: b.expires_ms,
            });
        }
        if applied.unregistered {
            self.emit(SipEvent::Unregistered { user: user.clone() });
        }
        // RFC 3261 10.3 step 8: the 200 lists every current binding.
        let mut reply = Reply::new(200);
        for b in self.registrar.bindings_of(&user) {
            let left_s = b.expires_ms.saturating_sub(now_ms).div_ceil(1000);
            reply = reply.header("Contact", format!("<{}>;expires={left_s}", b.contact));
        }
        match granted_s {
            Some(s) => reply.header("Expires", s.to_string()),
            None => reply,
        }
    }

    fn challenge(&mut self, now_ms: u64, stale: bool) -> Reply {
        Reply::new(401).header("WWW-Authenticate", self.auth.challenge(now_ms, stale))
    }

    /// The phone `user` registered most recently: its Contact URI and the
    /// address its REGISTER came from.
    pub fn registration(&self, user: &str) -> Option<(String, Peer)> {
        self.registrar
            .latest(user)
            .map(|b| (b.contact.clone(), b.peer))
    }

    /// Every binding that has not run out at `now_ms`.
    pub fn registrations(&self, now_ms: u64) -> Vec<Registration> {
        self.registrar.bindings(now_ms)
    }
}

/// The response for a REGISTER the registrar cannot apply.
fn refusal(e: &RegisterError) -> Reply {
    let status = e.status();
    let reply =
        Reply::new(status).reason(format!("{}: {e}", super::compose::reason_phrase(status)));
    match e {
        RegisterError::TooBrief(_) => reply.header("Min-Expires", MIN_EXPIRES_S.to_string()),
        _ => reply,
    }
}
