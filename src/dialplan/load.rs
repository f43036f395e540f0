//! Loading and validating dialplans: TOML syntax, CSV example files, and the
//! rules that keep a hotline usable (every intent recognisable, every queue
//! declared, always a way through to a person).

use super::model::{Action, Dialplan, Example, ExamplesCsv, Intent, Prompt};
use crate::brain::asr::Language;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DialplanError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Toml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: line {line}: {message}")]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("dialplan {path}: {problem}")]
    Invalid {
        path: PathBuf,
        #[source]
        problem: Invalid,
    },
}

/// Why a well-formed dialplan cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    #[error("it has no intents")]
    NoIntents,
    #[error("intent {0:?} is declared twice")]
    DuplicateIntent(String),
    #[error("intent {0:?} has no examples and no keywords, so it can never be recognised")]
    EmptyIntent(String),
    #[error("an intent name is empty")]
    UnnamedIntent,
    #[error("intent {intent:?} sends callers to queue {queue:?}, which is not in `queues`")]
    UnknownQueue { intent: String, queue: String },
    #[error("default_queue {0:?} is not in `queues`")]
    UnknownDefaultQueue(String),
    #[error("{field} is {value}, but must be between 0 and 1")]
    OutOfRange { field: &'static str, value: f32 },
    #[error("max_attempts must be at least 1")]
    NoAttempts,
    #[error("no intent queues callers for a person: a caller who needs one would be stuck")]
    NoRouteToPerson,
    #[error("router.person_intent {0:?} is not an intent that queues for a person")]
    BadPersonIntent(String),
    #[error("{0} has no text and no recording")]
    EmptyPrompt(String),
    #[error("recording {0} does not exist")]
    MissingRecording(PathBuf),
    #[error("language {0:?} is not in `languages`")]
    LanguageNotListed(&'static str),
    #[error("[[queue]] {0:?} is not in `queues`")]
    SettingsForUnknownQueue(String),
    #[error("[[queue]] {0:?} is given twice")]
    DuplicateQueueSettings(String),
    #[error(
        "queue {queue:?} has strategy {strategy:?}; use longest_idle, round_robin, fewest_calls or skills"
    )]
    UnknownStrategy { queue: String, strategy: String },
    #[error("queue {queue:?} overflows to {overflow:?}, which is not in `queues`")]
    UnknownOverflow { queue: String, overflow: String },
    #[error("queue {queue:?} overflows in a circle: {cycle}")]
    OverflowCycle { queue: String, cycle: String },
    #[error("queue {0:?} has an overflow but max_wait_s = 0, so it never overflows")]
    OverflowWithoutMaxWait(String),
    #[error("queue {queue:?} transfers to {target:?}, which is not a sip:, sips: or tel: URI")]
    BadTransferTarget { queue: String, target: String },
}

/// Reads, parses and validates a dialplan file.
pub fn load_dialplan(path: &Path) -> Result<Dialplan, DialplanError> {
    let source = std::fs::read_to_string(path).map_err(|source| DialplanError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_dialplan(&source, path)
}

/// Parses and validates dialplan TOML text; `path` names it in errors and is
/// where relative CSV and WAV paths start from.
pub fn parse_dialplan(source: &str, path: &Path) -> Result<Dialplan, DialplanError> {
    let mut plan: Dialplan = toml::from_str(source).map_err(|e| {
        let (line, column) = line_column(source, e.span().map_or(0, |s| s.start));
        DialplanError::Toml {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    for csv in plan.examples_csv.clone() {
        let csv_path = dir.join(&csv.path);
        let rows = read_examples_csv(&csv_path, &csv)?;
        add_labelled_examples(&mut plan, rows, csv.language);
    }
    resolve_recordings(&mut plan, dir);
    validate(&plan).map_err(|problem| DialplanError::Invalid {
        path: path.to_path_buf(),
        problem,
    })?;
    Ok(plan)
}

/// A dialplan made only of labelled examples (a dataset): one intent per
/// label, each queueing to a single `general` queue.
pub fn dialplan_from_examples(
    name: &str,
    language: Language,
    rows: impl IntoIterator<Item = (String, String)>,
) -> Result<Dialplan, DialplanError> {
    let mut plan = Dialplan::empty(name, language);
    add_labelled_examples(&mut plan, rows, language);
    validate(&plan).map_err(|problem| DialplanError::Invalid {
        path: PathBuf::from(format!("<{name}>")),
        problem,
    })?;
    Ok(plan)
}

/// 1-based line and column of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(source.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    let before = &source[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// `(text, label)` rows of a CSV file with a header row.
fn read_examples_csv(
    path: &Path,
    spec: &ExamplesCsv,
) -> Result<Vec<(String, String)>, DialplanError> {
    let csv_error = |line: u64, message: String| DialplanError::Csv {
        path: path.to_path_buf(),
        line,
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| DialplanError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(file);
    let line_of = |e: &csv::Error| e.position().map_or(1, |p| p.line());
    let headers = reader
        .headers()
        .map_err(|e| csv_error(line_of(&e), e.to_string()))?
        .clone();
    let find = |wanted: &[&str]| {
        headers
            .iter()
            .position(|h| wanted.iter().any(|w| h.trim().eq_ignore_ascii_case(w)))
    };
    let text_col = find(&[spec.text_column.as_str()]).ok_or_else(|| {
        csv_error(
            1,
            format!(
                "no column {:?} in header {:?}",
                spec.text_column,
                headers.as_slice()
            ),
        )
    })?;
    let label_names: Vec<&str> = match &spec.label_column {
        Some(name) => vec![name.as_str()],
        None => vec!["label", "category", "intent"],
    };
    let label_col = find(&label_names).ok_or_else(|| {
        csv_error(
            1,
            format!(
                "no label column ({}) in header {:?}",
                label_names.join(" or "),
                headers.as_slice()
            ),
        )
    })?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(line_of(&e), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let text = record.get(text_col).unwrap_or("").trim();
        let label = record.get(label_col).unwrap_or("").trim();
        if text.is_empty() || label.is_empty() {
            return Err(csv_error(line, "empty text or label".to_string()));
        }
        rows.push((text.to_string(), label.to_string()));
    }
    Ok(rows)
}

/// Adds examples to the intent named by each label, creating intents that
/// queue to the default queue for labels the dialplan does not declare.
fn add_labelled_examples(
    plan: &mut Dialplan,
    rows: impl IntoIterator<Item = (String, String)>,
    language: Language,
) {
    for (text, label) in rows {
        let example = Example { text, language };
        match plan.intents.iter_mut().find(|i| i.name == label) {
            Some(intent) => intent.examples.push(example),
            None => plan.intents.push(Intent {
                name: label,
                label: Prompt::default(),
                examples: vec![example],
                keywords: Vec::new(),
                action: Action::Queue {
                    queue: plan.default_queue.clone(),
                },
            }),
        }
    }
}

fn resolve_recordings(plan: &mut Dialplan, dir: &Path) {
    for prompt in prompts_mut(plan) {
        if let Some(wav) = prompt.wav.as_mut()
            && wav.is_relative()
        {
            *wav = dir.join(&*wav);
        }
    }
}

fn prompts_mut(plan: &mut Dialplan) -> Vec<&mut Prompt> {
    let p = &mut plan.prompts;
    let mut all = vec![
        &mut plan.greeting,
        &mut p.clarify,
        &mut p.no_input,
        &mut p.not_understood,
        &mut p.transfer,
        &mut p.anything_else,
        &mut p.goodbye,
        &mut p.one_moment,
    ];
    for intent in &mut plan.intents {
        if let Action::Answer { prompt } | Action::FollowUp { prompt } = &mut intent.action {
            all.push(prompt);
        }
    }
    all
}

/// Every prompt of the dialplan, named for error messages.
fn named_prompts(plan: &Dialplan) -> Vec<(String, &Prompt)> {
    let p = &plan.prompts;
    let mut all: Vec<(String, &Prompt)> = [
        ("greeting", &plan.greeting),
        ("prompts.clarify", &p.clarify),
        ("prompts.no_input", &p.no_input),
        ("prompts.not_understood", &p.not_understood),
        ("prompts.transfer", &p.transfer),
        ("prompts.anything_else", &p.anything_else),
        ("prompts.goodbye", &p.goodbye),
        ("prompts.one_moment", &p.one_moment),
    ]
    .into_iter()
    .map(|(name, prompt)| (name.to_string(), prompt))
    .collect();
    for intent in &plan.intents {
        if let Action::Answer { prompt } | Action::FollowUp { prompt } = &intent.action {
            all.push((format!("the prompt of intent {:?}", intent.name), prompt));
        }
    }
    all
}

fn validate(plan: &Dialplan) -> Result<(), Invalid> {
    if plan.intents.is_empty() {
        return Err(Invalid::NoIntents);
    }
    for (field, value) in [
        ("agitation_threshold", plan.agitation_threshold),
        ("router.threshold", plan.router.threshold),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(Invalid::OutOfRange { field, value });
        }
    }
    if plan.max_attempts == 0 {
        return Err(Invalid::NoAttempts);
    }
    if !plan.languages.contains(&plan.language) {
        return Err(Invalid::LanguageNotListed(plan.language.code()));
    }
    if !plan.queues.contains(&plan.default_queue) {
        return Err(Invalid::UnknownDefaultQueue(plan.default_queue.clone()));
    }
    let mut names = BTreeSet::new();
    for intent in &plan.intents {
        if intent.name.trim().is_empty() {
            return Err(Invalid::UnnamedIntent);
        }
        if !names.insert(intent.name.as_str()) {
            return Err(Invalid::DuplicateIntent(intent.name.clone()));
        }
        let has_text = |s: &String| !s.trim().is_empty();
        if !intent.examples.iter().any(|e| has_text(&e.text))
            && !intent.keywords.iter().any(has_text)
        {
            return Err(Invalid::EmptyIntent(intent.name.clone()));
        }
        match &intent.action {
            Action::Queue { queue } if !plan.queues.contains(queue) => {
                return Err(Invalid::UnknownQueue {
                    intent: intent.name.clone(),
                    queue: queue.clone(),
                });
            }
            _ => {}
        }
    }
    if !plan
        .intents
        .iter()
        .any(|i| matches!(i.action, Action::Queue { .. }))
    {
        return Err(Invalid::NoRouteToPerson);
    }
    if let Some(name) = &plan.router.person_intent {
        let queues = plan
            .intent(name)
            .is_some_and(|i| matches!(i.action, Action::Queue { .. }));
        if !queues {
            return Err(Invalid::BadPersonIntent(name.clone()));
        }
    }
    for (what, prompt) in named_prompts(plan) {
        if prompt.is_empty() {
            return Err(Invalid::EmptyPrompt(what));
        }
        if let Some(wav) = prompt.wav.as_ref().filter(|w| !w.is_file()) {
            return Err(Invalid::MissingRecording(wav.clone()));
        }
    }
    validate_queue_settings(plan)
}

/// `[[queue]]` tables: known queues, known strategies, overflow chains that
/// end (a circle would pass callers round forever).
fn validate_queue_settings(plan: &Dialplan) -> Result<(), Invalid> {
    let mut seen = BTreeSet::new();
    for settings in &plan.queue_settings {
        let queue = settings.name.clone();
        if !plan.queues.contains(&queue) {
            return Err(Invalid::SettingsForUnknownQueue(queue));
        }
        if !seen.insert(settings.name.as_str()) {
            return Err(Invalid::DuplicateQueueSettings(queue));
        }
        if crate::queue::Strategy::parse(&settings.strategy).is_none() {
            return Err(Invalid::UnknownStrategy {
                queue,
                strategy: settings.strategy.clone(),
            });
        }
        if let Some(target) = &settings.transfer
            && !transfer_target_ok(target)
        {
            return Err(Invalid::BadTransferTarget {
                queue,
                target: target.clone(),
            });
        }
        if let Some(overflow) = &settings.overflow {
            if !plan.queues.contains(overflow) {
                return Err(Invalid::UnknownOverflow {
                    queue,
                    overflow: overflow.clone(),
                });
            }
            if settings.max_wait_s == 0 {
                return Err(Invalid::OverflowWithoutMaxWait(queue));
            }
        }
    }
    for queue in &plan.queues {
        let mut chain = vec![queue.clone()];
        let mut at = queue.clone();
        while let Some(next) = plan.queue_settings(&at).overflow {
            if chain.contains(&next) {
                chain.push(next);
                return Err(Invalid::OverflowCycle {
                    queue: queue.clone(),
                    cycle: chain.join(" -> "),
                });
            }
            chain.push(next.clone());
            at = next;
        }
    }
    Ok(())
}

/// A URI the engine can dial: `sip:`, `sips:` or `tel:`, no spaces or
/// angle brackets (it goes into a Request-URI as it is).
fn transfer_target_ok(target: &str) -> bool {
    let scheme_ok = ["sip:", "sips:", "tel:"].iter().any(|s| {
        target.len() > s.len()
            && target
                .get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
    });
    scheme_ok
        && !target
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "mini"
default_queue = "general"
queues = ["general"]
greeting = { en = "Hello", zh = "您好" }

[[intents]]
name = "human_agent"
keywords = ["agent"]
action = { type = "queue", queue = "general" }

[[intents]]
name = "check_balance"
examples.en = ["what is my balance"]
examples.zh = ["查余额"]
[intents.action]
type = "answer"
prompt = { en = "Your balance is on the app.", zh = "请在应用里查看余额。" }
"#;

    fn parse(source: &str) -> Result<Dialplan, DialplanError> {
        parse_dialplan(source, Path::new("test.toml"))
    }

    fn problem(source: &str) -> Invalid {
        match parse(source) {
            Err(DialplanError::Invalid { problem, .. }) => problem,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_minimal_dialplan_with_defaults() {
        let plan = parse(MINIMAL).unwrap();
        assert_eq!(plan.max_attempts, 2);
        assert_eq!(plan.languages, vec![Language::En, Language::Zh]);
        let balance = plan.intent("check_balance").unwrap();
        assert_eq!(balance.examples.len(), 2);
        assert_eq!(balance.examples[1].language, Language::Zh);
        assert!(matches!(balance.action, Action::Answer { .. }));
        assert_eq!(plan.person_intent().unwrap().name, "human_agent");
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let broken = MINIMAL.replace("keywords = [\"agent\"]", "keywords = [\"agent\"");
        match parse(&broken) {
            Err(DialplanError::Toml { line, .. }) => assert_eq!(line, 10),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_unknown_queue_and_duplicates_and_thresholds() {
        let unknown = MINIMAL.replace("queue = \"general\" }", "queue = \"billing\" }");
        assert!(matches!(problem(&unknown), Invalid::UnknownQueue { .. }));
        let dup = MINIMAL.replace("name = \"check_balance\"", "name = \"human_agent\"");
        assert_eq!(
            problem(&dup),
            Invalid::DuplicateIntent("human_agent".into())
        );
        let high = format!("agitation_threshold = 1.5\n{MINIMAL}");
        assert!(matches!(problem(&high), Invalid::OutOfRange { .. }));
    }

    #[test]
    fn requires_a_route_to_a_person() {
        let no_person = MINIMAL.replace(
            "action = { type = \"queue\", queue = \"general\" }",
            "action = { type = \"answer\", prompt = { en = \"hi\" } }",
        );
        assert_eq!(problem(&no_person), Invalid::NoRouteToPerson);
    }

    #[test]
    fn builds_a_dialplan_from_labelled_rows() {
        let rows = vec![
            ("where is my card".to_string(), "card_arrival".to_string()),
            ("card not here yet".to_string(), "card_arrival".to_string()),
            ("my pin is blocked".to_string(), "pin_blocked".to_string()),
        ];
        let plan = dialplan_from_examples("bank", Language::En, rows).unwrap();
        assert_eq!(plan.intents.len(), 2);
        assert_eq!(plan.intent("card_arrival").unwrap().examples.len(), 2);
    }

    #[test]
    fn transfer_queues_need_a_dialable_uri() {
        let with = |target: &str| {
            format!("{MINIMAL}\n[[queue]]\nname = \"general\"\ntransfer = \"{target}\"\n")
        };
        let plan = parse(&with("sip:+15551234@gw.example.com")).expect("a sip: target loads");
        assert_eq!(
            plan.queue_settings("general").transfer.as_deref(),
            Some("sip:+15551234@gw.example.com")
        );
        assert!(parse(&with("tel:+15551234")).is_ok());
        for bad in ["+15551234", "http://x", "sip:a b@c", "sip:"] {
            assert!(
                matches!(problem(&with(bad)), Invalid::BadTransferTarget { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("", 0), (1, 1));
        assert_eq!(line_column("é\nx", 1), (1, 1));
    }
}
