//! Call records in SQLite: one file, embedded, no server.
//!
//! Each call is one row: a few columns to filter on (caller, final intent,
//! queue, times, end reason) and the whole [`CallRecord`] as JSON, so
//! nothing the call core records is lost and new record fields need no
//! migration. A call is saved when it starts and again when it ends; saving
//! replaces the row in one transaction. Notes written after a call
//! ([`Disposition`]) live in a table of their own, so a later save of the
//! record cannot drop them.
//!
//! Saves block on disk I/O (an fsync per transaction, so a record is
//! durable when `save_call` returns; `save_calls` makes several durable
//! with one). A [`Store`] is `Send` but not `Sync`: the runtime saves call
//! records on the writer thread of `runtime::store_writer`, which commits
//! what queues during a write together, and reads through a second `Store`
//! on the same file, which WAL mode lets it read while it is written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::call_record::CallRecord;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot create the folder {path} for the call database: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the call database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// Another program's SQLite file, or not SQLite at all; left untouched.
    #[error("{path} is not an ivr call database ({reason}); it was left untouched")]
    NotOurs { path: PathBuf, reason: String },
    #[error(
        "the call database {path} has schema version {found}, newer than this build knows ({supported}); upgrade ivr"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("cannot migrate the call database {path} to schema version {version}: {source}")]
    Migrate {
        path: PathBuf,
        version: i64,
        source: rusqlite::Error,
    },
    #[error("call database query failed ({what}): {source}")]
    Query {
        what: &'static str,
        source: rusqlite::Error,
    },
    #[error("stored call record {id} cannot be read: {source}")]
    CorruptRecord {
        id: String,
        source: serde_json::Error,
    },
    #[error("call record {id} cannot be encoded: {source}")]
    Encode {
        id: String,
        source: serde_json::Error,
    },
    #[error("cannot start the call store's writer thread: {0}")]
    WriterThread(std::io::Error),
    /// The store's writer thread is gone (`runtime::store_writer`).
    #[error("the call store writer has stopped")]
    WriterStopped,
    /// Saves queued on the writer thread failed (`runtime::store_writer`).
    #[error("{count} call record save(s) failed; the first: {first}")]
    Unsaved {
        count: usize,
        first: Box<StoreError>,
    },
}

/// Which calls [`Store::list_calls`] returns; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallFilter {
    pub caller: Option<String>,
    /// Callers whose number or SIP user contains this text.
    pub caller_contains: Option<String>,
    /// The intent of the call's final decision.
    pub intent: Option<String>,
    pub queue: Option<String>,
    /// Calls started at or after this Unix ms.
    pub since_unix_ms: Option<i64>,
    /// Calls started before this Unix ms.
    pub until_unix_ms: Option<i64>,
    /// At most this many, newest first; `None`: all.
    pub limit: Option<u32>,
}

/// A note on a call written after it (on the agent screen or the board).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disposition {
    pub call_id: String,
    /// The login that wrote it.
    pub user: String,
    /// The ACD agent that login acts as, if any.
    pub agent: Option<String>,
    pub note: String,
    pub at_unix_ms: i64,
}

/// Marks a SQLite file as ours (`PRAGMA application_id`, "IVR1").
const APPLICATION_ID: i64 = 0x4956_5231;

/// Schema migrations in order; the database's `user_version` counts how
/// many have run. Append, never edit a released one.
const MIGRATIONS: &[&str] = &[
    // 1: calls, with the record as JSON and the columns filters use.
    "CREATE TABLE calls (
        id TEXT PRIMARY KEY NOT NULL,
        sip_call_id TEXT NOT NULL,
        caller TEXT NOT NULL,
        started_unix_ms INTEGER NOT NULL,
        ended_unix_ms INTEGER,
        intent TEXT,
        queue TEXT,
        end_reason TEXT,
        record_json TEXT NOT NULL
    );
    CREATE INDEX calls_started ON calls (started_unix_ms);
    CREATE INDEX calls_sip_call_id ON calls (sip_call_id);
    CREATE INDEX calls_caller ON calls (caller, started_unix_ms);
    CREATE INDEX calls_intent ON calls (intent, started_unix_ms);
    CREATE INDEX calls_queue ON calls (queue, started_unix_ms);
    CREATE INDEX calls_end_reason ON calls (end_reason, started_unix_ms);",
    // 2: notes written after a call, apart from the record so saving the
    // record again (the call ending) never drops one.
    "CREATE TABLE dispositions (
        call_id TEXT NOT NULL,
        user TEXT NOT NULL,
        agent TEXT,
        note TEXT NOT NULL,
        at_unix_ms INTEGER NOT NULL
    );
    CREATE INDEX dispositions_call ON dispositions (call_id, at_unix_ms);",
];

/// How long a write waits for another connection's lock before failing.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Open the database at `path`, creating it and its folders if needed,
    /// and bring its schema up to date. A file that is not an ivr database
    /// is refused, never overwritten.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let created = if parent.is_file() {
                // create_dir_all would only say "File exists".
                Err(std::io::Error::other("it is a file, not a folder"))
            } else {
                std::fs::create_dir_all(parent)
            };
            created.map_err(|source| StoreError::CreateDir {
                path: parent.to_owned(),
                source,
            })?;
        }
        let open_error = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
        conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)
            .map_err(open_error)?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.check_ours()?;
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long a write waits for another connection's lock before it fails
    /// (default 5 s).
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(timeout)
            .map_err(|source| StoreError::Query {
                what: "set busy timeout",
                source,
            })
    }

    /// Insert or replace the call `record.id`; durable when this returns.
    pub fn save_call(&mut self, record: &CallRecord) -> Result<(), StoreError> {
        self.save_calls([record])
    }

    /// Saves several records in one transaction, so one fsync makes them
    /// all durable: all are saved or none is.
    pub fn save_calls<'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a CallRecord>,
    ) -> Result<(), StoreError> {
        let query = |source| StoreError::Query {
            what: "save call",
            source,
        };
        let tx = self.conn.transaction().map_err(query)?;
        for record in records {
            upsert_call(&tx, record)?;
        }
        tx.commit().map_err(query)
    }

    pub fn get_call(&self, id: &str) -> Result<Option<CallRecord>, StoreError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT record_json FROM calls WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|source| StoreError::Query {
                what: "get call",
                source,
            })?;
        json.map(|json| decode(id, &json)).transpose()
    }

    /// Whether `caller` has a call other than `except_id` that started at or
    /// after `since_unix_ms` (a repeat caller). Uses the (caller, start)
    /// index: one probe, no record decoded.
    pub fn called_since(
        &self,
        caller: &str,
        since_unix_ms: i64,
        except_id: &str,
    ) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT 1 FROM calls
                 WHERE caller = ?1 AND started_unix_ms >= ?2 AND id <> ?3
                 LIMIT 1",
            )
            .and_then(|mut statement| statement.exists(params![caller, since_unix_ms, except_id]))
            .map_err(|source| StoreError::Query {
                what: "find earlier calls",
                source,
            })
    }

    /// Calls matching `filter`, newest first.
    pub fn list_calls(&self, filter: &CallFilter) -> Result<Vec<CallRecord>, StoreError> {
        let query = |source| StoreError::Query {
            what: "list calls",
            source,
        };
        // NULL parameters switch a condition off, so one statement (cached
        // by SQLite) serves every filter.
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT id, record_json FROM calls
                 WHERE (?1 IS NULL OR caller = ?1)
                   AND (?2 IS NULL OR intent = ?2)
                   AND (?3 IS NULL OR queue = ?3)
                   AND (?4 IS NULL OR started_unix_ms >= ?4)
                   AND (?5 IS NULL OR started_unix_ms < ?5)
                   AND (?7 IS NULL OR instr(caller, ?7) > 0)
                 ORDER BY started_unix_ms DESC, id DESC
                 LIMIT ?6",
            )
            .map_err(query)?;
        // SQLite reads a negative LIMIT as none.
        let limit = filter.limit.map_or(-1, i64::from);
        let rows = statement
            .query_map(
                params![
                    filter.caller,
                    filter.intent,
                    filter.queue,
                    filter.since_unix_ms,
                    filter.until_unix_ms,
                    limit,
                    filter.caller_contains,
                ],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
            )
            .map_err(query)?;
        let mut calls = Vec::new();
        for row in rows {
            let (id, json) = row.map_err(query)?;
            calls.push(decode(&id, &json)?);
        }
        Ok(calls)
    }

    /// Adds a note to call `disposition.call_id`; durable when this returns.
    pub fn save_disposition(&mut self, disposition: &Disposition) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO dispositions (call_id, user, agent, note, at_unix_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    disposition.call_id,
                    disposition.user,
                    disposition.agent,
                    disposition.note,
                    disposition.at_unix_ms,
                ],
            )
            .map(drop)
            .map_err(|source| StoreError::Query {
                what: "save disposition",
                source,
            })
    }

    /// The notes on call `call_id`, oldest first.
    pub fn dispositions(&self, call_id: &str) -> Result<Vec<Disposition>, StoreError> {
        let query = |source| StoreError::Query {
            what: "list dispositions",
            source,
        };
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT call_id, user, agent, note, at_unix_ms FROM dispositions
                 WHERE call_id = ?1 ORDER BY at_unix_ms, rowid",
            )
            .map_err(query)?;
        let rows = statement
            .query_map([call_id], |row| {
                Ok(Disposition {
                    call_id: row.get(0)?,
                    user: row.get(1)?,
                    agent: row.get(2)?,
                    note: row.get(3)?,
                    at_unix_ms: row.get(4)?,
                })
            })
            .map_err(query)?;
        rows.collect::<Result<_, _>>().map_err(query)
    }

    /// Refuse files that are not ours before anything writes to them: a
    /// garbage file fails the first read, another program's database has
    /// tables but not our application id.
    fn check_ours(&self) -> Result<(), StoreError> {
        let not_ours = |reason: String| StoreError::NotOurs {
            path: self.path.clone(),
            reason,
        };
        let read = |sql: &str| -> Result<i64, rusqlite::Error> {
            self.conn.query_row(sql, [], |row| row.get(0))
        };
        let (app_id, objects) = match (
            read("PRAGMA application_id"),
            read("SELECT count(*) FROM sqlite_schema"),
        ) {
            (Ok(app_id), Ok(objects)) => (app_id, objects),
            (Err(e), _) | (_, Err(e)) => {
                return Err(match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::NotADatabase) => {
                        not_ours("not an SQLite database".into())
                    }
                    _ => StoreError::Open {
                        path: self.path.clone(),
                        source: e,
                    },
                });
            }
        };
        if app_id == APPLICATION_ID || (app_id == 0 && objects == 0) {
            Ok(())
        } else if app_id == 0 {
            Err(not_ours(format!(
                "an SQLite database with {objects} tables or indexes of another program"
            )))
        } else {
            Err(not_ours(format!(
                "an SQLite database of another program (application id {app_id:#x})"
            )))
        }
    }

    fn configure(&self) -> Result<(), StoreError> {
        let open_error = |source| StoreError::Open {
            path: self.path.clone(),
            source,
        };
        // WAL: readers never block the writer; synchronous=FULL makes each
        // commit survive a power cut, not only a crash of the process.
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(open_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %self.path.display(), mode, "call database is not in WAL mode");
        }
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(open_error)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let supported = MIGRATIONS.len() as i64;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|source| StoreError::Open {
                path: self.path.clone(),
                source,
            })?;
        if version > supported {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
                supported,
            });
        }
        for (done, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let next = done as i64 + 1;
            let migrate_error = |source| StoreError::Migrate {
                path: self.path.clone(),
                version: next,
                source,
            };
            // Each step and its version bump commit together, so a failed
            // step leaves the database at the previous version.
            let tx = self.conn.transaction().map_err(migrate_error)?;
            tx.execute_batch(sql).map_err(migrate_error)?;
            tx.execute_batch(&format!(
                "PRAGMA user_version = {next}; PRAGMA application_id = {APPLICATION_ID};"
            ))
            .map_err(migrate_error)?;
            tx.commit().map_err(migrate_error)?;
        }
        Ok(())
    }
}

fn upsert_call(tx: &rusqlite::Transaction, record: &CallRecord) -> Result<(), StoreError> {
    let json = encode(record)?;
    let final_intent = record
        .final_decision
        .as_ref()
        .and_then(|d| d.intent.as_deref());
    tx.execute(
        "INSERT INTO calls (id, sip_call_id, caller, started_unix_ms, ended_unix_ms,
                            intent, queue, end_reason, record_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET
            sip_call_id = excluded.sip_call_id,
            caller = excluded.caller,
            started_unix_ms = excluded.started_unix_ms,
            ended_unix_ms = excluded.ended_unix_ms,
            intent = excluded.intent,
            queue = excluded.queue,
            end_reason = excluded.end_reason,
            record_json = excluded.record_json
         -- An ended call's record is final: a snapshot taken while it
         -- ran, saved late, must not undo it.
         WHERE calls.ended_unix_ms IS NULL OR excluded.ended_unix_ms IS NOT NULL",
        params![
            record.id,
            record.sip_call_id,
            record.caller,
            record.started_unix_ms,
            record.ended_unix_ms,
            final_intent,
            record.queue,
            record.end_reason,
            json,
        ],
    )
    .map_err(|source| StoreError::Query {
        what: "save call",
        source,
    })?;
    Ok(())
}

fn encode(record: &CallRecord) -> Result<String, StoreError> {
    // serde_json writes NaN and infinities as null, which would then fail to
    // read back as f32 and lose the whole record; store them as 0.
    let clean;
    let record = if has_non_finite(record) {
        clean = finite(record.clone());
        &clean
    } else {
        record
    };
    serde_json::to_string(record).map_err(|source| StoreError::Encode {
        id: record.id.clone(),
        source,
    })
}

fn decode(id: &str, json: &str) -> Result<CallRecord, StoreError> {
    serde_json::from_str(json).map_err(|source| StoreError::CorruptRecord {
        id: id.to_owned(),
        source,
    })
}

fn floats(record: &CallRecord) -> impl Iterator<Item = f32> + '_ {
    let turns = record
        .turns
        .iter()
        .flat_map(|t| [t.confidence, t.agitation]);
    let decisions = record
        .decisions
        .iter()
        .chain(&record.final_decision)
        .map(|d| d.confidence);
    turns
        .chain(decisions)
        .chain(std::iter::once(record.agitation_peak))
}

fn has_non_finite(record: &CallRecord) -> bool {
    floats(record).any(|x| !x.is_finite())
}

fn finite(mut record: CallRecord) -> CallRecord {
    let fix = |x: &mut f32| {
        if !x.is_finite() {
            *x = 0.0;
        }
    };
    for turn in &mut record.turns {
        fix(&mut turn.confidence);
        fix(&mut turn.agitation);
    }
    for decision in record
        .decisions
        .iter_mut()
        .chain(&mut record.final_decision)
    {
        fix(&mut decision.confidence);
    }
    fix(&mut record.agitation_peak);
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call_record::{DecisionRecord, TurnRecord};

    fn temp_db(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ivr-store-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("calls.sqlite")
    }

    #[test]
    fn store_is_send() {
        fn send<T: Send>() {}
        send::<Store>();
    }

    #[test]
    fn non_finite_scores_are_stored_as_zero() {
        let path = temp_db("nan");
        let mut store = Store::open(&path).unwrap();
        let record = CallRecord {
            id: "c1".into(),
            agitation_peak: f32::NAN,
            turns: vec![TurnRecord {
                start_ms: 0,
                end_ms: 100,
                text: "hi".into(),
                intent: None,
                confidence: f32::INFINITY,
                agitation: 0.5,
                reasons: vec![],
            }],
            final_decision: Some(DecisionRecord {
                at_ms: 5,
                intent: Some("pay_bill".into()),
                confidence: f32::NAN,
                route: "self_service".into(),
                target: None,
                reason: "understood".into(),
                agitated: false,
            }),
            ..CallRecord::default()
        };
        store.save_call(&record).unwrap();
        let back = store.get_call("c1").unwrap().unwrap();
        assert_eq!(back.agitation_peak, 0.0);
        assert_eq!(back.turns[0].confidence, 0.0);
        assert_eq!(back.turns[0].agitation, 0.5);
        assert_eq!(back.final_decision.unwrap().confidence, 0.0);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_snapshot_saved_after_the_end_does_not_undo_it() {
        let path = temp_db("late-snapshot");
        let mut store = Store::open(&path).unwrap();
        let running = CallRecord {
            id: "c1".into(),
            started_unix_ms: 10,
            ..CallRecord::default()
        };
        let ended = CallRecord {
            ended_unix_ms: Some(12),
            end_reason: Some("caller_hung_up".into()),
            ..running.clone()
        };
        // A call over within milliseconds: its first snapshot, written off
        // the call's task, can reach the store after the final record.
        store.save_call(&ended).unwrap();
        store.save_call(&running).unwrap();
        assert_eq!(store.get_call("c1").unwrap().unwrap(), ended);
        let listed = store.list_calls(&CallFilter::default()).unwrap();
        assert_eq!(listed[0].end_reason.as_deref(), Some("caller_hung_up"));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn dispositions_survive_the_record_being_saved_again() {
        let path = temp_db("dispositions");
        let mut store = Store::open(&path).unwrap();
        let mut record = CallRecord {
            id: "c1".into(),
            caller: "+15550100".into(),
            ..CallRecord::default()
        };
        store.save_call(&record).unwrap();
        let note = |note: &str, at_unix_ms| Disposition {
            call_id: "c1".into(),
            user: "al".into(),
            agent: Some("alice".into()),
            note: note.into(),
            at_unix_ms,
        };
        store
            .save_disposition(&note("refund promised", 20))
            .unwrap();
        store.save_disposition(&note("called back", 10)).unwrap();
        record.ended_unix_ms = Some(30);
        store.save_call(&record).unwrap();
        assert_eq!(
            store.dispositions("c1").unwrap(),
            [note("called back", 10), note("refund promised", 20)]
        );
        assert!(store.dispositions("c2").unwrap().is_empty());
        assert_eq!(store.get_call("c1").unwrap().unwrap(), record);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn earlier_calls_of_a_number_are_found_within_the_window() {
        let path = temp_db("called-since");
        let mut store = Store::open(&path).unwrap();
        for (id, caller, started) in [
            ("old", "+1555", 1_000),
            ("now", "+1555", 9_000),
            ("x", "+4420", 8_000),
        ] {
            let record = CallRecord {
                id: id.into(),
                caller: caller.into(),
                started_unix_ms: started,
                ..CallRecord::default()
            };
            store.save_call(&record).unwrap();
        }
        assert!(store.called_since("+1555", 500, "now").unwrap());
        assert!(
            !store.called_since("+1555", 2_000, "now").unwrap(),
            "too long ago"
        );
        assert!(store.called_since("+1555", 2_000, "other").unwrap());
        assert!(!store.called_since("+999", 0, "now").unwrap());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn callers_are_found_by_part_of_their_number() {
        let path = temp_db("caller-part");
        let mut store = Store::open(&path).unwrap();
        for (id, caller) in [("a", "+15550100"), ("b", "sip:5550100@x"), ("c", "+4420")] {
            let record = CallRecord {
                id: id.into(),
                caller: caller.into(),
                ..CallRecord::default()
            };
            store.save_call(&record).unwrap();
        }
        let found = |part: &str| -> Vec<String> {
            let filter = CallFilter {
                caller_contains: Some(part.into()),
                ..CallFilter::default()
            };
            let calls = store.list_calls(&filter).unwrap();
            calls.into_iter().map(|c| c.id).collect()
        };
        assert_eq!(found("5550100"), ["b", "a"]);
        assert_eq!(found("%"), Vec::<String>::new());
        assert_eq!(found("+44"), ["c"]);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let path = temp_db("newer");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(conn);
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn another_programs_database_is_refused() {
        let path = temp_db("foreign");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('x');")
            .unwrap();
        drop(conn);
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::NotOurs { .. }), "{err}");
        let conn = Connection::open(&path).unwrap();
        let songs: i64 = conn
            .query_row("SELECT count(*) FROM songs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(songs, 1);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
