//! `ivr` command line. Each subcommand lives in `ivr::cli::<name>`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "ivr", version, about = "Voice IVR / call-center engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install and convert Whisper models.
    Models(ivr::cli::models::Args),
    /// Classify one utterance per stdin line into a dialplan intent (JSON lines).
    Classify(ivr::cli::classify::Args),
    /// Run a recorded caller WAV through the whole pipeline.
    Replay(ivr::cli::replay::Args),
    /// Accuracy and latency figures over the fixtures and datasets.
    Eval(ivr::cli::eval::Args),
    /// Answer SIP calls (UDP and TCP) until SIGTERM.
    Serve(ivr::cli::serve::Args),
    /// Call a SIP server, play a WAV as the caller, print what came back.
    Dial(ivr::cli::dial::Args),
    /// Load a running engine with callers: latency and capacity figures.
    Bench(ivr::cli::bench::Args),
    /// Print the argon2 hash of a password for a `[[users]]` entry.
    Passwd(ivr::cli::passwd::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("IVR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let result = match Cli::parse().command {
        Command::Models(a) => ivr::cli::models::run(a),
        Command::Classify(a) => ivr::cli::classify::run(a),
        Command::Replay(a) => ivr::cli::replay::run(a),
        Command::Eval(a) => ivr::cli::eval::run(a),
        Command::Serve(a) => ivr::cli::serve::run(a),
        Command::Dial(a) => ivr::cli::dial::run(a),
        Command::Bench(a) => ivr::cli::bench::run(a),
        Command::Passwd(a) => ivr::cli::passwd::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ivr: {e:#}");
            ExitCode::FAILURE
        }
    }
}
