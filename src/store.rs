//! Call records in SQLite.
