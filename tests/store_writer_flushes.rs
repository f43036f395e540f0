//! The store's writer thread saves what call tasks hand it, and `flush`
//! returns only when all of it is on disk, or says how much was not.

use std::time::Duration;

use ivr::call_record::CallRecord;
use ivr::runtime::store_writer::StoreWriter;
use ivr::store::{CallFilter, Store, StoreError};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ivr-writer-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn record(id: usize, stage: &str) -> CallRecord {
    CallRecord {
        id: format!("call-{id:03}"),
        sip_call_id: format!("{id}@example.invalid"),
        caller: format!("+1555{id:04}"),
        started_unix_ms: 1_000 * id as i64,
        end_reason: Some(stage.into()),
        ..CallRecord::default()
    }
}

#[test]
fn everything_sent_before_flush_is_durable() {
    let dir = scratch("flush");
    let path = dir.join("calls.sqlite");
    let writer = StoreWriter::spawn(Store::open(&path).unwrap()).unwrap();
    // Calls from several tasks at once: saved at start, then at the end.
    std::thread::scope(|scope| {
        for task in 0..4 {
            let writer = &writer;
            scope.spawn(move || {
                for id in (task * 25)..(task * 25 + 25) {
                    writer.save(record(id, "started")).unwrap();
                    writer.save(record(id, "caller_hung_up")).unwrap();
                }
            });
        }
    });
    writer.flush().unwrap();

    // Another connection sees every call in its final state.
    let reader = Store::open(&path).unwrap();
    let calls = reader.list_calls(&CallFilter::default()).unwrap();
    assert_eq!(calls.len(), 100);
    assert!(
        calls
            .iter()
            .all(|c| c.end_reason.as_deref() == Some("caller_hung_up"))
    );
    assert_eq!(
        reader.get_call("call-042").unwrap(),
        Some(record(42, "caller_hung_up"))
    );
    writer.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failed_saves_are_reported_by_the_next_flush() {
    let dir = scratch("failed");
    let path = dir.join("calls.sqlite");
    let store = Store::open(&path).unwrap();
    store.set_busy_timeout(Duration::from_millis(20)).unwrap();
    let writer = StoreWriter::spawn(store).unwrap();
    writer.save(record(1, "caller_hung_up")).unwrap();
    writer.flush().unwrap();

    // Another program holds the write lock while two calls end.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    writer.save(record(2, "caller_hung_up")).unwrap();
    writer.save(record(3, "caller_hung_up")).unwrap();
    let err = writer.flush().unwrap_err();
    match &err {
        StoreError::Unsaved { count, first } => {
            assert_eq!(*count, 2);
            assert!(first.to_string().contains("locked"), "{first}");
        }
        other => panic!("expected unsaved records, got {other}"),
    }
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);

    // The failure was reported once; the writer goes on working.
    writer.save(record(3, "caller_hung_up")).unwrap();
    writer.close().unwrap();
    let reader = Store::open(&path).unwrap();
    let ids: Vec<String> = reader
        .list_calls(&CallFilter::default())
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["call-003", "call-001"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dropping_the_writer_still_writes_what_was_queued() {
    let dir = scratch("drop");
    let path = dir.join("calls.sqlite");
    let writer = StoreWriter::spawn(Store::open(&path).unwrap()).unwrap();
    for id in 0..20 {
        writer.save(record(id, "shutdown")).unwrap();
    }
    drop(writer);
    let reader = Store::open(&path).unwrap();
    assert_eq!(reader.list_calls(&CallFilter::default()).unwrap().len(), 20);
    std::fs::remove_dir_all(&dir).unwrap();
}
