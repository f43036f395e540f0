//! `ivr serve`: answer SIP calls until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::CliResult;
use crate::auth::{EXAMPLE_PASSWORD, Users};
use crate::config::Config;
use crate::queue::AcdConfig;
use crate::runtime::engine::{CallSettings, Engine};
use crate::runtime::replay::{Brain, BrainOptions};
use crate::runtime::server::{ServeOptions, start};
use crate::runtime::tts::PromptRenderer;
use crate::sip::AgentCredential;
use crate::store::Store;

#[derive(clap::Args)]
pub struct Args {
    /// TOML config file; every key has a default (see config/ivr.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn run(args: Args) -> CliResult {
    let config = Config::load(args.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))
}

pub async fn serve(config: Config) -> CliResult {
    let loading = Instant::now();
    let brain = Brain::load(&BrainOptions {
        dialplan: config.engine.dialplan.clone(),
        model: config.engine.model.clone(),
        language: config.engine.language,
        models_dir: config.engine.models_dir.clone(),
        beam_size: 1,
        full_window: false,
    })?;
    let store = Store::open(&config.storage.database)?;
    let engine = Arc::new(Engine::new(
        &brain,
        PromptRenderer::new(&config.storage.prompt_cache),
        store,
        CallSettings {
            no_input_ms: config.engine.no_input_ms,
            max_no_input: config.engine.max_no_input,
            barge_in: config.engine.barge_in,
            playout_delay_ms: config.rtp.playout_delay_ms,
            recordings: config
                .engine
                .record_calls
                .then(|| config.storage.recordings.clone()),
            sounds_dir: crate::runtime::engine::default_sounds_dir(),
            early_recognition: true,
            early_decision: config.engine.early_decision,
            one_moment_after_ms: (config.engine.one_moment_after_ms > 0)
                .then_some(config.engine.one_moment_after_ms),
            give_up_after_ms: (config.engine.recognition_give_up_ms > 0)
                .then_some(config.engine.recognition_give_up_ms),
        },
    )?);
    let warm = engine.clone();
    let failed = tokio::task::spawn_blocking(move || warm.prewarm_prompts()).await?;
    if failed > 0 {
        eprintln!("ivr: {failed} prompts could not be rendered (is espeak-ng installed?)");
    }
    let users = Users::new(&config.users)?;
    if users.is_empty() {
        eprintln!("ivr: no [[users]] in the config: nobody can log in to the HTTP API");
    }
    for name in with_example_password(&users, &config).await? {
        eprintln!(
            "ivr: user {name:?} still has the example password {EXAMPLE_PASSWORD:?}; \
             set a new one with `ivr passwd`"
        );
    }
    let http = crate::runtime::http_api::start(engine.clone(), config.http.listen, users).await?;
    let background = engine.clone();
    tokio::task::spawn_blocking(move || background.prewarm_clarify_prompts());
    let server = start(
        engine,
        ServeOptions {
            sip_udp: config.sip.udp,
            sip_tcp: Some(config.sip.tcp),
            rtp_ip: config.rtp.ip,
            rtp_ports: (config.rtp.port_min, config.rtp.port_max),
            max_calls: config.engine.max_calls,
            agents: config
                .agents
                .iter()
                .map(|a| AgentCredential {
                    user: a.user.clone(),
                    password: a.password.clone(),
                })
                .collect(),
            acd: AcdConfig::from_parts(&brain.dialplan, &config),
            http: Some(http),
        },
    )
    .await?;
    eprintln!(
        "ivr: answering SIP on udp:{} and tcp:{}, HTTP API on {http} (ready in {:.1} s); call records in {}",
        server.sip_udp,
        server.sip_tcp.map_or("-".to_string(), |a| a.to_string()),
        loading.elapsed().as_secs_f64(),
        config.storage.database.display()
    );
    wait_for_stop().await;
    eprintln!("ivr: stopping: no new calls, hanging up and saving the current ones");
    server.shutdown().await;
    eprintln!("ivr: stopped");
    Ok(())
}

/// Users whose password is still the example config's.
async fn with_example_password(
    users: &Users,
    config: &Config,
) -> Result<Vec<String>, tokio::task::JoinError> {
    let users = users.clone();
    let names: Vec<String> = config.users.iter().map(|u| u.name.clone()).collect();
    // argon2: off the async threads.
    tokio::task::spawn_blocking(move || {
        names
            .into_iter()
            .filter(|name| users.verify(name, EXAMPLE_PASSWORD).is_ok())
            .collect()
    })
    .await
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
