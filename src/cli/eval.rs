use std::path::PathBuf;

use super::CliResult;
use super::replay::BrainArgs;
use crate::brain::asr::Language;
use crate::eval_fixtures::{self, Outcome, Summary};
use crate::runtime::replay::Brain;
use crate::session::EarlyDecision;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "audio-fixtures")]
    pub fixtures: PathBuf,
    /// Folder holding banking77/ and clinc150/.
    #[arg(long, default_value = "../shared/datasets")]
    pub datasets: PathBuf,
    #[command(flatten)]
    pub brain: BrainArgs,
    /// Skip the Mandarin fixtures (they need the base model).
    #[arg(long)]
    pub english_only: bool,
    /// Skip the dataset figures.
    #[arg(long)]
    pub no_datasets: bool,
    /// Print every fixture's outcome, not only the totals.
    #[arg(long)]
    pub verbose: bool,
    /// Recognise only at the endpoint, not speculatively at pauses.
    #[arg(long)]
    pub no_early_recognition: bool,
    /// End an utterance before its hangover when the early transcript is a
    /// complete, confidently routed request.
    #[arg(long, conflicts_with = "no_early_recognition")]
    pub early_decision: bool,
    /// Silence (ms) after which the utterance so far is recognised early;
    /// default: the engine's.
    #[arg(long)]
    pub early_ms: Option<u32>,
}

pub fn run(args: Args) -> CliResult {
    let fixtures = eval_fixtures::load_fixtures(&args.fixtures)?;
    let mut languages = vec![Language::En];
    if !args.english_only {
        languages.push(Language::Zh);
    }
    for language in languages {
        let set: Vec<_> = fixtures.iter().filter(|f| f.language == language).collect();
        if set.is_empty() {
            continue;
        }
        let mut opts = args.brain.options()?;
        opts.language = Some(language);
        let brain = Brain::load(&opts)?;
        let mut config = brain.session_config();
        config.early_recognition = !args.no_early_recognition;
        config.early_decision = args.early_decision.then(EarlyDecision::default);
        if let Some(ms) = args.early_ms {
            config.vad.early_ms = ms;
        }
        let mut outcomes = Vec::new();
        for f in set {
            let report = brain.replay_file_with(&f.wav, config.clone())?;
            let o = eval_fixtures::score(f, &report);
            if args.verbose {
                print_outcome(&o);
            }
            outcomes.push(o);
        }
        print_summary(language, &eval_fixtures::summarize(&outcomes));
    }
    if !args.no_datasets {
        let b = crate::eval_datasets::banking77(&args.datasets.join("banking77/train.csv"))?;
        print_dataset("banking77 (every 5th example held out)", &b);
        let c = crate::eval_datasets::clinc150(&args.datasets.join("clinc150/train_val.json"))?;
        print_dataset("clinc150 (val, oos_val)", &c);
    }
    Ok(())
}

fn print_outcome(o: &Outcome) {
    println!(
        "{:<28} {} want {:<16} got {:<16} {:<12} agitated {}/{} errors {}/{} \"{}\"",
        o.id,
        if o.routed_correctly { "ok  " } else { "MISS" },
        o.expected_intent.as_deref().unwrap_or("(none)"),
        o.got_intent.as_deref().unwrap_or("(none)"),
        format!("{:?}", o.route),
        o.expected_agitated,
        o.got_agitated,
        o.errors,
        o.reference_len,
        o.hypothesis
    );
    let ms: Vec<String> = o
        .speech_end_ms
        .iter()
        .map(|ms| format!("{ms:.0}"))
        .collect();
    println!("{:<28} end of speech -> decision: {} ms", "", ms.join(", "));
}

fn print_summary(language: Language, s: &Summary) {
    let rate_name = match language {
        Language::En => "word error rate",
        Language::Zh => "character error rate",
    };
    println!("fixtures ({}): {}", language.code(), s.fixtures);
    println!(
        "  routing accuracy           {:.1}%",
        s.routing_accuracy * 100.0
    );
    println!(
        "  in-scope intent accuracy   {:.1}%",
        s.in_scope_accuracy * 100.0
    );
    println!(
        "  out-of-scope rejection     {:.1}%",
        s.out_of_scope_rejection * 100.0
    );
    println!(
        "  person requests -> person  {:.1}%",
        s.person_requests_reaching_person * 100.0
    );
    println!("  agitation precision        {:.2}", s.agitation_precision);
    println!("  agitation recall           {:.2}", s.agitation_recall);
    println!("  {:<26} {:.1}%", rate_name, s.error_rate * 100.0);
    println!(
        "  end of utterance -> decision  median {:.0} ms, p95 {:.0} ms",
        s.decision_ms_median, s.decision_ms_p95
    );
    println!(
        "  end of speech -> decision     median {:.0} ms, p95 {:.0} ms",
        s.speech_end_ms_median, s.speech_end_ms_p95
    );
    let e = s.speculation;
    if e.asked > 0 {
        println!(
            "  early recognition          {} asked, {} used, {} wasted ({:.0}%)",
            e.asked,
            e.used,
            e.wasted,
            100.0 * f64::from(e.wasted) / f64::from(e.asked)
        );
    }
}

fn print_dataset(name: &str, d: &crate::eval_datasets::DatasetScore) {
    println!(
        "{name}: {} intents, {} train / {} test examples",
        d.intents, d.train_examples, d.test_examples
    );
    println!("  intent accuracy            {:.1}%", d.accuracy * 100.0);
    println!(
        "  top-1 (ignoring rejection) {:.1}%",
        d.top1_accuracy * 100.0
    );
    println!("  in-scope wrongly rejected  {:.1}%", d.rejected * 100.0);
    if let Some(o) = &d.out_of_scope {
        println!(
            "  out-of-scope rejection     {:.1}% (precision {:.1}%, {} examples)",
            o.recall * 100.0,
            o.precision * 100.0,
            o.test_examples
        );
    }
}
