//! `[[queue]]` tables in the dialplan: settings per queue with defaults for
//! the rest, clear errors for unknown strategies and broken overflow chains,
//! and the ACD config built from the dialplan and the engine config.

use ivr::config::Config;
use ivr::dialplan::{DialplanError, Invalid, QueueSettings, load_dialplan, parse_dialplan};
use ivr::queue::{AcdConfig, StaffingWarning, Strategy};
use std::path::Path;

const PLAN: &str = r#"
name = "shop"
default_queue = "general"
queues = ["general", "billing", "tech"]
greeting = { en = "Hello", zh = "您好" }

[[queue]]
name = "billing"
strategy = "skills"
max_wait_s = 90
overflow = "general"
announce_every_s = 20
target_answer_s = 15
callback_after_s = 60

[[queue]]
name = "tech"
strategy = "round_robin"

[[intents]]
name = "human_agent"
keywords = ["agent"]
action = { type = "queue", queue = "general" }
"#;

fn parse(text: &str) -> Result<ivr::dialplan::Dialplan, DialplanError> {
    parse_dialplan(text, Path::new("plan.toml"))
}

fn invalid(text: &str) -> Invalid {
    match parse(text) {
        Err(DialplanError::Invalid { problem, .. }) => problem,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn settings_per_queue_with_defaults_for_the_rest() {
    let plan = parse(PLAN).unwrap();
    let billing = plan.queue_settings("billing");
    assert_eq!(billing.strategy, "skills");
    assert_eq!(billing.max_wait_s, 90);
    assert_eq!(billing.overflow.as_deref(), Some("general"));
    let tech = plan.queue_settings("tech");
    assert_eq!(tech.strategy, "round_robin");
    assert_eq!(tech.max_wait_s, QueueSettings::defaults("tech").max_wait_s);
    assert_eq!(
        plan.queue_settings("general"),
        QueueSettings::defaults("general")
    );
}

#[test]
fn the_acd_config_joins_dialplan_and_engine_config() {
    let plan = parse(PLAN).unwrap();
    let config = Config::from_toml(
        "[acd]\nring_timeout_s = 20\nwrap_up_s = 5\nmax_missed = 3\n\
         [[agents]]\nuser = \"alice\"\npassword = \"pw\"\nskills = { billing = 8, general = 5 }\n",
        Path::new("ivr.toml"),
        Path::new("/srv"),
    )
    .unwrap();
    let acd = AcdConfig::from_parts(&plan, &config);
    let names: Vec<&str> = acd.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["general", "billing", "tech"]);
    let billing = acd.queue("billing").unwrap();
    assert_eq!(billing.strategy, Strategy::Skills);
    assert_eq!(
        (
            billing.max_wait_ms,
            billing.announce_every_ms,
            billing.target_answer_ms,
            billing.callback_after_ms
        ),
        (90_000, 20_000, 15_000, 60_000)
    );
    assert_eq!(
        acd.queue("general").unwrap().strategy,
        Strategy::LongestIdle
    );
    assert_eq!(
        (acd.ring_timeout_ms, acd.wrap_up_ms, acd.max_missed),
        (20_000, 5_000, 3)
    );
    assert_eq!(acd.agents[0].skill("billing"), Some(8));
    // Nobody takes tech, and it overflows nowhere.
    assert_eq!(
        acd.warnings(),
        [StaffingWarning::Unstaffed {
            queue: "tech".into()
        }]
    );
}

#[test]
fn no_agents_is_a_warning_not_an_error() {
    let plan = parse(PLAN).unwrap();
    let acd = AcdConfig::from_parts(&plan, &Config::default());
    assert!(acd.agents.is_empty());
    assert_eq!(acd.warnings(), [StaffingWarning::NoAgents]);
    assert!(acd.warnings()[0].to_string().contains("no agents"));
}

#[test]
fn an_unknown_strategy_names_the_queue() {
    let problem = invalid(&PLAN.replace("\"round_robin\"", "\"random\""));
    assert_eq!(
        problem,
        Invalid::UnknownStrategy {
            queue: "tech".into(),
            strategy: "random".into()
        }
    );
    assert!(problem.to_string().contains("tech"), "{problem}");
}

#[test]
fn overflow_to_an_unknown_queue_is_refused() {
    let problem = invalid(&PLAN.replace("overflow = \"general\"", "overflow = \"sales\""));
    assert_eq!(
        problem,
        Invalid::UnknownOverflow {
            queue: "billing".into(),
            overflow: "sales".into()
        }
    );
}

#[test]
fn overflow_cycles_are_refused_with_the_circle() {
    let cycle = PLAN.replace(
        "strategy = \"round_robin\"",
        "strategy = \"round_robin\"\nmax_wait_s = 60\noverflow = \"billing\"",
    );
    let cycle = cycle.replace("overflow = \"general\"", "overflow = \"tech\"");
    match invalid(&cycle) {
        Invalid::OverflowCycle { queue, cycle } => {
            assert_eq!(queue, "billing");
            assert_eq!(cycle, "billing -> tech -> billing");
        }
        other => panic!("{other:?}"),
    }
    let to_itself = PLAN.replace("overflow = \"general\"", "overflow = \"billing\"");
    assert!(matches!(invalid(&to_itself), Invalid::OverflowCycle { .. }));
}

#[test]
fn settings_that_cannot_apply_are_refused() {
    let unknown = PLAN.replace("name = \"tech\"", "name = \"sales\"");
    assert_eq!(
        invalid(&unknown),
        Invalid::SettingsForUnknownQueue("sales".into())
    );
    let twice = PLAN.replace("name = \"tech\"", "name = \"billing\"");
    assert_eq!(
        invalid(&twice),
        Invalid::DuplicateQueueSettings("billing".into())
    );
    let never = PLAN.replace("max_wait_s = 90", "max_wait_s = 0");
    assert_eq!(
        invalid(&never),
        Invalid::OverflowWithoutMaxWait("billing".into())
    );
    // A typo in a key is a TOML error with its line.
    let typo = PLAN.replace("announce_every_s", "announce_each_s");
    assert!(matches!(parse(&typo), Err(DialplanError::Toml { .. })));
}

#[test]
fn the_shipped_hotline_still_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/hotline.toml");
    let plan = load_dialplan(&path).unwrap();
    let acd = AcdConfig::from_parts(&plan, &Config::default());
    assert_eq!(acd.queues.len(), plan.queues.len());
}
