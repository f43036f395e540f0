//! HTTP digest authentication for SIP (RFC 3261 22, RFC 2617, RFC 7616):
//! MD5 with qop=auth, the only algorithm SIP phones reliably speak.
//!
//! Nonces are stateless: `issued_ms`, a counter and a MAC over both keyed
//! by a secret drawn from the endpoint's seed, so any nonce we issued can be
//! checked without remembering it, and a nonce older than
//! [`NONCE_LIFETIME_MS`] is answered `stale=true` (the phone retries with
//! the same password, without asking its user). Replays are refused by
//! remembering the highest `nc` seen for each nonce still alive.

use std::collections::HashMap;

use md5::{Digest, Md5};
use sha2::Sha256;

use super::ids::Ids;
use super::syntax::{Scanner, is_token_char};

/// How long a nonce is good for; after that the phone is told it is stale.
pub const NONCE_LIFETIME_MS: u64 = 5 * 60 * 1000;

/// Why an Authorization header cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("authorization scheme {0:?} is not Digest")]
    NotDigest(String),
    #[error("malformed digest credentials: {0}")]
    Malformed(String),
    #[error("digest credentials without {0}")]
    Missing(&'static str),
}

/// The parameters of `Authorization: Digest ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub qop: Option<String>,
    pub cnonce: Option<String>,
    /// The nonce count, `nc=` (eight hex digits on the wire).
    pub nc: Option<u32>,
}

/// Parses `Digest name=value, name="quoted", ...` (RFC 7616 3.4).
pub fn parse_authorization(value: &str) -> Result<DigestCredentials, DigestError> {
    let mut sc = Scanner::new(value);
    let scheme = sc.token().unwrap_or_default();
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(DigestError::NotDigest(scheme.chars().take(40).collect()));
    }
    let mut params: HashMap<String, String> = HashMap::new();
    loop {
        let Some(name) = sc.token() else {
            return Err(DigestError::Malformed("expected a parameter name".into()));
        };
        if !sc.eat('=') {
            return Err(DigestError::Malformed(format!("{name} has no value")));
        }
        sc.skip_ws();
        let value = if sc.peek() == Some('"') {
            sc.quoted_string()
                .map_err(|e| DigestError::Malformed(e.to_string()))?
        } else {
            let v = sc.take_while(is_token_char);
            if v.is_empty() {
                return Err(DigestError::Malformed(format!("{name} has an empty value")));
            }
            v.to_string()
        };
        params.insert(name.to_ascii_lowercase(), value);
        sc.skip_ws();
        if sc.at_end() {
            break;
        }
        if !sc.eat(',') {
            return Err(DigestError::Malformed(format!(
                "unexpected {:?}",
                sc.rest().chars().take(20).collect::<String>()
            )));
        }
    }
    let mut take = |name: &'static str| params.remove(name);
    let required = |v: Option<String>, name| v.ok_or(DigestError::Missing(name));
    let nc = match take("nc") {
        Some(nc) if nc.len() == 8 => Some(
            u32::from_str_radix(&nc, 16)
                .map_err(|_| DigestError::Malformed(format!("nc {nc:?} is not hex")))?,
        ),
        Some(nc) => {
            return Err(DigestError::Malformed(format!(
                "nc {nc:?} is not 8 hex digits"
            )));
        }
        None => None,
    };
    Ok(DigestCredentials {
        username: required(take("username"), "username")?,
        realm: required(take("realm"), "realm")?,
        nonce: required(take("nonce"), "nonce")?,
        uri: required(take("uri"), "uri")?,
        response: required(take("response"), "response")?,
        algorithm: take("algorithm"),
        qop: take("qop"),
        cnonce: take("cnonce"),
        nc,
    })
}

fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

/// The `response` a client computes (RFC 2617 3.2.2.1) for qop=auth.
pub fn expected_response(
    creds: &DigestCredentials,
    password: &str,
    method: &str,
    cnonce: &str,
    nc: u32,
) -> String {
    let ha1 = md5_hex(&format!("{}:{}:{password}", creds.username, creds.realm));
    let ha2 = md5_hex(&format!("{method}:{}", creds.uri));
    md5_hex(&format!(
        "{ha1}:{}:{nc:08x}:{cnonce}:auth:{ha2}",
        creds.nonce
    ))
}

/// Equal without an early exit, so timing does not tell how much matched.
fn same_hex(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| {
            acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
        }) == 0
}

/// What checking a request's credentials found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Right password, fresh nonce, new nonce count.
    Valid { user: String },
    /// Right password on a nonce that expired or that we did not issue
    /// (say, before a restart): challenge again with `stale=true`.
    Stale,
    /// The username is not one we know.
    UnknownUser(String),
    /// No usable credentials for our realm, a wrong password or a replay:
    /// challenge again.
    Rejected(String),
}

/// Issues challenges and checks the answers.
pub struct DigestAuth {
    realm: String,
    key: [u8; 16],
    /// 32 bits, wrapping, so every nonce has the same length.
    counter: u32,
    /// Highest nonce count accepted per live nonce, with its issue time.
    seen: HashMap<String, (u32, u64)>,
}

impl DigestAuth {
    pub fn new(realm: &str, seed: u64) -> DigestAuth {
        // A stream apart from the one that makes tags and branches.
        let mut ids = Ids::new(seed ^ 0x6469_6765_7374_2121);
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&ids.next_u64().to_le_bytes());
        key[8..].copy_from_slice(&ids.next_u64().to_le_bytes());
        DigestAuth {
            realm: realm.to_string(),
            key,
            counter: 0,
            seen: HashMap::new(),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    fn mac(&self, issued_ms: u64, counter: u32) -> String {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(issued_ms.to_le_bytes());
        h.update(counter.to_le_bytes());
        hex::encode(&h.finalize()[..12])
    }

    fn new_nonce(&mut self, now_ms: u64) -> String {
        self.counter = self.counter.wrapping_add(1);
        format!(
            "{now_ms:012x}{:08x}{}",
            self.counter,
            self.mac(now_ms, self.counter)
        )
    }

    /// When a nonce we issued was made; None for one we did not issue.
    fn issued_at(&self, nonce: &str) -> Option<u64> {
        if nonce.len() != 12 + 8 + 24 || !nonce.is_ascii() {
            return None;
        }
        let issued = u64::from_str_radix(&nonce[..12], 16).ok()?;
        let counter = u32::from_str_radix(&nonce[12..20], 16).ok()?;
        same_hex(&nonce[20..], &self.mac(issued, counter)).then_some(issued)
    }

    /// The value of a `WWW-Authenticate` header with a new nonce.
    pub fn challenge(&mut self, now_ms: u64, stale: bool) -> String {
        let nonce = self.new_nonce(now_ms);
        let stale = if stale { ", stale=true" } else { "" };
        format!(
            "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{stale}",
            self.realm.replace(['"', '\\'], "")
        )
    }

    /// Checks the `Authorization` headers of a request (`method` to
    /// `request_uri`); `password_of` gives a known user's password.
    pub fn verify<'a>(
        &mut self,
        now_ms: u64,
        method: &str,
        request_uri: &str,
        authorizations: impl Iterator<Item = &'a str>,
        password_of: impl Fn(&str) -> Option<&'a str>,
    ) -> Verdict {
        self.seen
            .retain(|_, (_, issued)| now_ms.saturating_sub(*issued) <= NONCE_LIFETIME_MS);
        // Credentials for other realms (or schemes) are not for us.
        let mut why = "no credentials".to_string();
        let mut ours = None;
        for value in authorizations {
            match parse_authorization(value) {
                Ok(c) if c.realm == self.realm => {
                    ours = Some(c);
                    break;
                }
                Ok(c) => why = format!("credentials for realm {:?}", c.realm),
                Err(e) => why = e.to_string(),
            }
        }
        let Some(creds) = ours else {
            return Verdict::Rejected(why);
        };
        let Some(password) = password_of(&creds.username) else {
            return Verdict::UnknownUser(creds.username);
        };
        if creds
            .algorithm
            .as_deref()
            .is_some_and(|a| !a.eq_ignore_ascii_case("MD5"))
        {
            return Verdict::Rejected("algorithm is not MD5".into());
        }
        // We always offer qop=auth, so RFC 2617 3.2.2 requires it back.
        let (Some("auth"), Some(cnonce), Some(nc)) =
            (creds.qop.as_deref(), creds.cnonce.as_deref(), creds.nc)
        else {
            return Verdict::Rejected("qop=auth with cnonce and nc is required".into());
        };
        if !creds.uri.eq_ignore_ascii_case(request_uri) {
            return Verdict::Rejected("digest uri is not the Request-URI".into());
        }
        let expected = expected_response(&creds, password, method, cnonce, nc);
        if !same_hex(&expected, &creds.response) {
            return Verdict::Rejected("wrong password".into());
        }
        let Some(issued) = self.issued_at(&creds.nonce) else {
            return Verdict::Stale;
        };
        if issued > now_ms || now_ms - issued > NONCE_LIFETIME_MS {
            return Verdict::Stale;
        }
        let last = self.seen.entry(creds.nonce.clone()).or_insert((0, issued));
        if nc <= last.0 {
            return Verdict::Rejected("nonce count replayed".into());
        }
        last.0 = nc;
        Verdict::Valid {
            user: creds.username,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 3.5: the "Mufasa" example.
    #[test]
    fn rfc_2617_example_response() {
        let creds = parse_authorization(
            r#"Digest username="Mufasa", realm="testrealm@host.com",
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html",
            qop=auth, nc=00000001, cnonce="0a4f113b",
            response="6629fae49393a05397450978507c4ef1",
            opaque="5ccc069c403ebaf9f0171e9517f40e41""#
                .replace('\n', " ")
                .as_str(),
        )
        .unwrap();
        assert_eq!(creds.nc, Some(1));
        let expected = expected_response(&creds, "Circle Of Life", "GET", "0a4f113b", 1);
        assert_eq!(expected, creds.response);
    }

    fn answer(auth: &mut DigestAuth, now: u64, password: &str, nc: u32) -> (String, Verdict) {
        let challenge = auth.challenge(now, false);
        let nonce = challenge.split('"').nth(3).unwrap().to_string();
        (nonce.clone(), answer_nonce(auth, now, &nonce, password, nc))
    }

    fn answer_nonce(auth: &mut DigestAuth, now: u64, nonce: &str, pw: &str, nc: u32) -> Verdict {
        let mut creds = DigestCredentials {
            username: "alice".into(),
            realm: "ivr".into(),
            nonce: nonce.into(),
            uri: "sip:ivr".into(),
            response: String::new(),
            algorithm: Some("MD5".into()),
            qop: Some("auth".into()),
            cnonce: Some("c1".into()),
            nc: Some(nc),
        };
        creds.response = expected_response(&creds, pw, "REGISTER", "c1", nc);
        let header = format!(
            "Digest username=\"alice\", realm=\"ivr\", nonce=\"{nonce}\", uri=\"sip:ivr\", \
             response=\"{}\", algorithm=MD5, qop=auth, cnonce=\"c1\", nc={nc:08x}",
            creds.response
        );
        auth.verify(
            now,
            "REGISTER",
            "sip:ivr",
            [header.as_str()].into_iter(),
            |u| (u == "alice").then_some("secret"),
        )
    }

    #[test]
    fn right_password_once_per_nonce_count() {
        let mut auth = DigestAuth::new("ivr", 3);
        let (nonce, v) = answer(&mut auth, 1_000, "secret", 1);
        assert_eq!(
            v,
            Verdict::Valid {
                user: "alice".into()
            }
        );
        assert!(matches!(
            answer_nonce(&mut auth, 2_000, &nonce, "secret", 1),
            Verdict::Rejected(_)
        ));
        assert!(matches!(
            answer_nonce(&mut auth, 2_000, &nonce, "secret", 2),
            Verdict::Valid { .. }
        ));
        assert!(matches!(
            answer(&mut auth, 3_000, "guess", 1).1,
            Verdict::Rejected(_)
        ));
    }

    #[test]
    fn old_or_foreign_nonces_are_stale() {
        let mut auth = DigestAuth::new("ivr", 3);
        let challenge = auth.challenge(0, false);
        let nonce = challenge.split('"').nth(3).unwrap().to_string();
        let late = NONCE_LIFETIME_MS + 1;
        assert_eq!(
            answer_nonce(&mut auth, late, &nonce, "secret", 1),
            Verdict::Stale
        );
        let mut other = DigestAuth::new("ivr", 4);
        assert_eq!(
            answer_nonce(&mut other, 10, &nonce, "secret", 1),
            Verdict::Stale
        );
        assert!(auth.challenge(late, true).ends_with("stale=true"));
    }

    #[test]
    fn malformed_credentials_are_errors() {
        assert!(matches!(
            parse_authorization("NoOneKnowsThisScheme opaque-data=here"),
            Err(DigestError::NotDigest(_))
        ));
        assert!(parse_authorization("Digest").is_err());
        assert!(parse_authorization("Digest username=\"a").is_err());
        assert!(parse_authorization("Digest username=a,,").is_err());
        assert!(matches!(
            parse_authorization("Digest username=a, realm=b, nonce=c, uri=d"),
            Err(DigestError::Missing("response"))
        ));
        assert!(
            parse_authorization("Digest username=a, realm=b, nonce=c, uri=d, response=e, nc=1")
                .is_err()
        );
    }
}
