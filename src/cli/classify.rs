//! `ivr classify`: one utterance per stdin line in, one JSON object per line
//! out, so the router can be tried by hand or scripted.

use super::CliResult;
use crate::brain::intent::Router;
use crate::dialplan::load_dialplan;
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Dialplan whose intents the utterances are routed to.
    #[arg(long, default_value = "dialplans/hotline.toml")]
    pub dialplan: PathBuf,
}

#[derive(serde::Serialize)]
struct Line<'a> {
    text: &'a str,
    intent: Option<&'a str>,
    confidence: f32,
}

pub fn run(args: Args) -> CliResult {
    let dialplan = load_dialplan(&args.dialplan)?;
    let router = Router::new(&dialplan);
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let text = line?;
        // Every line gets an answer, blank ones too, so output lines match input lines.
        let text = text.trim();
        let classification = router.classify(text);
        let json = serde_json::to_string(&Line {
            text,
            intent: classification.intent.as_deref(),
            confidence: (classification.confidence * 1000.0).round() / 1000.0,
        })?;
        writeln!(out, "{json}")?;
        // A caller piping lines in one at a time waits for each answer.
        out.flush()?;
    }
    Ok(())
}
