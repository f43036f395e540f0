//! Automatic call distribution (ACD): callers waiting in named queues,
//! agents with states and skills, and the matching of the two.
//!
//! Sans-IO like the rest of the core: the runtime passes `now_ms` and what
//! happened ([`Input`]) into [`Acd::handle_input`], calls
//! [`Acd::handle_timeout`] when [`Acd::poll_timeout`] is due, and carries out
//! what [`Acd::poll_output`] asks for (ring a phone, play an announcement,
//! dial a callback). The ACD never rings anything itself.
//!
//! What the runtime owns:
//! - Feature codes: digits an agent dials map to inputs with
//!   [`AcdConfig::feature_input`].
//! - A caller who says "agent" (or presses 0) while already queued is simply
//!   not queued again; should a second [`Input::CallerQueued`] for the same
//!   call arrive anyway, the caller keeps their place (it can only raise their
//!   priority), so nothing harmful happens either way.
//! - Key 1 while waiting is [`Input::CallbackRequested`]; the ACD accepts it
//!   only when the wait is long and answers [`Output::CallbackAccepted`].
//! - Repeat callers: the runtime sets `repeat` from the call store; the ACD
//!   also remembers the numbers it queued within the window.

pub mod acd;
pub mod agent;
pub mod config;
pub mod estimate;
pub mod feature_keys;
pub mod messages;
pub mod priority;
pub mod simulate;
pub mod strategy;

pub use acd::Acd;
pub use agent::{AgentState, AwayReason};
pub use config::{AcdConfig, AgentConfig, QueueConfig, StaffingWarning};
pub use feature_keys::KeyedCodes;
pub use messages::{AcdEvent, AgentView, Input, Output, QueueStats, WaitingCaller};
pub use priority::Priority;
pub use strategy::Strategy;

/// An input the ACD cannot apply; its state is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    #[error("no queue named {0:?}")]
    UnknownQueue(String),
    #[error("no agent named {0:?}")]
    UnknownAgent(String),
    #[error("call {0:?} is not queued or bridged")]
    UnknownCall(String),
    #[error("agent {agent:?} is not ringing for call {call:?}")]
    NotRinging { agent: String, call: String },
    #[error("agent {0:?} is logged out")]
    NotLoggedIn(String),
    #[error("call {0:?} is not a callback on its way")]
    NotACallback(String),
}
