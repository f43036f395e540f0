//! The registrar's bindings (RFC 3261 10.3): which phones (Contact URIs)
//! a user is reachable at, from which address, until when; and what a
//! REGISTER asks of them (Contact list, `*`, Expires header and the
//! `;expires` Contact parameter).

use std::collections::BTreeMap;

use super::header::{self, parse_name_addr};
use super::message::Request;
use super::syntax::find_param;
use super::types::{Peer, Registration};
use super::uri;

/// Shorter registrations are refused with 423 (RFC 3261 10.3 step 7): a
/// phone refreshing every few seconds is a misconfiguration.
pub const MIN_EXPIRES_S: u64 = 60;
/// Longer ones are shortened, so a dead phone is not rung for long.
pub const MAX_EXPIRES_S: u64 = 3600;
/// When the REGISTER names no expiry (RFC 3261 10.2.1.1 suggests an hour).
pub const DEFAULT_EXPIRES_S: u64 = 3600;
/// Phones per user: bounds what one agent's credentials can make us keep.
pub const MAX_CONTACTS: usize = 10;

/// Why a REGISTER cannot be applied; `status` is the response to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("the address of record {0} is not a sip: URI")]
    UnsupportedAor(String),
    #[error("the address of record {0} names no user")]
    NoUser(String),
    #[error("Contact {0} is not a sip: or sips: URI")]
    UnsupportedContact(String),
    #[error("Contact * needs Expires: 0 and no other Contact")]
    BadWildcard,
    #[error("expiry of {0} s is shorter than {MIN_EXPIRES_S} s")]
    TooBrief(u64),
    #[error("CSeq out of order for Call-ID {0}")]
    OutOfOrder(String),
    #[error("more than {MAX_CONTACTS} contacts for one user")]
    TooManyContacts,
}

impl RegisterError {
    pub fn status(&self) -> u16 {
        match self {
            RegisterError::UnsupportedAor(_) | RegisterError::UnsupportedContact(_) => 416,
            RegisterError::NoUser(_) => 404,
            RegisterError::BadWildcard => 400,
            RegisterError::TooBrief(_) => 423,
            RegisterError::OutOfOrder(_) => 500,
            RegisterError::TooManyContacts => 403,
        }
    }
}

/// The user part of the address of record (the To URI).
pub fn aor_user(req: &Request) -> Result<String, RegisterError> {
    let to = &req.core.to.uri;
    if !uri::is_sip_scheme(to) {
        return Err(RegisterError::UnsupportedAor(to.clone()));
    }
    let user = uri::parse_sip(to).ok().and_then(|u| u.user);
    match user {
        Some(user) if !user.is_empty() => Ok(user.to_string()),
        _ => Err(RegisterError::NoUser(to.clone())),
    }
}

/// What a REGISTER asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// No Contact: list the current bindings.
    Query,
    /// `Contact: *` with `Expires: 0`.
    RemoveAll,
    /// Contact URIs with their expiry in seconds (0 removes).
    Set(Vec<(String, u64)>),
}

/// An Expires value; malformed ones count as an hour (RFC 3261 20.19).
fn expires_value(value: &str) -> u64 {
    let value = value.trim();
    match header::parse_decimal(value, u32::MAX as u64) {
        Ok(v) => v,
        Err(_) if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) => MAX_EXPIRES_S,
        Err(_) => DEFAULT_EXPIRES_S,
    }
}

/// Reads the Contact list and expiries of a REGISTER.
pub fn parse_update(req: &Request) -> Result<Update, RegisterError> {
    let header_expires = req.headers.get("Expires").map(expires_value);
    let contacts: Vec<&str> = req.headers.list("Contact").collect();
    if contacts.contains(&"*") {
        return match (contacts.len(), header_expires) {
            (1, Some(0)) => Ok(Update::RemoveAll),
            _ => Err(RegisterError::BadWildcard),
        };
    }
    if contacts.is_empty() {
        return Ok(Update::Query);
    }
    let mut set = Vec::new();
    for entry in contacts {
        // The parser already checked every Contact; a failure here is a bug
        // in neither peer nor us, so it is refused like an odd scheme.
        let addr = parse_name_addr(entry)
            .map_err(|_| RegisterError::UnsupportedContact(entry.to_string()))?;
        if !uri::is_sip_scheme(&addr.uri) {
            return Err(RegisterError::UnsupportedContact(addr.uri));
        }
        let expires = match find_param(&addr.params, "expires") {
            Some(Some(v)) => expires_value(v),
            _ => header_expires.unwrap_or(DEFAULT_EXPIRES_S),
        };
        if expires > 0 && expires < MIN_EXPIRES_S {
            return Err(RegisterError::TooBrief(expires));
        }
        set.push((addr.uri, expires.min(MAX_EXPIRES_S)));
    }
    Ok(Update::Set(set))
}

/// One phone of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub contact: String,
    pub peer: Peer,
    pub expires_ms: u64,
    /// When it was last registered or refreshed.
    pub updated_ms: u64,
    call_id: String,
    cseq: u32,
}

/// What a REGISTER changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Bindings added or refreshed.
    pub registered: Vec<Binding>,
    /// The user had bindings and has none left.
    pub unregistered: bool,
}

/// The REGISTER a change comes from: its Call-ID and CSeq order the
/// updates of one phone (RFC 3261 10.3 step 7).
pub struct Origin<'a> {
    pub peer: Peer,
    pub call_id: &'a str,
    pub cseq: u32,
}

#[derive(Debug, Default)]
pub struct Registrar {
    users: BTreeMap<String, Vec<Binding>>,
}

/// RFC 3261 19.1.4 compares URIs part by part; phones resend their
/// Contact byte for byte, so a case-insensitive match is enough here.
fn same_contact(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Registrar {
    pub fn apply(
        &mut self,
        now_ms: u64,
        user: &str,
        origin: Origin<'_>,
        update: &Update,
    ) -> Result<Applied, RegisterError> {
        let current = self.users.get(user).map(Vec::as_slice).unwrap_or(&[]);
        let stale = |b: &Binding| b.call_id == origin.call_id && origin.cseq <= b.cseq;
        let touched: Vec<&Binding> = match update {
            Update::Query => return Ok(Applied::default()),
            Update::RemoveAll => current.iter().collect(),
            Update::Set(set) => current
                .iter()
                .filter(|b| set.iter().any(|(c, _)| same_contact(c, &b.contact)))
                .collect(),
        };
        if touched.iter().any(|b| stale(b)) {
            return Err(RegisterError::OutOfOrder(origin.call_id.to_string()));
        }
        let had_any = !current.is_empty();
        let mut next: Vec<Binding> = current.to_vec();
        let mut registered = Vec::new();
        match update {
            Update::Query => {}
            Update::RemoveAll => next.clear(),
            Update::Set(set) => {
                for (contact, expires_s) in set {
                    next.retain(|b| !same_contact(&b.contact, contact));
                    if *expires_s == 0 {
                        continue;
                    }
                    let binding = Binding {
                        contact: contact.clone(),
                        peer: origin.peer,
                        expires_ms: now_ms + expires_s * 1000,
                        updated_ms: now_ms,
                        call_id: origin.call_id.to_string(),
                        cseq: origin.cseq,
                    };
                    registered.push(binding.clone());
                    next.push(binding);
                }
            }
        }
        if next.len() > MAX_CONTACTS {
            return Err(RegisterError::TooManyContacts);
        }
        let unregistered = had_any && next.is_empty();
        if next.is_empty() {
            self.users.remove(user);
        } else {
            self.users.insert(user.to_string(), next);
        }
        Ok(Applied {
            registered,
            unregistered,
        })
    }

    /// The user's bindings, oldest update first.
    pub fn bindings_of(&self, user: &str) -> &[Binding] {
        self.users.get(user).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The phone the user registered most recently.
    pub fn latest(&self, user: &str) -> Option<&Binding> {
        self.bindings_of(user).iter().max_by_key(|b| b.updated_ms)
    }

    /// Every binding that has not run out at `now_ms`.
    pub fn bindings(&self, now_ms: u64) -> Vec<Registration> {
        self.users
            .iter()
            .flat_map(|(user, bs)| {
                bs.iter()
                    .filter(move |b| b.expires_ms > now_ms)
                    .map(move |b| Registration {
                        user: user.clone(),
                        contact: b.contact.clone(),
                        peer: b.peer,
                        expires_ms: b.expires_ms,
                    })
            })
            .collect()
    }

    pub fn next_expiry(&self) -> Option<u64> {
        self.users.values().flatten().map(|b| b.expires_ms).min()
    }

    /// Drops the bindings that ran out; returns the users left with none.
    pub fn expire(&mut self, now_ms: u64) -> Vec<String> {
        let mut gone = Vec::new();
        self.users.retain(|user, bs| {
            bs.retain(|b| b.expires_ms > now_ms);
            if bs.is_empty() {
                gone.push(user.clone());
            }
            !bs.is_empty()
        });
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{Message, parse_message};
    use crate::sip::types::Transport;

    fn register(extra: &str) -> Request {
        let text = format!(
            "REGISTER sip:ivr SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1\r\n\
From: <sip:1001@ivr>;tag=a\r\nTo: <sip:1001@ivr>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\n\
{extra}Content-Length: 0\r\n\r\n"
        );
        match parse_message(text.as_bytes()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    fn origin(cseq: u32) -> Origin<'static> {
        Origin {
            peer: Peer {
                transport: Transport::Udp,
                addr: "10.0.0.5:5060".parse().unwrap(),
            },
            call_id: "r1",
            cseq,
        }
    }

    #[test]
    fn expiry_from_param_header_or_default_within_bounds() {
        let req = register(
            "Contact: <sip:1001@10.0.0.5>;expires=120, <sip:1001@10.0.0.6>\r\nExpires: 7200\r\n",
        );
        assert_eq!(aor_user(&req).unwrap(), "1001");
        assert_eq!(
            parse_update(&req).unwrap(),
            Update::Set(vec![
                ("sip:1001@10.0.0.5".into(), 120),
                ("sip:1001@10.0.0.6".into(), MAX_EXPIRES_S)
            ])
        );
        let plain = register("Contact: <sip:1001@10.0.0.5>\r\n");
        assert_eq!(
            parse_update(&plain).unwrap(),
            Update::Set(vec![("sip:1001@10.0.0.5".into(), DEFAULT_EXPIRES_S)])
        );
        let brief = register("Contact: <sip:1001@10.0.0.5>\r\nExpires: 30\r\n");
        assert_eq!(parse_update(&brief), Err(RegisterError::TooBrief(30)));
        let junk = register("Contact: <sip:1001@10.0.0.5>\r\nExpires: soon\r\n");
        assert!(matches!(parse_update(&junk), Ok(Update::Set(s)) if s[0].1 == DEFAULT_EXPIRES_S));
    }

    #[test]
    fn wildcard_only_alone_with_expires_zero() {
        assert_eq!(
            parse_update(&register("Contact: *\r\nExpires: 0\r\n")).unwrap(),
            Update::RemoveAll
        );
        assert_eq!(
            parse_update(&register("Contact: *\r\n")),
            Err(RegisterError::BadWildcard)
        );
        assert_eq!(
            parse_update(&register("Contact: *, <sip:a@b>\r\nExpires: 0\r\n")),
            Err(RegisterError::BadWildcard)
        );
        assert_eq!(parse_update(&register("")).unwrap(), Update::Query);
    }

    #[test]
    fn refresh_out_of_order_and_expiry() {
        let mut reg = Registrar::default();
        let set = |s| Update::Set(vec![("sip:1001@10.0.0.5".to_string(), s)]);
        let a = reg.apply(0, "1001", origin(2), &set(60)).unwrap();
        assert_eq!(a.registered[0].expires_ms, 60_000);
        assert_eq!(
            reg.apply(1, "1001", origin(2), &set(60)),
            Err(RegisterError::OutOfOrder("r1".into()))
        );
        reg.apply(30_000, "1001", origin(3), &set(60)).unwrap();
        assert_eq!(reg.next_expiry(), Some(90_000));
        assert!(reg.expire(89_999).is_empty());
        assert_eq!(reg.expire(90_000), vec!["1001".to_string()]);
        assert!(reg.latest("1001").is_none());
        reg.apply(0, "1001", origin(4), &set(60)).unwrap();
        let gone = reg.apply(1, "1001", origin(5), &Update::RemoveAll).unwrap();
        assert!(gone.unregistered);
    }
}
