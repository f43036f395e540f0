//! Dialplans: TOML files describing a hotline's intents and what to do with each.

pub mod load;
pub mod model;

pub use load::{DialplanError, Invalid, dialplan_from_examples, load_dialplan, parse_dialplan};
pub use model::*;
