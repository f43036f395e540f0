//! The call store keeps every record it is given: saved, updated, listed,
//! filtered, still there after reopening, and a bad database file is an
//! error that names it, never a file the store overwrites.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ivr::call_record::{CallRecord, DecisionRecord, EventRecord, TurnRecord};
use ivr::store::{CallFilter, Store, StoreError};

/// A fresh folder for one test; the database goes in a subfolder the store
/// has to create.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ivr-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn decision(intent: &str, route: &str, queue: Option<&str>) -> DecisionRecord {
    DecisionRecord {
        at_ms: 4_200,
        intent: Some(intent.into()),
        confidence: 0.83,
        route: route.into(),
        target: queue.map(Into::into),
        reason: "understood".into(),
        agitated: false,
    }
}

/// A finished call as the call core would fill it.
fn call(id: &str, caller: &str, started: i64, intent: &str, queue: Option<&str>) -> CallRecord {
    let route = if queue.is_some() {
        "queue"
    } else {
        "self_service"
    };
    let decision = decision(intent, route, queue);
    CallRecord {
        id: id.into(),
        sip_call_id: format!("{id}@192.0.2.1"),
        caller: caller.into(),
        called: "hotline".into(),
        language: "en".into(),
        started_unix_ms: started,
        answered_unix_ms: Some(started + 40),
        ended_unix_ms: Some(started + 30_000),
        end_reason: Some("caller_hung_up".into()),
        turns: vec![TurnRecord {
            start_ms: 2_000,
            end_ms: 4_000,
            text: format!("I'd like help with {intent}"),
            intent: Some(intent.into()),
            confidence: 0.83,
            agitation: 0.1,
            reasons: vec!["keyword".into()],
        }],
        decisions: vec![decision.clone()],
        events: vec![EventRecord {
            at_ms: 0,
            kind: "prompt".into(),
            detail: "greeting".into(),
        }],
        final_decision: Some(decision),
        summary: Some(format!("Caller wants {intent}.")),
        summary_json: Some(serde_json::json!({ "intent": intent, "slots": { "amount": "42" } })),
        agitation_peak: 0.1,
        queue: queue.map(Into::into),
        recording_caller: Some(format!("{id}-caller.wav")),
        recording_engine: Some(format!("{id}-engine.wav")),
        rtp_stats: Some(serde_json::json!({ "received": 1500, "lost": 3 })),
    }
}

fn ids(calls: &[CallRecord]) -> Vec<&str> {
    calls.iter().map(|c| c.id.as_str()).collect()
}

#[test]
fn saved_calls_read_back_whole_and_filter() {
    let dir = scratch("roundtrip");
    let mut store = Store::open(&dir.join("db/calls.sqlite")).unwrap();
    let calls = [
        call("a", "+15550001", 1_000, "pay_bill", None),
        call("b", "+15550002", 2_000, "bill_dispute", Some("billing")),
        call("c", "+15550001", 3_000, "internet_outage", Some("tech")),
        call("d", "+15550003", 4_000, "pay_bill", None),
    ];
    for c in &calls {
        store.save_call(c).unwrap();
    }

    assert_eq!(store.get_call("b").unwrap().as_ref(), Some(&calls[1]));
    assert_eq!(store.get_call("nobody").unwrap(), None);

    let all = store.list_calls(&CallFilter::default()).unwrap();
    assert_eq!(ids(&all), ["d", "c", "b", "a"]);
    assert_eq!(all[3], calls[0]);

    let list = |filter: CallFilter| store.list_calls(&filter).unwrap();
    let by_caller = list(CallFilter {
        caller: Some("+15550001".into()),
        ..CallFilter::default()
    });
    assert_eq!(ids(&by_caller), ["c", "a"]);
    let by_intent = list(CallFilter {
        intent: Some("pay_bill".into()),
        ..CallFilter::default()
    });
    assert_eq!(ids(&by_intent), ["d", "a"]);
    let by_queue = list(CallFilter {
        queue: Some("tech".into()),
        ..CallFilter::default()
    });
    assert_eq!(ids(&by_queue), ["c"]);
    let window = list(CallFilter {
        since_unix_ms: Some(2_000),
        until_unix_ms: Some(4_000),
        ..CallFilter::default()
    });
    assert_eq!(ids(&window), ["c", "b"]);
    let newest_two = list(CallFilter {
        limit: Some(2),
        ..CallFilter::default()
    });
    assert_eq!(ids(&newest_two), ["d", "c"]);
    let combined = list(CallFilter {
        caller: Some("+15550001".into()),
        intent: Some("pay_bill".into()),
        ..CallFilter::default()
    });
    assert_eq!(ids(&combined), ["a"]);
    let nothing = list(CallFilter {
        queue: Some("sales".into()),
        ..CallFilter::default()
    });
    assert!(nothing.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn saving_again_updates_the_call() {
    let dir = scratch("upsert");
    let mut store = Store::open(&dir.join("calls.sqlite")).unwrap();
    // When the call starts nothing is decided yet.
    let mut record = CallRecord {
        id: "live".into(),
        sip_call_id: "x@y".into(),
        caller: "alice".into(),
        started_unix_ms: 10_000,
        ..CallRecord::default()
    };
    store.save_call(&record).unwrap();
    let undecided = CallFilter {
        intent: Some("roaming".into()),
        ..CallFilter::default()
    };
    assert!(store.list_calls(&undecided).unwrap().is_empty());

    // When it ends it has a decision and a queue.
    let ended = call("live", "alice", 10_000, "roaming", Some("sales"));
    record = ended.clone();
    store.save_call(&record).unwrap();
    assert_eq!(store.get_call("live").unwrap(), Some(ended.clone()));
    assert_eq!(ids(&store.list_calls(&undecided).unwrap()), ["live"]);
    assert_eq!(store.list_calls(&CallFilter::default()).unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn records_survive_reopening_and_are_seen_by_a_second_reader() {
    let dir = scratch("reopen");
    let path = dir.join("var/ivr.sqlite");
    let first = call("r1", "bob", 5_000, "store_hours", None);
    {
        let mut store = Store::open(&path).unwrap();
        store.save_call(&first).unwrap();
        // A reader on the same file sees what the writer committed.
        let reader = Store::open(&path).unwrap();
        assert_eq!(reader.get_call("r1").unwrap(), Some(first.clone()));
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.get_call("r1").unwrap(), Some(first.clone()));
    let second = call("r2", "bob", 6_000, "lost_phone", Some("security"));
    store.save_call(&second).unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.list_calls(&CallFilter::default()).unwrap(),
        [second, first]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn assert_untouched(path: &Path, bytes: &[u8]) {
    assert_eq!(
        std::fs::read(path).unwrap(),
        bytes,
        "{} was modified",
        path.display()
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = scratch("garbage");
    let path = dir.join("calls.sqlite");
    let text = b"call log\nalice,pay_bill\nbob,roaming\n".repeat(200);
    let mut binary: Vec<u8> = (0..70_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    // A file that claims to be SQLite but whose pages are noise.
    let mut fake_sqlite = b"SQLite format 3\0".to_vec();
    fake_sqlite.extend_from_slice(&binary[..8192]);
    binary[0] = b'X';
    for bytes in [text, binary, fake_sqlite] {
        std::fs::write(&path, &bytes).unwrap();
        let err = Store::open(&path).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, StoreError::NotOurs { .. } | StoreError::Open { .. }),
            "{message}"
        );
        assert!(message.contains("calls.sqlite"), "{message}");
        assert_untouched(&path, &bytes);
        assert!(!dir.join("calls.sqlite-wal").exists());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_record_is_an_error_naming_the_call() {
    let dir = scratch("corrupt-json");
    let path = dir.join("calls.sqlite");
    let mut store = Store::open(&path).unwrap();
    store
        .save_call(&call("good", "carol", 1_000, "pay_bill", None))
        .unwrap();
    store
        .save_call(&call("bad", "carol", 2_000, "pay_bill", None))
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE calls SET record_json = '{\"id\": \"bad\", \"turns\": 7' WHERE id = 'bad'",
        [],
    )
    .unwrap();
    drop(conn);

    let err = store.get_call("bad").unwrap_err();
    assert!(
        matches!(&err, StoreError::CorruptRecord { id, .. } if id == "bad"),
        "{err}"
    );
    let err = store.list_calls(&CallFilter::default()).unwrap_err();
    assert!(err.to_string().contains("bad"), "{err}");
    // The other record is still readable.
    assert_eq!(store.get_call("good").unwrap().unwrap().caller, "carol");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unusable_path_says_which_path() {
    let dir = scratch("unusable");
    // The folder the database should go in is a file.
    let blocker = dir.join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let err = Store::open(&blocker.join("calls.sqlite")).unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err}");
    assert!(err.to_string().contains("not-a-folder"), "{err}");

    // The database path is a folder.
    let folder = dir.join("calls.sqlite");
    std::fs::create_dir_all(&folder).unwrap();
    let err = Store::open(&folder).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("calls.sqlite"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_locked_database_fails_the_write_and_keeps_earlier_records() {
    let dir = scratch("locked");
    let path = dir.join("calls.sqlite");
    let mut store = Store::open(&path).unwrap();
    let first = call("before", "dave", 1_000, "pay_bill", None);
    store.save_call(&first).unwrap();
    store.set_busy_timeout(Duration::from_millis(50)).unwrap();

    // Another process holds the write lock.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let second = call("during", "dave", 2_000, "roaming", None);
    let err = store.save_call(&second).unwrap_err();
    assert!(matches!(err, StoreError::Query { .. }), "{err}");
    assert!(err.to_string().contains("locked"), "{err}");
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);

    assert_eq!(store.get_call("before").unwrap(), Some(first));
    assert_eq!(store.get_call("during").unwrap(), None);
    // Once the lock is gone the same write goes through.
    store.save_call(&second).unwrap();
    assert_eq!(store.get_call("during").unwrap(), Some(second));
    std::fs::remove_dir_all(&dir).unwrap();
}
