//! Runs the engine in-process for tests that call it over loopback: SIP on
//! a free UDP/TCP port, a fresh SQLite file, recordings in a scratch folder,
//! the HTTP API and pages on a free loopback port.
//!
//! For HTTP tests, give the server logins and talk to it with
//! `common/api.rs`:
//!
//! ```ignore
//! let srv = TestServer::start_with_users(
//!     "my-test",
//!     Language::En,
//!     vec![AgentCredential { user: "alice".into(), password: "sip-pw".into() }],
//!     vec![
//!         TestUser::supervisor("sue", "sue-pw"),
//!         TestUser::agent("al", "al-pw", "alice"), // acts as ACD agent alice
//!     ],
//! );
//! let sue = Api::login(srv.http, "sue", "sue-pw"); // or srv.url("/") for a browser
//! ```
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ivr::auth::{Role, UserAccount, Users, hash_password};
use ivr::brain::asr::Language;
use ivr::call_record::CallRecord;
use ivr::runtime::engine::{CallSettings, Engine};
use ivr::runtime::server::{RunningServer, ServeOptions, start};
use ivr::runtime::tts::PromptRenderer;
use ivr::sip::AgentCredential;
use ivr::store::{CallFilter, Store};

use crate::common::brain;

/// A login of the test server's HTTP API (a `[[users]]` entry).
#[derive(Debug, Clone)]
pub struct TestUser {
    pub name: String,
    pub role: Role,
    pub password: String,
    /// The ACD agent (SIP user) an agent login acts as.
    pub agent: Option<String>,
}

impl TestUser {
    pub fn supervisor(name: &str, password: &str) -> TestUser {
        TestUser {
            name: name.into(),
            role: Role::Supervisor,
            password: password.into(),
            agent: None,
        }
    }

    /// An agent login acting as the ACD agent `agent` (a SIP user).
    pub fn agent(name: &str, password: &str, agent: &str) -> TestUser {
        TestUser {
            name: name.into(),
            role: Role::Agent,
            password: password.into(),
            agent: Some(agent.into()),
        }
    }

    fn account(&self) -> UserAccount {
        UserAccount {
            name: self.name.clone(),
            role: self.role,
            password_hash: hash_password(&self.password, &[42; 16]).unwrap(),
            agent: self.agent.clone(),
        }
    }
}

pub struct TestServer {
    pub runtime: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    pub engine: Arc<Engine>,
    /// Where the HTTP API answers.
    pub http: SocketAddr,
    pub dir: PathBuf,
    pub database: PathBuf,
}

impl TestServer {
    /// Starts the hotline engine for `language`; `name` keeps test folders apart.
    pub fn start(name: &str, language: Language) -> TestServer {
        Self::start_with(name, language, CallSettings::default())
    }

    /// Starts the hotline engine with agents' phones allowed to REGISTER.
    pub fn start_with_agents(
        name: &str,
        language: Language,
        agents: Vec<AgentCredential>,
    ) -> TestServer {
        Self::start_full(
            name,
            language,
            CallSettings::default(),
            agents,
            Vec::new(),
            &|_| {},
        )
    }

    /// Starts the hotline engine with agents' phones allowed to REGISTER and
    /// the queue settings (read from the engine config and the dialplan)
    /// changed by `tune`: ring timeout, wrap-up, transfers, the transcript
    /// after the bridge.
    pub fn start_tuned(
        name: &str,
        language: Language,
        agents: Vec<AgentCredential>,
        tune: &dyn Fn(&mut ivr::queue::AcdConfig),
    ) -> TestServer {
        Self::start_full(
            name,
            language,
            CallSettings::default(),
            agents,
            Vec::new(),
            tune,
        )
    }

    /// Starts the hotline engine with agents' phones allowed to REGISTER
    /// and `users` allowed to log in to the HTTP API.
    pub fn start_with_users(
        name: &str,
        language: Language,
        agents: Vec<AgentCredential>,
        users: Vec<TestUser>,
    ) -> TestServer {
        Self::start_full(
            name,
            language,
            CallSettings::default(),
            agents,
            users,
            &|_| {},
        )
    }

    pub fn start_with(name: &str, language: Language, calls: CallSettings) -> TestServer {
        Self::start_full(name, language, calls, Vec::new(), Vec::new(), &|_| {})
    }

    fn start_full(
        name: &str,
        language: Language,
        mut calls: CallSettings,
        agents: Vec<AgentCredential>,
        users: Vec<TestUser>,
        tune: &dyn Fn(&mut ivr::queue::AcdConfig),
    ) -> TestServer {
        let dir = std::env::temp_dir().join(format!("ivr-srv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let database = dir.join("calls.sqlite");
        calls.recordings = Some(dir.join("recordings"));
        let store = Store::open(&database).expect("store opens");
        // Rendered prompts are shared by all test runs: rendering is the slow part.
        let prompts = PromptRenderer::new(crate::common::repo().join("target/test-prompts"));
        let brain = brain(language);
        let mut config = ivr::config::Config::default();
        config.agents = agents
            .iter()
            .map(|a| ivr::config::AgentAccount {
                user: a.user.clone(),
                password: a.password.clone(),
                name: a.user.clone(),
                skills: Default::default(),
            })
            .collect();
        config.users = users.iter().map(TestUser::account).collect();
        config.validate().expect("test users fit the agents");
        let users = Users::new(&config.users).expect("test users' hashes");
        let mut acd = ivr::queue::AcdConfig::from_parts(&brain.dialplan, &config);
        tune(&mut acd);
        let engine =
            Arc::new(Engine::new(&brain, prompts, store, calls).expect("engine opens its store"));
        assert_eq!(engine.prewarm_prompts(), 0, "every dialplan prompt renders");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let http = runtime
            .block_on(ivr::runtime::http_api::start(
                engine.clone(),
                "127.0.0.1:0".parse().unwrap(),
                users,
            ))
            .expect("HTTP API starts");
        let server = runtime
            .block_on(start(
                engine.clone(),
                ServeOptions {
                    sip_udp: "127.0.0.1:0".parse().unwrap(),
                    sip_tcp: Some("127.0.0.1:0".parse().unwrap()),
                    rtp_ip: "127.0.0.1".parse().unwrap(),
                    rtp_ports: (30000, 39998),
                    max_calls: 100,
                    agents,
                    acd,
                    http: Some(http),
                },
            ))
            .expect("server starts");
        TestServer {
            runtime,
            http,
            server: Some(server),
            engine,
            dir,
            database,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path` (`/api/board`, `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn sip_udp(&self) -> SocketAddr {
        self.server.as_ref().unwrap().sip_udp
    }

    pub fn sip_tcp(&self) -> SocketAddr {
        self.server.as_ref().unwrap().sip_tcp.unwrap()
    }

    /// Stops the engine as SIGTERM does: hangs up and stores every call.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }

    /// Every stored call record, newest first (read from the database file).
    pub fn calls(&self) -> Vec<CallRecord> {
        Store::open(&self.database)
            .unwrap()
            .list_calls(&CallFilter::default())
            .unwrap()
    }

    /// Waits (bounded) until `n` calls have ended and been stored.
    pub fn wait_for_ended_calls(&self, n: usize, limit: Duration) -> Vec<CallRecord> {
        let until = Instant::now() + limit;
        loop {
            let calls = self.calls();
            let ended = calls.iter().filter(|c| c.ended_unix_ms.is_some()).count();
            if ended >= n || Instant::now() > until {
                return calls;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
