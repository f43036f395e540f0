//! `ivr dial sip:URI --play FILE.wav`: call a SIP server as a caller would,
//! and print what came back.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use serde_json::json;

use super::CliResult;
use crate::brain::asr::Language;
use crate::media::wav::write_wav_pcm16;
use crate::runtime::dialer::{DialOptions, dial};
use crate::runtime::listen::transcribe_heard;
use crate::runtime::replay::{default_model, model_path};
use crate::runtime::whisper::{PoolOptions, WhisperPool};

#[derive(clap::Args)]
pub struct Args {
    /// Who to call, e.g. sip:hotline@127.0.0.1:5060.
    pub target: String,
    /// What the caller says: an 8 kHz WAV (mu-law, A-law or PCM).
    #[arg(long)]
    pub play: PathBuf,
    /// Save what the caller heard as an 8 kHz WAV.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Transcribe what the caller heard with the engine's recogniser.
    #[arg(long)]
    pub transcribe: bool,
    /// Language of what is heard (`en`, `zh`), for --transcribe.
    #[arg(long, default_value = "en")]
    pub language: String,
    #[arg(long, default_value = "models")]
    pub models_dir: PathBuf,
    /// Speak once the greeting has been quiet this long (0: speak at once).
    #[arg(long, default_value_t = 800)]
    pub wait_ms: u64,
    /// Keep listening this long after speaking.
    #[arg(long, default_value_t = 8000)]
    pub listen_ms: u64,
    /// Digits to press after speaking (RFC 4733), e.g. 0.
    #[arg(long, default_value = "")]
    pub dtmf: String,
    /// Local address to call from.
    #[arg(long, default_value = "127.0.0.1")]
    pub local_ip: IpAddr,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> CliResult {
    let language = Language::parse(&args.language)
        .ok_or_else(|| format!("unknown language {:?}: use en or zh", args.language))?;
    let opts = DialOptions {
        target: args.target.clone(),
        play: args.play.clone(),
        local_ip: args.local_ip,
        wait_for_prompt_ms: args.wait_ms,
        listen_ms: args.listen_ms,
        answer_timeout_ms: 10_000,
        dtmf: args.dtmf.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(dial(&opts))?;
    if let Some(path) = &args.record {
        write_wav_pcm16(path, 8000, &report.heard)?;
    }
    let heard = if args.transcribe {
        let model = model_path(&args.models_dir, default_model(language));
        let pool = WhisperPool::open(&model, PoolOptions::default())?;
        transcribe_heard(&pool, &report.heard, language)?
    } else {
        Vec::new()
    };
    let mut out = std::io::stdout().lock();
    let printed = if args.json {
        writeln!(out, "{}", json!({ "call": report, "heard": heard }))
    } else {
        print_readable(&mut out, &report, &heard)
    };
    match printed {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn print_readable(
    out: &mut impl Write,
    report: &crate::runtime::dialer::DialReport,
    heard: &[crate::runtime::listen::HeardLine],
) -> std::io::Result<()> {
    writeln!(out, "answered in {:.0} ms", report.setup_ms)?;
    for line in heard {
        writeln!(
            out,
            "[{:>6.2}s] heard: \"{}\"",
            line.start_ms as f64 / 1000.0,
            line.text
        )?;
    }
    if let Some(v2v) = report.voice_to_voice_ms {
        writeln!(
            out,
            "answer began {v2v:.0} ms after the caller stopped speaking"
        )?;
    }
    if let Some(ear) = report.voice_to_ear_ms {
        writeln!(
            out,
            "  (heard {ear:.0} ms after, through this caller's playout buffer)"
        )?;
    }
    writeln!(
        out,
        "{} ms of audio heard; {} hung up",
        report.heard_ms,
        if report.remote_hung_up {
            "the engine"
        } else {
            "the caller"
        }
    )
}
