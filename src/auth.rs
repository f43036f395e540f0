//! Who may use the HTTP API: users from the config, their passwords
//! (argon2 PHC strings), session tokens and what each role may do.
//!
//! Sans-IO like the core: the runtime passes in the random bytes a token is
//! made of and the time (`now_ms`) that drives idle expiry, so every rule
//! here is tested without a clock or an entropy source.

use std::collections::HashMap;
use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum AuthError {
    /// Unknown user or wrong password: which one is not told.
    #[error("wrong user name or password")]
    BadCredentials,
    #[error(
        "user {user:?}: password_hash is not an argon2 PHC string ({reason}); make one with `ivr passwd`"
    )]
    BadHash { user: String, reason: String },
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// What a user may do: `supervisor` everything, `agent` read the board and
/// calls, set their own state, write a disposition for a call they took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Supervisor,
    Agent,
}

/// A `[[users]]` entry of the config.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserAccount {
    pub name: String,
    pub role: Role,
    /// Argon2 PHC string, as `ivr passwd` prints it.
    pub password_hash: String,
    /// The ACD agent (an `[[agents]]` user) this login acts as.
    #[serde(default)]
    pub agent: Option<String>,
}

/// Written by hand so a logged config never shows a hash.
impl std::fmt::Debug for UserAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAccount")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("password_hash", &"<hidden>")
            .field("agent", &self.agent)
            .finish()
    }
}

/// A logged-in user, as `GET /api/me` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub user: String,
    pub role: Role,
    pub agent: Option<String>,
}

/// Something a request wants to do, for [`allowed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// The live board, its event stream, one's own identity.
    ReadBoard,
    /// Stored calls, their records and recordings.
    ReadCalls,
    /// Move a caller, put them first, hang up.
    ControlCalls,
    /// Log an ACD agent in or out, pause or resume them.
    SetAgentState { agent: &'a str },
    /// Note on a call; `answered_by` is the agent who took it, if any.
    WriteDisposition { answered_by: Option<&'a str> },
}

/// Whether `who` may do `action`.
pub fn allowed(who: &Identity, action: Action<'_>) -> bool {
    match who.role {
        Role::Supervisor => true,
        Role::Agent => match action {
            Action::ReadBoard | Action::ReadCalls => true,
            Action::ControlCalls => false,
            Action::SetAgentState { agent } => who.agent.as_deref() == Some(agent),
            Action::WriteDisposition { answered_by } => {
                who.agent.is_some() && who.agent.as_deref() == answered_by
            }
        },
    }
}

/// The configured users with their password hashes.
#[derive(Debug, Clone, Default)]
pub struct Users {
    by_name: HashMap<String, (Identity, String)>,
}

impl Users {
    /// Takes the config's users; a hash that is not an argon2 PHC string is
    /// refused here rather than at the first login.
    pub fn new(accounts: &[UserAccount]) -> Result<Users, AuthError> {
        let mut by_name = HashMap::new();
        for account in accounts {
            check_password_hash(&account.password_hash).map_err(|reason| AuthError::BadHash {
                user: account.name.clone(),
                reason,
            })?;
            let who = Identity {
                user: account.name.clone(),
                role: account.role,
                agent: account.agent.clone(),
            };
            by_name.insert(account.name.clone(), (who, account.password_hash.clone()));
        }
        Ok(Users { by_name })
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Checks a password (argon2: tens of ms of CPU, so the runtime calls
    /// it off its async threads).
    pub fn verify(&self, name: &str, password: &str) -> Result<Identity, AuthError> {
        match self.by_name.get(name) {
            Some((who, hash)) if password_matches(password, hash) => Ok(who.clone()),
            Some(_) => Err(AuthError::BadCredentials),
            None => {
                // As slow as a wrong password, so response times do not
                // tell which user names exist.
                let _ = password_matches(password, unknown_user_hash());
                Err(AuthError::BadCredentials)
            }
        }
    }
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

fn unknown_user_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password("", &[0; 16]).unwrap_or_default())
}

/// The argon2id PHC string of `password` (default parameters) with `salt`
/// (16 random bytes from the caller).
pub fn hash_password(password: &str, salt: &[u8; 16]) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `phc` is an argon2 hash this build can verify; the reason if not.
pub fn check_password_hash(phc: &str) -> Result<(), String> {
    let hash = PasswordHash::new(phc).map_err(|e| e.to_string())?;
    Algorithm::try_from(hash.algorithm.as_str())
        .map_err(|_| format!("algorithm {} is not argon2", hash.algorithm))?;
    Params::try_from(&hash).map_err(|e| e.to_string())?;
    if hash.hash.is_none() {
        return Err("it has no hash part".into());
    }
    Ok(())
}

/// The password of the login in the example config: `ivr serve` warns
/// while a user still has it.
pub const EXAMPLE_PASSWORD: &str = "change-me";

/// Sessions end after this long without a request.
pub const SESSION_IDLE_MS: u64 = 12 * 60 * 60 * 1000;

/// Sessions one user may have at once (browsers, devices).
pub const MAX_SESSIONS_PER_USER: usize = 32;

/// Random bytes a session token is made of.
pub const TOKEN_BYTES: usize = 32;

/// Logged-in sessions, in memory.
#[derive(Debug)]
pub struct Sessions {
    /// Keyed by the SHA-256 of the token: the map is not searched with the
    /// secret itself, and a memory dump shows no usable token.
    live: HashMap<[u8; 32], Session>,
    idle_ms: u64,
}

#[derive(Debug)]
struct Session {
    who: Identity,
    last_used_ms: u64,
}

impl Sessions {
    pub fn new(idle_ms: u64) -> Sessions {
        Sessions {
            live: HashMap::new(),
            idle_ms,
        }
    }

    /// Starts a session for `who`; returns its token (hex of `random`).
    /// A user's least recently used session ends when they have
    /// [`MAX_SESSIONS_PER_USER`], so logging in in a loop cannot fill memory.
    pub fn open(&mut self, who: Identity, random: [u8; TOKEN_BYTES], now_ms: u64) -> String {
        self.expire(now_ms);
        let theirs = self.live.iter().filter(|(_, s)| s.who.user == who.user);
        if theirs.clone().count() >= MAX_SESSIONS_PER_USER
            && let Some(oldest) = theirs.min_by_key(|(_, s)| s.last_used_ms).map(|(k, _)| *k)
        {
            self.live.remove(&oldest);
        }
        let token = hex::encode(random);
        self.live.insert(
            key(&token),
            Session {
                who,
                last_used_ms: now_ms,
            },
        );
        token
    }

    /// The user of a live session; using it restarts its idle time.
    pub fn check(&mut self, token: &str, now_ms: u64) -> Option<Identity> {
        let key = key(token);
        let session = self.live.get_mut(&key)?;
        if now_ms.saturating_sub(session.last_used_ms) >= self.idle_ms {
            self.live.remove(&key);
            return None;
        }
        session.last_used_ms = session.last_used_ms.max(now_ms);
        Some(session.who.clone())
    }

    /// Ends a session; whether it was live.
    pub fn close(&mut self, token: &str) -> bool {
        self.live.remove(&key(token)).is_some()
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Drops idle sessions, so abandoned logins do not pile up.
    fn expire(&mut self, now_ms: u64) {
        let idle_ms = self.idle_ms;
        self.live
            .retain(|_, s| now_ms.saturating_sub(s.last_used_ms) < idle_ms);
    }
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str, role: Role, password: &str, agent: Option<&str>) -> UserAccount {
        UserAccount {
            name: name.into(),
            role,
            password_hash: hash_password(password, &[7; 16]).unwrap(),
            agent: agent.map(Into::into),
        }
    }

    fn who(role: Role, agent: Option<&str>) -> Identity {
        Identity {
            user: "u".into(),
            role,
            agent: agent.map(Into::into),
        }
    }

    #[test]
    fn the_right_password_logs_in_and_others_do_not() {
        let users = Users::new(&[
            account("sue", Role::Supervisor, "correct horse", None),
            account("al", Role::Agent, "battery", Some("alice")),
        ])
        .unwrap();
        let sue = users.verify("sue", "correct horse").unwrap();
        assert_eq!(sue.role, Role::Supervisor);
        assert_eq!(
            users.verify("al", "battery").unwrap().agent.as_deref(),
            Some("alice")
        );
        assert_eq!(
            users.verify("sue", "battery"),
            Err(AuthError::BadCredentials)
        );
        assert_eq!(
            users.verify("nobody", "battery"),
            Err(AuthError::BadCredentials)
        );
        assert_eq!(users.verify("sue", ""), Err(AuthError::BadCredentials));
    }

    #[test]
    fn hashes_are_salted_phc_strings() {
        let a = hash_password("pw", &[1; 16]).unwrap();
        let b = hash_password("pw", &[2; 16]).unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b);
        assert_eq!(check_password_hash(&a), Ok(()));
    }

    #[test]
    fn hashes_that_cannot_be_verified_are_refused() {
        for bad in [
            "",
            "change-me",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        ] {
            assert!(check_password_hash(bad).is_err(), "{bad:?}");
        }
        let mut broken = account("x", Role::Agent, "pw", None);
        broken.password_hash = "plain".into();
        assert!(matches!(
            Users::new(&[broken]),
            Err(AuthError::BadHash { user, .. }) if user == "x"
        ));
    }

    #[test]
    fn sessions_expire_after_idle_time_and_use_keeps_them() {
        let mut sessions = Sessions::new(1_000);
        let token = sessions.open(who(Role::Supervisor, None), [9; TOKEN_BYTES], 0);
        assert_eq!(token.len(), 2 * TOKEN_BYTES);
        assert!(sessions.check(&token, 900).is_some());
        assert!(
            sessions.check(&token, 1_800).is_some(),
            "use restarts the idle time"
        );
        assert!(sessions.check(&token, 2_800).is_none());
        assert!(
            sessions.check(&token, 2_801).is_none(),
            "an expired token stays dead"
        );
        assert!(sessions.is_empty());
    }

    #[test]
    fn wrong_and_closed_tokens_are_refused() {
        let mut sessions = Sessions::new(SESSION_IDLE_MS);
        let token = sessions.open(who(Role::Agent, Some("a")), [0xab; TOKEN_BYTES], 0);
        let other = sessions.open(who(Role::Supervisor, None), [2; TOKEN_BYTES], 0);
        assert!(sessions.check("", 1).is_none());
        assert!(sessions.check(&token[1..], 1).is_none());
        assert!(sessions.check(&token.to_uppercase(), 1).is_none());
        assert!(sessions.close(&token));
        assert!(!sessions.close(&token));
        assert!(sessions.check(&token, 2).is_none());
        assert_eq!(sessions.check(&other, 2).unwrap().role, Role::Supervisor);
    }

    #[test]
    fn opening_a_session_drops_idle_ones() {
        let mut sessions = Sessions::new(1_000);
        sessions.open(who(Role::Agent, None), [1; TOKEN_BYTES], 0);
        sessions.open(who(Role::Agent, None), [2; TOKEN_BYTES], 500);
        sessions.open(who(Role::Agent, None), [3; TOKEN_BYTES], 1_200);
        assert_eq!(sessions.len(), 2);
    }

    #[test]
    fn a_user_keeps_a_bounded_number_of_sessions() {
        let mut sessions = Sessions::new(SESSION_IDLE_MS);
        let first = sessions.open(who(Role::Agent, None), [0; TOKEN_BYTES], 0);
        let mut last = String::new();
        for i in 1..=MAX_SESSIONS_PER_USER {
            last = sessions.open(who(Role::Agent, None), [i as u8; TOKEN_BYTES], i as u64);
        }
        assert_eq!(sessions.len(), MAX_SESSIONS_PER_USER);
        assert!(sessions.check(&first, 100).is_none(), "the oldest went");
        assert!(sessions.check(&last, 100).is_some());
        let mut other = who(Role::Supervisor, None);
        other.user = "someone else".into();
        sessions.open(other, [0xff; TOKEN_BYTES], 101);
        assert_eq!(sessions.len(), MAX_SESSIONS_PER_USER + 1);
    }

    #[test]
    fn supervisors_may_do_everything() {
        let sue = who(Role::Supervisor, None);
        for action in [
            Action::ReadBoard,
            Action::ReadCalls,
            Action::ControlCalls,
            Action::SetAgentState { agent: "alice" },
            Action::WriteDisposition { answered_by: None },
            Action::WriteDisposition {
                answered_by: Some("bob"),
            },
        ] {
            assert!(allowed(&sue, action), "{action:?}");
        }
    }

    #[test]
    fn agents_read_and_act_only_for_themselves() {
        let alice = who(Role::Agent, Some("alice"));
        assert!(allowed(&alice, Action::ReadBoard));
        assert!(allowed(&alice, Action::ReadCalls));
        assert!(!allowed(&alice, Action::ControlCalls));
        assert!(allowed(&alice, Action::SetAgentState { agent: "alice" }));
        assert!(!allowed(&alice, Action::SetAgentState { agent: "bob" }));
        let took = |agent| Action::WriteDisposition { answered_by: agent };
        assert!(allowed(&alice, took(Some("alice"))));
        assert!(!allowed(&alice, took(Some("bob"))));
        assert!(!allowed(&alice, took(None)));
    }

    #[test]
    fn an_agent_login_without_an_acd_agent_only_reads() {
        let reader = who(Role::Agent, None);
        assert!(allowed(&reader, Action::ReadBoard));
        assert!(!allowed(&reader, Action::SetAgentState { agent: "" }));
        assert!(!allowed(
            &reader,
            Action::WriteDisposition { answered_by: None }
        ));
    }
}
