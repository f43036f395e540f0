//! Subcommands of the `ivr` binary; each file parses its own arguments.

pub mod bench;
pub mod bench_report;
pub mod bench_report_asr;
pub mod classify;
pub mod dial;
pub mod eval;
pub mod models;
pub mod passwd;
pub mod replay;
pub mod serve;

/// Errors reaching the command line are printed and end the process.
pub type CliResult = Result<(), Box<dyn std::error::Error>>;
