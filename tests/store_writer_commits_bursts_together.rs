//! Records queued while the store's writer is busy go to disk together, in
//! one transaction, and a task that waits for its record hears how it went.

use std::time::Duration;

use ivr::call_record::CallRecord;
use ivr::runtime::store_writer::StoreWriter;
use ivr::store::{CallFilter, Store};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ivr-group-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn record(id: usize) -> CallRecord {
    CallRecord {
        id: format!("call-{id:03}"),
        caller: format!("+1555{id:04}"),
        started_unix_ms: 1_000 * id as i64,
        end_reason: Some("caller_hung_up".into()),
        ..CallRecord::default()
    }
}

/// A writer on a new database at `path` that waits up to `busy` for a lock.
fn writer_on(path: &std::path::Path, busy: Duration) -> StoreWriter {
    let store = Store::open(path).unwrap();
    store.set_busy_timeout(busy).unwrap();
    StoreWriter::spawn(store).unwrap()
}

#[test]
fn a_burst_queued_behind_a_busy_disk_is_one_transaction() {
    let dir = scratch("burst");
    let path = dir.join("calls.sqlite");
    let writer = writer_on(&path, Duration::from_secs(30));

    // Another program holds the write lock: the first save waits for it,
    // and 200 calls end meanwhile.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    writer.save(record(0)).unwrap();
    for id in 1..=200 {
        writer.save(record(id)).unwrap();
    }
    other.execute_batch("ROLLBACK").unwrap();
    writer.flush().unwrap();

    // The first save (alone, unless the burst queued before the writer
    // took it), then everything that queued behind it: two transactions at
    // most, not 201 fsyncs.
    assert!(writer.batches() <= 2, "{} transactions", writer.batches());
    let reader = Store::open(&path).unwrap();
    assert_eq!(
        reader.list_calls(&CallFilter::default()).unwrap().len(),
        201
    );
    assert_eq!(reader.get_call("call-150").unwrap(), Some(record(150)));
    writer.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_waited_for_save_reports_its_own_outcome() {
    let dir = scratch("waited");
    let path = dir.join("calls.sqlite");
    let writer = writer_on(&path, Duration::from_millis(20));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    runtime.block_on(writer.saved(record(1))).unwrap();
    // Durable once `saved` returns: another connection reads it.
    let reader = Store::open(&path).unwrap();
    assert_eq!(reader.get_call("call-001").unwrap(), Some(record(1)));

    // Locked out, the waiter hears the failure, and a later flush does not
    // report it a second time.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = runtime.block_on(writer.saved(record(2))).unwrap_err();
    assert!(err.to_string().contains("locked"), "{err}");
    other.execute_batch("ROLLBACK").unwrap();
    writer.flush().unwrap();

    // The writer goes on; a plain thread can wait too.
    writer.save_and_wait(record(4)).unwrap();
    assert_eq!(reader.get_call("call-004").unwrap(), Some(record(4)));
    writer.save(record(3)).unwrap();
    writer.flush().unwrap();
    assert_eq!(reader.get_call("call-003").unwrap(), Some(record(3)));
    assert_eq!(reader.get_call("call-002").unwrap(), None);
    writer.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
