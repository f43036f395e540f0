//! The engine's TOML configuration (`ivr serve --config FILE`).
//!
//! Every key has a default, so no file at all is a valid configuration.
//! Unknown keys are rejected (a typo must not silently fall back to a
//! default), and relative paths are resolved against the folder of the file
//! they were written in, or the current folder for the defaults, so the
//! engine behaves the same whatever folder it is started from.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};
use thiserror::Error;

use crate::auth::{Role, UserAccount, check_password_hash};
use crate::brain::asr::Language;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Bad TOML, a value of the wrong type or an unknown key; toml's message
    /// quotes the offending line and names the key.
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid config value {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("cannot find the current folder to resolve relative paths: {0}")]
    CurrentDir(std::io::Error),
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub sip: SipConfig,
    pub rtp: RtpConfig,
    pub engine: EngineConfig,
    pub storage: StorageConfig,
    pub http: HttpConfig,
    /// How agents' phones are rung and when they rest.
    pub acd: AcdSettings,
    /// People who answer queued callers; none by default.
    pub agents: Vec<AgentAccount>,
    /// Logins of the HTTP API and pages; none by default (nobody gets in).
    pub users: Vec<UserAccount>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// Where SIP over UDP is received.
    pub udp: SocketAddr,
    /// Where SIP over TCP is accepted.
    pub tcp: SocketAddr,
    /// The address written into Via, Contact and SDP when the engine is
    /// reached through NAT; `None` uses the bound addresses.
    pub public_addr: Option<IpAddr>,
    /// `host:port` that calls to outside numbers (callbacks, transfers) go
    /// through, e.g. a PSTN gateway; `None`: straight to the number's own
    /// SIP URI (the caller's Contact for a callback).
    pub outbound_proxy: Option<String>,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            udp: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060),
            tcp: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060),
            public_addr: None,
            outbound_proxy: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RtpConfig {
    /// The address RTP sockets bind to.
    pub ip: IpAddr,
    /// First RTP port handed to a call (even; RTCP would take the odd one).
    pub port_min: u16,
    /// Last RTP port handed to a call, inclusive (even).
    pub port_max: u16,
    /// Jitter buffer depth: how long a packet waits before it is played.
    pub playout_delay_ms: u32,
}

impl Default for RtpConfig {
    fn default() -> Self {
        RtpConfig {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_min: 20_000,
            port_max: 29_998,
            playout_delay_ms: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    pub dialplan: PathBuf,
    /// The callers' language; `None` takes the dialplan's `language`.
    #[serde(deserialize_with = "language_name")]
    pub language: Option<Language>,
    /// Whisper model name (`tiny.en`, `base`); `None` picks by language.
    pub model: Option<String>,
    pub models_dir: PathBuf,
    /// Utterances transcribed at once; `None` picks from the CPU count.
    pub asr_workers: Option<usize>,
    /// Silence after a prompt before the caller is prompted again.
    pub no_input_ms: u64,
    /// Reprompts for silence in a row before the engine says goodbye.
    pub max_no_input: u32,
    /// Whether the caller's speech interrupts a prompt.
    pub barge_in: bool,
    /// Whether both sides of each call are written to WAV files.
    pub record_calls: bool,
    /// Calls held at once; further INVITEs get 503.
    pub max_calls: usize,
    /// Whether the caller's words are still transcribed (for the board and
    /// the call record) once they talk to a person. Off: privacy by default.
    pub transcribe_after_bridge: bool,
    /// When the recogniser is busy and a caller's answer is this late
    /// (ms after they stopped speaking), they hear "one moment"; 0: never.
    pub one_moment_after_ms: u64,
    /// When the recogniser is still this far behind (ms after the caller
    /// stopped speaking), it gives up on the utterance and the caller goes
    /// to a person with what was said so far; 0: wait however long.
    pub recognition_give_up_ms: u64,
    /// Answer a complete, confidently understood request at the caller's
    /// first pause (350 ms) instead of after the endpointer's hangover. Off:
    /// it saved no measurable time on one caller (voice-to-voice median
    /// 700-740 ms either way) and can answer a caller who was going on.
    pub early_decision: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            dialplan: PathBuf::from("dialplans/hotline.toml"),
            language: None,
            model: None,
            models_dir: PathBuf::from("models"),
            asr_workers: None,
            no_input_ms: 6_000,
            max_no_input: 2,
            barge_in: true,
            record_calls: true,
            max_calls: 1_000,
            transcribe_after_bridge: false,
            one_moment_after_ms: 1_500,
            recognition_give_up_ms: 8_000,
            early_decision: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// The SQLite file of call records.
    pub database: PathBuf,
    /// Folder of per-call WAV recordings.
    pub recordings: PathBuf,
    /// Folder of rendered prompt audio.
    pub prompt_cache: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            database: PathBuf::from("var/ivr.sqlite"),
            recordings: PathBuf::from("var/recordings"),
            prompt_cache: PathBuf::from("var/prompts"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Where the HTTP API and dashboard listen.
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcdSettings {
    /// Seconds an agent's phone rings before the next agent is tried.
    pub ring_timeout_s: u64,
    /// Seconds after a call before the agent gets the next one.
    pub wrap_up_s: u64,
    /// Unanswered rings in a row after which the agent is set away.
    pub max_missed: u32,
    /// A caller who called within this many hours is moved ahead; 0: never.
    pub repeat_caller_window_h: u64,
    pub feature_codes: FeatureCodes,
}

impl Default for AcdSettings {
    fn default() -> Self {
        AcdSettings {
            ring_timeout_s: 15,
            wrap_up_s: 10,
            max_missed: 2,
            repeat_caller_window_h: 24,
            feature_codes: FeatureCodes::default(),
        }
    }
}

/// What an agent dials (or keys during a call) to change their state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureCodes {
    pub login: String,
    pub logout: String,
    pub pause: String,
    pub resume: String,
}

impl Default for FeatureCodes {
    fn default() -> Self {
        FeatureCodes {
            login: "*1".to_string(),
            logout: "*2".to_string(),
            pause: "*3".to_string(),
            resume: "*4".to_string(),
        }
    }
}

impl FeatureCodes {
    /// Every code with its name, for checks and lookups.
    pub fn all(&self) -> [(&'static str, &str); 4] {
        [
            ("login", &self.login),
            ("logout", &self.logout),
            ("pause", &self.pause),
            ("resume", &self.resume),
        ]
    }
}

/// An agent's SIP account and what they can handle.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentAccount {
    /// The SIP user the phone registers as.
    pub user: String,
    pub password: String,
    /// Shown on the board; the user name when left out.
    #[serde(default)]
    pub name: String,
    /// Skill level (1-10) per queue, e.g. `{ billing = 8, general = 5 }`.
    /// No skills at all: the agent takes every queue at level 1.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
}

impl AgentAccount {
    pub fn display_name(&self) -> &str {
        if self.name.trim().is_empty() {
            &self.user
        } else {
            &self.name
        }
    }
}

/// Written by hand so a logged config never shows a password.
impl std::fmt::Debug for AgentAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentAccount")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .field("name", &self.name)
            .field("skills", &self.skills)
            .finish()
    }
}

/// Longest jitter buffer accepted: more is a unit mistake (seconds for ms).
const MAX_PLAYOUT_DELAY_MS: u32 = 1_000;

impl Config {
    /// Load `path`, or the defaults when `None`; relative paths come back
    /// absolute, and the result is validated.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => {
                let cwd = std::env::current_dir().map_err(ConfigError::CurrentDir)?;
                let mut config = Config::default();
                config.resolve_paths(&cwd);
                config.validate()?;
                Ok(config)
            }
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                let base = match path.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
                    _ => PathBuf::from("."),
                };
                let base = if base.is_absolute() {
                    base
                } else {
                    std::env::current_dir()
                        .map_err(ConfigError::CurrentDir)?
                        .join(base)
                };
                Config::from_toml(&text, path, &base)
            }
        }
    }

    /// Parse TOML text; `origin` names it in errors, relative paths are
    /// resolved against `base_dir`.
    pub fn from_toml(text: &str, origin: &Path, base_dir: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: origin.to_owned(),
            source: Box::new(source),
        })?;
        config.resolve_paths(base_dir);
        config.validate()?;
        Ok(config)
    }

    /// Check the values that parse but cannot work (also after a command
    /// line changed some).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rtp = &self.rtp;
        if !rtp.port_min.is_multiple_of(2) {
            return invalid(
                "rtp.port_min",
                format!("{} is odd; RTP ports are even", rtp.port_min),
            );
        }
        if !rtp.port_max.is_multiple_of(2) {
            return invalid(
                "rtp.port_max",
                format!("{} is odd; RTP ports are even", rtp.port_max),
            );
        }
        if rtp.port_min == 0 {
            return invalid("rtp.port_min", "must be above 0".into());
        }
        if rtp.port_min >= rtp.port_max {
            return invalid(
                "rtp.port_max",
                format!(
                    "{} must be above rtp.port_min ({})",
                    rtp.port_max, rtp.port_min
                ),
            );
        }
        if rtp.ip.is_unspecified() && self.sip.public_addr.is_none() {
            return invalid(
                "rtp.ip",
                format!(
                    "{} cannot be announced to callers; set sip.public_addr as well",
                    rtp.ip
                ),
            );
        }
        if rtp.playout_delay_ms > MAX_PLAYOUT_DELAY_MS {
            return invalid(
                "rtp.playout_delay_ms",
                format!(
                    "{} ms is more than {MAX_PLAYOUT_DELAY_MS} ms",
                    rtp.playout_delay_ms
                ),
            );
        }
        if let Some(ip) = self.sip.public_addr
            && ip.is_unspecified()
        {
            return invalid("sip.public_addr", format!("{ip} cannot be reached"));
        }
        let engine = &self.engine;
        if engine.no_input_ms == 0 {
            return invalid("engine.no_input_ms", "must be above 0".into());
        }
        if engine.max_no_input == 0 {
            return invalid("engine.max_no_input", "must be at least 1".into());
        }
        if engine.max_calls == 0 {
            return invalid("engine.max_calls", "must be at least 1".into());
        }
        if engine.asr_workers == Some(0) {
            return invalid("engine.asr_workers", "must be at least 1".into());
        }
        if engine.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return invalid(
                "engine.model",
                "is empty; leave it out to pick by language".into(),
            );
        }
        self.validate_acd()?;
        self.validate_users()
    }

    fn validate_users(&self) -> Result<(), ConfigError> {
        for (i, user) in self.users.iter().enumerate() {
            let name = &user.name;
            if name.trim().is_empty() || name.chars().any(char::is_control) {
                return invalid("users.name", format!("{name:?} is not a user name"));
            }
            if self.users[..i].iter().any(|u| u.name == *name) {
                return invalid("users.name", format!("{name:?} is listed twice"));
            }
            if let Err(reason) = check_password_hash(&user.password_hash) {
                return invalid(
                    "users.password_hash",
                    format!(
                        "user {name:?}: not an argon2 PHC string ({reason}); make one with `ivr passwd`"
                    ),
                );
            }
            if let Some(agent) = &user.agent
                && !self.agents.iter().any(|a| a.user == *agent)
            {
                return invalid(
                    "users.agent",
                    format!("user {name:?}: {agent:?} is not an [[agents]] user"),
                );
            }
            if user.role == Role::Supervisor && user.agent.is_some() {
                return invalid(
                    "users.agent",
                    format!("user {name:?} is a supervisor; only role = \"agent\" takes an agent"),
                );
            }
        }
        Ok(())
    }

    fn validate_acd(&self) -> Result<(), ConfigError> {
        let acd = &self.acd;
        if acd.ring_timeout_s == 0 {
            return invalid("acd.ring_timeout_s", "must be at least 1".into());
        }
        if acd.max_missed == 0 {
            return invalid("acd.max_missed", "must be at least 1".into());
        }
        let codes = acd.feature_codes.all();
        for (i, (name, code)) in codes.iter().enumerate() {
            if code.is_empty()
                || !code
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
            {
                return invalid(
                    "acd.feature_codes",
                    format!("{name} = {code:?}: use keypad keys only (0-9, * and #)"),
                );
            }
            if let Some((other, _)) = codes[..i].iter().find(|(_, c)| c == code) {
                return invalid(
                    "acd.feature_codes",
                    format!("{name} and {other} are both {code:?}"),
                );
            }
        }
        for (i, agent) in self.agents.iter().enumerate() {
            let user = &agent.user;
            if user.is_empty()
                || user
                    .chars()
                    .any(|c| c.is_whitespace() || "@:;<>\"".contains(c))
            {
                return invalid(
                    "agents.user",
                    format!("{user:?} is not a SIP user name (no spaces, @, :, ;, <, > or quotes)"),
                );
            }
            if self.agents[..i].iter().any(|a| a.user == *user) {
                return invalid("agents.user", format!("{user:?} is listed twice"));
            }
            if agent.password.is_empty() {
                return invalid("agents.password", format!("agent {user:?} has none"));
            }
            if let Some((queue, level)) = agent.skills.iter().find(|(_, l)| !(1..=10).contains(*l))
            {
                return invalid(
                    "agents.skills",
                    format!("agent {user:?} has level {level} for {queue:?}; levels are 1 to 10"),
                );
            }
        }
        Ok(())
    }

    /// RTP ports a call can take: every even port from `port_min` to
    /// `port_max`.
    pub fn rtp_ports(&self) -> impl Iterator<Item = u16> + use<> {
        (self.rtp.port_min..=self.rtp.port_max).step_by(2)
    }

    fn resolve_paths(&mut self, base: &Path) {
        for path in [
            &mut self.engine.dialplan,
            &mut self.engine.models_dir,
            &mut self.storage.database,
            &mut self.storage.recordings,
            &mut self.storage.prompt_cache,
        ] {
            if path.is_relative() {
                *path = normalize(&base.join(&*path));
            }
        }
    }
}

/// Drops `.` and folds `..` into its parent, so `config/../var` reads as
/// `var` in logs and errors. Lexical: a symlinked folder followed by `..`
/// would resolve elsewhere on disk, which a config file has no reason to do.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn invalid(key: &'static str, reason: String) -> Result<(), ConfigError> {
    Err(ConfigError::Invalid { key, reason })
}

/// Accepts what `--language` accepts (`en`, `english`, `zh`, `mandarin`...).
fn language_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Language>, D::Error> {
    let name = String::deserialize(d)?;
    Language::parse(&name)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown language {name:?}: use en or zh")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("test.toml"), Path::new("/srv/ivr"))
    }

    #[test]
    fn empty_file_gives_the_defaults_with_paths_resolved() {
        let config = parse("").unwrap();
        let mut expected = Config::default();
        expected.resolve_paths(Path::new("/srv/ivr"));
        assert_eq!(config, expected);
        assert_eq!(
            config.storage.database,
            Path::new("/srv/ivr/var/ivr.sqlite")
        );
    }

    #[test]
    fn parent_folders_are_folded() {
        let config = parse("[engine]\ndialplan = \"../dialplans/x.toml\"\n").unwrap();
        assert_eq!(config.engine.dialplan, Path::new("/srv/dialplans/x.toml"));
    }

    #[test]
    fn absolute_paths_are_kept() {
        let config = parse("[storage]\ndatabase = \"/data/calls.db\"\n").unwrap();
        assert_eq!(config.storage.database, Path::new("/data/calls.db"));
    }

    #[test]
    fn language_accepts_the_cli_names() {
        for (name, language) in [("en", Language::En), ("mandarin", Language::Zh)] {
            let config = parse(&format!("[engine]\nlanguage = \"{name}\"\n")).unwrap();
            assert_eq!(config.engine.language, Some(language));
        }
        let err = parse("[engine]\nlanguage = \"klingon\"\n").unwrap_err();
        assert!(err.to_string().contains("klingon"), "{err}");
    }

    #[test]
    fn rtp_ports_are_the_even_ports_of_the_range() {
        let config = parse("[rtp]\nport_min = 30000\nport_max = 30006\n").unwrap();
        assert_eq!(
            config.rtp_ports().collect::<Vec<_>>(),
            [30000, 30002, 30004, 30006]
        );
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cases = [
            ("[rtp]\nport_min = 20001\n", "rtp.port_min"),
            ("[rtp]\nport_max = 29999\n", "rtp.port_max"),
            (
                "[rtp]\nport_min = 30000\nport_max = 30000\n",
                "rtp.port_max",
            ),
            ("[rtp]\nip = \"0.0.0.0\"\n", "rtp.ip"),
            ("[rtp]\nplayout_delay_ms = 60000\n", "rtp.playout_delay_ms"),
            ("[engine]\nmax_calls = 0\n", "engine.max_calls"),
            ("[engine]\nmax_no_input = 0\n", "engine.max_no_input"),
            ("[engine]\nasr_workers = 0\n", "engine.asr_workers"),
            ("[engine]\nno_input_ms = 0\n", "engine.no_input_ms"),
        ];
        for (text, key) in cases {
            match parse(text) {
                Err(ConfigError::Invalid { key: got, .. }) => assert_eq!(got, key, "{text}"),
                other => panic!("{text}: expected an invalid {key}, got {other:?}"),
            }
        }
    }

    #[test]
    fn agents_and_acd_settings_parse() {
        let config = parse(
            "[acd]\nring_timeout_s = 20\n[acd.feature_codes]\npause = \"*7\"\n\
             [[agents]]\nuser = \"alice\"\npassword = \"s3cret\"\nname = \"Alice\"\n\
             skills = { billing = 8, general = 5 }\n\
             [[agents]]\nuser = \"bob\"\npassword = \"pw\"\n",
        )
        .unwrap();
        assert_eq!(config.acd.ring_timeout_s, 20);
        assert_eq!(config.acd.wrap_up_s, AcdSettings::default().wrap_up_s);
        assert_eq!(config.acd.feature_codes.pause, "*7");
        assert_eq!(config.agents.len(), 2);
        assert_eq!(config.agents[0].skills.get("billing"), Some(&8));
        assert_eq!(config.agents[1].display_name(), "bob");
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn bad_agents_and_acd_settings_name_their_key() {
        let agent = |extra: &str| format!("[[agents]]\nuser = \"a\"\npassword = \"p\"\n{extra}");
        let cases = [
            (
                "[acd]\nring_timeout_s = 0\n".to_string(),
                "acd.ring_timeout_s",
            ),
            ("[acd]\nmax_missed = 0\n".to_string(), "acd.max_missed"),
            (
                "[acd.feature_codes]\npause = \"*1\"\n".to_string(),
                "acd.feature_codes",
            ),
            (
                "[acd.feature_codes]\nlogin = \"x\"\n".to_string(),
                "acd.feature_codes",
            ),
            (agent("skills = { billing = 11 }\n"), "agents.skills"),
            (agent("skills = { billing = 0 }\n"), "agents.skills"),
            (format!("{}{}", agent(""), agent("")), "agents.user"),
            (
                "[[agents]]\nuser = \"a b\"\npassword = \"p\"\n".to_string(),
                "agents.user",
            ),
            (
                "[[agents]]\nuser = \"a\"\npassword = \"\"\n".to_string(),
                "agents.password",
            ),
        ];
        for (text, key) in cases {
            match parse(&text) {
                Err(ConfigError::Invalid { key: got, .. }) => assert_eq!(got, key, "{text}"),
                other => panic!("{text}: expected an invalid {key}, got {other:?}"),
            }
        }
        assert!(matches!(
            parse("[[agents]]\nuser = \"a\"\n"),
            Err(ConfigError::Parse { .. })
        ));
    }

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$afWvgLVEDMw+gEB082Rm/A$I4P05li15u8TJxsBNZUzi7QLAyhh+X+1LE0JPWb65tg";

    #[test]
    fn users_parse_with_their_roles() {
        let config = parse(&format!(
            "[[agents]]\nuser = \"alice\"\npassword = \"p\"\n\
             [[users]]\nname = \"sue\"\nrole = \"supervisor\"\npassword_hash = \"{HASH}\"\n\
             [[users]]\nname = \"al\"\nrole = \"agent\"\npassword_hash = \"{HASH}\"\nagent = \"alice\"\n"
        ))
        .unwrap();
        assert_eq!(config.users.len(), 2);
        assert_eq!(config.users[0].role, Role::Supervisor);
        assert_eq!(config.users[1].agent.as_deref(), Some("alice"));
        assert!(!format!("{config:?}").contains(HASH));
    }

    #[test]
    fn bad_users_name_their_key() {
        let user = |name: &str, role: &str, hash: &str, extra: &str| {
            format!(
                "[[users]]\nname = \"{name}\"\nrole = \"{role}\"\npassword_hash = \"{hash}\"\n{extra}"
            )
        };
        let cases = [
            (user("", "agent", HASH, ""), "users.name"),
            (
                format!(
                    "{}{}",
                    user("a", "agent", HASH, ""),
                    user("a", "agent", HASH, "")
                ),
                "users.name",
            ),
            (user("a", "agent", "secret", ""), "users.password_hash"),
            (
                user("a", "agent", HASH, "agent = \"ghost\"\n"),
                "users.agent",
            ),
        ];
        for (text, key) in cases {
            match parse(&text) {
                Err(ConfigError::Invalid { key: got, .. }) => assert_eq!(got, key, "{text}"),
                other => panic!("{text}: expected an invalid {key}, got {other:?}"),
            }
        }
        for text in [
            user("a", "admin", HASH, ""),
            user("a", "agent", HASH, "password = \"x\"\n"),
            "[[users]]\nname = \"a\"\nrole = \"agent\"\n".to_string(),
        ] {
            assert!(
                matches!(parse(&text), Err(ConfigError::Parse { .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn a_wildcard_rtp_ip_is_fine_with_a_public_address() {
        let config = parse("[sip]\npublic_addr = \"203.0.113.7\"\n[rtp]\nip = \"0.0.0.0\"\n");
        assert!(config.is_ok(), "{config:?}");
    }
}
