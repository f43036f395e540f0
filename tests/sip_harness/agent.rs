//! An agent's phone written by hand for the registrar tests: REGISTER
//! requests, and the digest answer to a 401 computed here with MD5 as RFC
//! 2617 describes, independently of the endpoint's own code.
#![allow(dead_code)]

use ivr::sip::{AgentCredential, Endpoint, EndpointConfig, Peer, Response, Transport};
use md5::{Digest, Md5};

pub const REGISTRAR: &str = "127.0.0.1:5060";

/// An endpoint that lets `(user, password)` pairs register.
pub fn registrar(seed: u64, agents: &[(&str, &str)]) -> Endpoint {
    let mut config = EndpointConfig::new(REGISTRAR.parse().unwrap());
    config.seed = seed;
    config.agents = agents
        .iter()
        .map(|(user, password)| AgentCredential {
            user: user.to_string(),
            password: password.to_string(),
        })
        .collect();
    Endpoint::new(config)
}

/// The parameters of a `WWW-Authenticate: Digest` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub qop: Option<String>,
    pub stale: bool,
}

fn param(value: &str, name: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        let (n, v) = part.trim().split_once('=')?;
        let n = n.trim().trim_start_matches("Digest").trim();
        n.eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

pub fn challenge_of(resp: &Response) -> Challenge {
    let value = resp
        .headers
        .get("WWW-Authenticate")
        .unwrap_or_else(|| panic!("{} without WWW-Authenticate", resp.status));
    assert!(value.starts_with("Digest "), "{value}");
    Challenge {
        realm: param(value, "realm").expect("realm"),
        nonce: param(value, "nonce").expect("nonce"),
        qop: param(value, "qop"),
        stale: param(value, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
    }
}

fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

pub struct AgentPhone {
    pub user: String,
    pub password: String,
    pub peer: Peer,
    pub call_id: String,
    pub cseq: u32,
    /// The nonce count for the current nonce.
    pub nc: u32,
    nonce: String,
    /// Requests sent, for unique branches.
    sent: u32,
}

impl AgentPhone {
    pub fn new(user: &str, password: &str, addr: &str) -> AgentPhone {
        AgentPhone {
            user: user.into(),
            password: password.into(),
            peer: Peer {
                transport: Transport::Udp,
                addr: addr.parse().unwrap(),
            },
            call_id: format!("reg-{user}-{addr}"),
            cseq: 0,
            nc: 0,
            nonce: String::new(),
            sent: 0,
        }
    }

    pub fn contact(&self) -> String {
        format!("sip:{}@{}", self.user, self.peer.addr)
    }

    /// `Authorization` for a REGISTER to `uri`, with the next nonce count.
    pub fn authorization(&mut self, ch: &Challenge, uri: &str) -> String {
        if ch.nonce != self.nonce {
            self.nonce = ch.nonce.clone();
            self.nc = 0;
        }
        self.nc += 1;
        let cnonce = format!("cn{}", self.nc);
        let ha1 = md5_hex(&format!("{}:{}:{}", self.user, ch.realm, self.password));
        let ha2 = md5_hex(&format!("REGISTER:{uri}"));
        let response = md5_hex(&format!(
            "{ha1}:{}:{:08x}:{cnonce}:auth:{ha2}",
            ch.nonce, self.nc
        ));
        format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm=MD5, cnonce=\"{cnonce}\", qop=auth, nc={:08x}",
            self.user, ch.realm, ch.nonce, self.nc
        )
    }

    /// A REGISTER for `to_user` with the given extra header lines (Contact,
    /// Expires, Authorization...), each ending in CRLF.
    pub fn register_as(&mut self, to_user: &str, extra: &str) -> String {
        self.cseq += 1;
        self.sent += 1;
        format!(
            "REGISTER sip:{REGISTRAR} SIP/2.0\r\n\
Via: SIP/2.0/UDP {addr};branch=z9hG4bKreg{user}x{sent};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:{to_user}@{REGISTRAR}>;tag=ph{user}\r\n\
To: <sip:{to_user}@{REGISTRAR}>\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} REGISTER\r\n\
{extra}Content-Length: 0\r\n\r\n",
            addr = self.peer.addr,
            user = self.user,
            cseq = self.cseq,
            sent = self.sent,
            call_id = self.call_id,
        )
    }

    pub fn register(&mut self, extra: &str) -> String {
        let user = self.user.clone();
        self.register_as(&user, extra)
    }

    /// A REGISTER of our contact answering `ch`, with `expires` if given.
    pub fn register_with(&mut self, ch: &Challenge, expires: Option<u32>) -> String {
        let auth = self.authorization(ch, &format!("sip:{REGISTRAR}"));
        let expires = expires
            .map(|e| format!("Expires: {e}\r\n"))
            .unwrap_or_default();
        let contact = self.contact();
        self.register(&format!(
            "Contact: <{contact}>\r\n{expires}Authorization: {auth}\r\n"
        ))
    }
}
