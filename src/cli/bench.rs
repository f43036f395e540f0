//! `ivr bench`: load a running engine with callers and report what they
//! measured (setup time, voice-to-voice latency, late packets).

use std::path::PathBuf;

use super::CliResult;
use crate::runtime::load::{LoadOptions, LoadReport, run_load};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand)]
pub enum What {
    /// Callers who speak a fixture after the greeting: voice-to-voice latency.
    Voice {
        #[command(flatten)]
        common: Common,
        /// Fixtures the callers say (cycled); default: every English fixture.
        #[arg(long)]
        fixture: Vec<PathBuf>,
    },
    /// Callers who only listen (silence): how many calls the engine keeps
    /// with its audio on time.
    Hold {
        #[command(flatten)]
        common: Common,
        /// How long each call lasts, seconds.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
    /// A simulated busy hour of the queue core: the wait each caller was
    /// told against the wait they had.
    Queue {
        #[arg(long, default_value_t = 10)]
        agents: usize,
        #[arg(long, default_value_t = 220)]
        callers_per_hour: u32,
        #[arg(long, default_value_t = 150.0)]
        mean_handle_s: f64,
        #[arg(long, default_value_t = 5)]
        seeds: u64,
    },
}

#[derive(clap::Args)]
pub struct Common {
    /// The engine, e.g. sip:hotline@127.0.0.1:5060.
    #[arg(long, default_value = "sip:hotline@127.0.0.1:5060")]
    pub target: String,
    /// Simultaneous calls.
    #[arg(long, default_value_t = 1)]
    pub calls: usize,
    /// ms between call starts.
    #[arg(long, default_value_t = 50)]
    pub stagger_ms: u64,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> CliResult {
    let (common, opts) = match args.what {
        What::Queue {
            agents,
            callers_per_hour,
            mean_handle_s,
            seeds,
        } => {
            queue_hour(agents, callers_per_hour, mean_handle_s, seeds);
            return Ok(());
        }
        What::Voice { common, fixture } => {
            let fixtures = if fixture.is_empty() {
                english_fixtures()?
            } else {
                fixture
            };
            let opts = LoadOptions {
                target: common.target.clone(),
                fixtures,
                calls: common.calls,
                stagger_ms: common.stagger_ms,
                wait_for_prompt_ms: 700,
                listen_ms: 5000,
            };
            (common, opts)
        }
        What::Hold { common, seconds } => {
            let silence =
                std::env::temp_dir().join(format!("ivr-bench-silence-{}.wav", std::process::id()));
            crate::media::wav::write_wav_pcm16(&silence, 8000, &vec![0i16; 8000])?;
            let opts = LoadOptions {
                target: common.target.clone(),
                fixtures: vec![silence],
                calls: common.calls,
                stagger_ms: common.stagger_ms,
                wait_for_prompt_ms: 0,
                listen_ms: seconds * 1000,
            };
            (common, opts)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(run_load(&opts));
    if common.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_readable(&report);
    }
    Ok(())
}

fn english_fixtures() -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("audio-fixtures")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "wav")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("en_"))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn print_readable(r: &LoadReport) {
    println!("calls: {} ({} failed)", r.calls, r.failed);
    for f in &r.failures {
        println!("  failure: {f}");
    }
    let s = &r.setup_ms;
    println!(
        "setup (INVITE to 200 OK) ms: median {:.0}, p95 {:.0}, min {:.0}, max {:.0}",
        s.median, s.p95, s.min, s.max
    );
    let v = &r.voice_to_voice_ms;
    if v.n > 0 {
        println!(
            "voice-to-voice ms ({} answers): median {:.0}, p95 {:.0}, min {:.0}, max {:.0}",
            v.n, v.median, v.p95, v.min, v.max
        );
    }
    println!(
        "engine packets: {} received, {} late (> 40 ms behind schedule), worst {:.0} ms",
        r.packets, r.late_packets, r.max_lateness_ms
    );
}

fn queue_hour(agents: usize, callers_per_hour: u32, mean_handle_s: f64, seeds: u64) {
    let mut told = Vec::new();
    let mut real = Vec::new();
    let mut errors = Vec::new();
    for seed in 1..=seeds {
        for (estimate, waited) in
            crate::queue::simulate::busy_hour(seed, agents, callers_per_hour, mean_handle_s)
        {
            told.push(estimate as f64 / 1000.0);
            real.push(waited as f64 / 1000.0);
            errors.push((estimate as f64 - waited as f64).abs() / 1000.0);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let real_stats = crate::runtime::load::Stats::of(&real);
    println!(
        "{agents} agents, {callers_per_hour} callers/hour, mean handle {mean_handle_s:.0} s, {seeds} hours: \
         {} callers; told {:.1} s on average, waited {:.1} s (median {:.1}, p95 {:.1}); mean absolute error {:.1} s",
        real.len(),
        mean(&told),
        mean(&real),
        real_stats.median,
        real_stats.p95,
        mean(&errors)
    );
}
