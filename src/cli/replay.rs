use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::CliResult;
use crate::runtime::replay::{Brain, ReplayReport};

#[derive(clap::Args)]
pub struct Args {
    /// Caller recording: 8 kHz mu-law, A-law or PCM WAV, or 16 kHz PCM WAV.
    pub file: PathBuf,
    #[command(flatten)]
    pub brain: BrainArgs,
    /// Print JSON lines instead of readable text.
    #[arg(long)]
    pub json: bool,
}

/// How to load the brain; shared by `replay` and `eval`.
#[derive(clap::Args, Clone)]
pub struct BrainArgs {
    #[arg(long, default_value = "dialplans/hotline.toml")]
    pub dialplan: PathBuf,
    /// Whisper model name (`tiny.en`, `base`); default depends on the language.
    #[arg(long)]
    pub model: Option<String>,
    /// Recognition language (`en`, `zh`); default from the dialplan.
    #[arg(long)]
    pub language: Option<String>,
    #[arg(long, default_value = "models")]
    pub models_dir: PathBuf,
    /// Whisper beam width (1 = greedy, the default: fastest).
    #[arg(long, default_value_t = 1)]
    pub beam_size: usize,
    /// Encode the full 30 s window even for short utterances (slower).
    #[arg(long)]
    pub full_window: bool,
}

pub fn run(args: Args) -> CliResult {
    let brain = Brain::load(&args.brain.options()?)?;
    let report = brain.replay_file(&args.file)?;
    let result = if args.json {
        print_json(&report)
    } else {
        print_readable(&report)
    };
    match result {
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

impl BrainArgs {
    pub fn options(&self) -> Result<crate::runtime::replay::BrainOptions, String> {
        let language = match &self.language {
            Some(l) => Some(
                crate::brain::asr::Language::parse(l)
                    .ok_or_else(|| format!("unknown language {l:?}: use en or zh"))?,
            ),
            None => None,
        };
        Ok(crate::runtime::replay::BrainOptions {
            dialplan: self.dialplan.clone(),
            model: self.model.clone(),
            language,
            models_dir: self.models_dir.clone(),
            beam_size: self.beam_size,
            full_window: self.full_window,
        })
    }
}

pub fn utterance_json(u: &crate::session::UtteranceReport) -> serde_json::Value {
    json!({
        "type": "utterance",
        "start_ms": u.start_ms,
        "end_ms": u.end_ms,
        "text": u.text,
        "intent": u.intent,
        "confidence": round3(u.confidence),
        "agitation": round3(u.agitation),
        "reasons": u.reasons,
        "slots": u.slots,
        "prosody": u.prosody,
    })
}

pub fn decision_json(report: &ReplayReport) -> serde_json::Value {
    let d = &report.decision;
    json!({
        "type": "decision",
        "intent": d.intent,
        "confidence": round3(d.confidence),
        "route": d.route,
        "reason": d.reason,
        "agitated": d.agitated,
        "summary": d.summary,
        "decision_ms": report.decision_ms,
    })
}

fn round3(x: f32) -> f64 {
    (x as f64 * 1000.0).round() / 1000.0
}

fn print_json(report: &ReplayReport) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for u in &report.utterances {
        writeln!(out, "{}", utterance_json(u))?;
    }
    writeln!(out, "{}", decision_json(report))
}

fn print_readable(report: &ReplayReport) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for u in &report.utterances {
        writeln!(
            out,
            "[{:>6.2}s - {:>6.2}s] \"{}\"",
            u.start_ms as f64 / 1000.0,
            u.end_ms as f64 / 1000.0,
            u.text
        )?;
        writeln!(
            out,
            "    intent {} ({:.2}), agitation {:.2}{}",
            u.intent.as_deref().unwrap_or("out of scope"),
            u.confidence,
            u.agitation,
            if u.reasons.is_empty() {
                String::new()
            } else {
                format!(": {}", u.reasons.join("; "))
            }
        )?;
    }
    let d = &report.decision;
    let route = match d.route.kind {
        crate::session::RouteKind::SelfService => "self-service",
        crate::session::RouteKind::Queue => "queue",
        crate::session::RouteKind::Clarify => "ask again",
    };
    writeln!(
        out,
        "decision: {route}{} (intent {}, {:?}){}",
        d.route
            .target
            .as_deref()
            .map(|t| format!(" -> {t}"))
            .unwrap_or_default(),
        d.intent.as_deref().unwrap_or("none"),
        d.reason,
        if d.agitated { ", caller agitated" } else { "" }
    )?;
    writeln!(out, "summary: {}", d.summary.sentence)
}
