//! `ivr bench`: load a running engine with callers and report what they
//! measured (setup time, voice-to-voice latency, late packets); measure
//! recognition and the media pipeline in-process; step sipp's call rate;
//! and write the figures of a whole run into BENCHMARKS.md (`make bench`).

use std::path::PathBuf;

use super::CliResult;
use crate::runtime::bench_asr::{AsrBenchOptions, run_asr_bench};
use crate::runtime::bench_media::{MediaBenchOptions, run_media_bench};
use crate::runtime::bench_sipp::{SetupRateOptions, run_setup_rate};
use crate::runtime::held_callers::{HoldOptions, hold_calls};
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
        /// How long each caller listens after speaking, ms: an answer that
        /// starts later is not heard.
        #[arg(long, default_value_t = 5000)]
        listen_ms: u64,
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
    /// Recognition alone on the English fixtures' utterances: this engine's
    /// time from end of utterance to transcript; writes the utterances as
    /// 16 kHz WAVs (and clips.txt) for a peer recogniser.
    Asr {
        #[arg(long, default_value = "audio-fixtures")]
        fixtures: PathBuf,
        #[arg(long, default_value = "models/ggml-tiny.en-q8_0.bin")]
        model: PathBuf,
        /// The bias prompt comes from this dialplan, as on a live call.
        #[arg(long, default_value = "dialplans/hotline.toml")]
        dialplan: PathBuf,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[arg(long)]
        clips_dir: PathBuf,
    },
    /// CPU cost of one call's incoming audio per second of call (decode,
    /// resample, VAD, prosody), in-process on the sans-IO pipeline.
    Media {
        #[arg(long, default_value = "audio-fixtures")]
        fixtures: PathBuf,
        #[arg(long, default_value = "dialplans/hotline.toml")]
        dialplan: PathBuf,
        #[arg(long, default_value_t = 7)]
        repeats: usize,
        /// CPU each stage runs for per pass, ms.
        #[arg(long, default_value_t = 300)]
        min_stage_ms: u64,
        #[arg(long)]
        json: bool,
    },
    /// Call setups per second with no failed call (sipp steps the rate up).
    SetupRate {
        #[arg(long, default_value = "sip:hotline@127.0.0.1:5060")]
        target: String,
        #[arg(long, default_value = "tests/sipp/bench_setup_rate.xml")]
        scenario: PathBuf,
        /// Calls per second to try, in order, until one fails.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "50,100,200,400,600,800,1000,1500,2000"
        )]
        rates: Vec<u32>,
        #[arg(long, default_value_t = 5)]
        seconds: u32,
        #[arg(long, default_value_t = 5096)]
        sipp_port: u16,
        #[arg(long, default_value_t = 36000)]
        media_port: u16,
        #[arg(long)]
        work_dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The supervisors' board under load: `calls` live callers, `boards`
    /// pages on the event stream; engine-to-board latency and what the
    /// boards cost the server.
    Board {
        #[command(flatten)]
        common: Common,
        /// The engine's HTTP address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: std::net::SocketAddr,
        #[arg(long, default_value = "supervisor")]
        user: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value_t = 10)]
        boards: usize,
        /// Seconds measured without boards, then with them.
        #[arg(long, default_value_t = 15)]
        window_s: u64,
    },
    /// Write the figures of a `make bench` run (a folder of JSON results)
    /// into the generated section of BENCHMARKS.md.
    Report(super::bench_report::Args),
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
    /// Batches of `calls` run one after the other.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// The engine's pid: its resident memory is sampled during the load.
    #[arg(long)]
    pub watch_pid: Option<u32>,
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
        What::Asr {
            fixtures,
            model,
            dialplan,
            threads,
            clips_dir,
        } => {
            let report = run_asr_bench(&AsrBenchOptions {
                fixtures_dir: fixtures,
                model,
                dialplan,
                threads,
                clips_dir,
            })?;
            println!("{}", serde_json::to_string(&report)?);
            return Ok(());
        }
        What::Media {
            fixtures,
            dialplan,
            repeats,
            min_stage_ms,
            json,
        } => {
            let report = run_media_bench(&MediaBenchOptions {
                fixtures_dir: fixtures,
                dialplan,
                repeats,
                min_stage_ms,
            })?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print_media(&report);
            }
            return Ok(());
        }
        What::SetupRate {
            target,
            scenario,
            rates,
            seconds,
            sipp_port,
            media_port,
            work_dir,
            json,
        } => {
            let report = run_setup_rate(&SetupRateOptions {
                server: crate::runtime::dialer::target_addr(&target)?,
                scenario,
                rates,
                seconds_per_step: seconds,
                sip_port: sipp_port,
                media_port,
                work_dir,
            })?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print_setup_rate(&report);
            }
            return Ok(());
        }
        What::Report(args) => return super::bench_report::run(args),
        What::Board {
            common,
            http,
            user,
            password,
            boards,
            window_s,
        } => {
            let server_pid = common
                .watch_pid
                .ok_or("--watch-pid: the engine's pid is needed for its CPU and memory")?;
            let load = LoadOptions {
                target: common.target.clone(),
                fixtures: english_fixtures()?,
                calls: common.calls,
                stagger_ms: common.stagger_ms,
                wait_for_prompt_ms: 700,
                // The callers stay on the line through both windows.
                listen_ms: (2 * window_s + 10) * 1000,
                rounds: 1,
                watch_pid: None,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let report = runtime.block_on(crate::runtime::bench_board::run_board_bench(
                crate::runtime::bench_board::BoardBenchOptions {
                    http,
                    user,
                    password,
                    boards,
                    load,
                    window_s,
                    server_pid,
                },
            ))?;
            if common.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                let l = &report.event_latency_ms;
                println!(
                    "{} calls, {} boards: engine to board median {:.0} ms, p95 {:.0} ms, max {:.0} ms over {} updates",
                    report.calls, report.boards, l.median, l.p95, l.max, report.updates_received
                );
                println!(
                    "server CPU {:.1}% -> {:.1}% of a core, memory {} -> {} kB with the boards open; {} calls failed",
                    report.cpu_percent_no_boards,
                    report.cpu_percent_with_boards,
                    report.rss_kb_no_boards,
                    report.rss_kb_with_boards,
                    report.failed_calls
                );
            }
            return Ok(());
        }
        What::Voice {
            common,
            fixture,
            listen_ms,
        } => {
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
                listen_ms,
                rounds: common.rounds,
                watch_pid: common.watch_pid,
            };
            (common, opts)
        }
        What::Hold { common, seconds } => {
            let opts = HoldOptions {
                target: common.target.clone(),
                calls: common.calls,
                stagger_ms: common.stagger_ms,
                hold_ms: seconds * 1000,
                rounds: common.rounds,
                watch_pid: common.watch_pid,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let report = runtime.block_on(hold_calls(&opts))?;
            return print_report(&common, &report);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(run_load(&opts));
    print_report(&common, &report)
}

fn print_report(common: &Common, report: &LoadReport) -> CliResult {
    if common.json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        print_readable(report);
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
    println!(
        "calls: {} x {} rounds ({} failed)",
        r.calls, r.rounds, r.failed
    );
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
        let e = &r.voice_to_ear_ms;
        println!(
            "  heard after the caller's {} ms playout buffer: median {:.0}, p95 {:.0}",
            crate::runtime::dialer::PLAYOUT_DELAY_MS,
            e.median,
            e.p95
        );
    }
    println!(
        "engine packets: {} received, {} late (> 40 ms behind schedule), worst {:.0} ms, {} lost",
        r.packets, r.late_packets, r.max_lateness_ms, r.lost_packets
    );
    if let Some(ms) = r.behind_p99_ms {
        println!("  99% arrived within {ms:.0} ms of schedule");
    }
    if let (Some(start), Some(peak)) = (r.rss_start_kb, r.rss_peak_kb) {
        println!("engine memory: {start} kB at the start, {peak} kB at the highest");
    }
}

fn print_media(r: &crate::runtime::bench_media::MediaBenchReport) {
    println!(
        "{} calls, {:.0} s of audio, {} passes ({} clock); CPU µs per second of call:",
        r.calls, r.audio_s, r.repeats, r.clock
    );
    for (name, s) in [
        ("receive (RTP, jitter, G.711)", &r.receive),
        ("G.711 decode alone", &r.decode),
        ("resample 8 -> 16 kHz", &r.resample),
        ("VAD / endpointing", &r.vad),
        ("prosody", &r.prosody),
        ("receive + resample + VAD + prosody", &r.sum),
        ("whole pipeline (receiver + session)", &r.pipeline),
    ] {
        println!(
            "  {name:<38} median {:>7.1}  p95 {:>7.1}  min {:>7.1}  max {:>7.1}",
            s.median, s.p95, s.min, s.max
        );
    }
}

fn print_setup_rate(r: &crate::runtime::bench_sipp::SetupRateReport) {
    for s in &r.steps {
        println!(
            "{:>5} cps asked: {:.0} achieved, {}/{} calls ok, {} failed; INVITE->200 ms median {:.0}, p95 {:.0}, max {:.0}",
            s.rate,
            s.achieved_cps,
            s.successful,
            s.calls,
            s.failed,
            s.setup_ms.median,
            s.setup_ms.p95,
            s.setup_ms.max
        );
    }
    match r.best_rate {
        Some(rate) => println!("highest rate with no failed call: {rate} cps"),
        None => println!("no step was clean"),
    }
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
