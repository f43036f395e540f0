//! Broken dialplans (bad TOML, unknown fields, bad CSV example files, rule
//! violations) are refused with an error that names the cause; loading never
//! panics.

use ivr::dialplan::{DialplanError, Invalid, load_dialplan};
use std::path::{Path, PathBuf};

const GOOD: &str = r#"
name = "shop"
default_queue = "general"
queues = ["general", "billing"]
greeting = { en = "Hello", zh = "您好" }

[[intents]]
name = "human_agent"
keywords = ["agent"]
action = { type = "queue", queue = "general" }

[[intents]]
name = "pay_bill"
examples.en = ["I want to pay my bill"]
action = { type = "queue", queue = "billing" }
"#;

/// A scratch folder per test, so tests can run in parallel.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ivr-dialplan-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn load(
    test: &str,
    toml: &str,
    files: &[(&str, &[u8])],
) -> Result<ivr::dialplan::Dialplan, DialplanError> {
    let dir = scratch(test);
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let path = dir.join("plan.toml");
    std::fs::write(&path, toml).unwrap();
    let result = load_dialplan(&path);
    std::fs::remove_dir_all(&dir).ok();
    result
}

fn invalid(test: &str, toml: &str) -> Invalid {
    match load(test, toml, &[]) {
        Err(DialplanError::Invalid { problem, .. }) => problem,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn the_reference_file_loads() {
    assert!(load("good", GOOD, &[]).is_ok());
}

#[test]
fn missing_file_is_an_io_error() {
    let err = load_dialplan(Path::new("/nonexistent/plan.toml")).unwrap_err();
    assert!(matches!(err, DialplanError::Io { .. }), "{err}");
}

#[test]
fn malformed_toml_names_the_line() {
    let broken = GOOD.replace(
        "queues = [\"general\", \"billing\"]",
        "queues = [\"general\", \"billing\"",
    );
    match load("syntax", &broken, &[]) {
        Err(DialplanError::Toml { line, message, .. }) => {
            assert!(line >= 4, "line {line}: {message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert!(matches!(
        load("binary", "\u{0}\u{1}garbage ==", &[]),
        Err(DialplanError::Toml { .. })
    ));
}

#[test]
fn unknown_fields_and_wrong_types_are_refused() {
    let typo = GOOD.replace("default_queue", "defualt_queue");
    assert!(matches!(
        load("typo", &typo, &[]),
        Err(DialplanError::Toml { .. })
    ));
    let extra = GOOD.replace(
        "keywords = [\"agent\"]",
        "keywords = [\"agent\"]\ncolour = \"blue\"",
    );
    let err = load("extra", &extra, &[]).unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
    let bad_action = GOOD.replace(
        "type = \"queue\", queue = \"billing\"",
        "type = \"teleport\"",
    );
    assert!(matches!(
        load("action", &bad_action, &[]),
        Err(DialplanError::Toml { .. })
    ));
    let wrong_type = GOOD.replace("name = \"shop\"", "name = 42");
    assert!(matches!(
        load("type", &wrong_type, &[]),
        Err(DialplanError::Toml { .. })
    ));
}

#[test]
fn rule_violations_are_named() {
    let unknown = GOOD.replace("queue = \"billing\" }", "queue = \"finance\" }");
    assert!(matches!(
        invalid("queue", &unknown),
        Invalid::UnknownQueue { .. }
    ));
    let empty = GOOD.replace(
        "examples.en = [\"I want to pay my bill\"]",
        "examples.en = []",
    );
    assert_eq!(
        invalid("empty", &empty),
        Invalid::EmptyIntent("pay_bill".into())
    );
    let dup = GOOD.replace("name = \"pay_bill\"", "name = \"human_agent\"");
    assert_eq!(
        invalid("dup", &dup),
        Invalid::DuplicateIntent("human_agent".into())
    );
    let threshold = format!("{GOOD}\n[router]\nthreshold = 2.0\n");
    assert!(matches!(
        invalid("threshold", &threshold),
        Invalid::OutOfRange { .. }
    ));
    let no_person = GOOD
        .replace(
            "action = { type = \"queue\", queue = \"general\" }",
            "action = { type = \"answer\", prompt = { en = \"hi\" } }",
        )
        .replace(
            "action = { type = \"queue\", queue = \"billing\" }",
            "action = { type = \"answer\", prompt = { en = \"ok\" } }",
        );
    assert_eq!(invalid("no-person", &no_person), Invalid::NoRouteToPerson);
}

#[test]
fn csv_examples_are_added_and_bad_csv_is_refused() {
    let with_csv = format!("{GOOD}\n[[examples_csv]]\npath = \"more.csv\"\n");
    let rows =
        b"text,label\n\"where is my card, it's late\",card_arrival\nI want to pay,pay_bill\n";
    let plan = load("csv", &with_csv, &[("more.csv", rows)]).unwrap();
    let card = plan
        .intent("card_arrival")
        .expect("intent created from a label");
    assert_eq!(card.examples[0].text, "where is my card, it's late");
    assert_eq!(plan.intent("pay_bill").unwrap().examples.len(), 2);

    let ragged = b"text,label\nhello,greet\nno label here\n";
    match load("ragged", &with_csv, &[("more.csv", ragged)]) {
        Err(DialplanError::Csv { line, .. }) => assert_eq!(line, 3),
        other => panic!("expected a CSV error, got {other:?}"),
    }
    let no_label = b"utterance,intent_name\nhello,greet\n";
    assert!(matches!(
        load("header", &with_csv, &[("more.csv", no_label)]),
        Err(DialplanError::Csv { .. })
    ));
    let not_utf8: &[u8] = b"text,label\n\xff\xfe,greet\n";
    assert!(matches!(
        load("utf8", &with_csv, &[("more.csv", not_utf8)]),
        Err(DialplanError::Csv { .. })
    ));
    assert!(matches!(
        load("missing", &with_csv, &[]),
        Err(DialplanError::Io { .. })
    ));
}
