//! The supervisors' live board: every live call, queue and agent, as the
//! page shows them, kept from the events the runtime reports.
//!
//! Sans-IO like the rest of the core: the runtime stamps each
//! [`LiveEvent`] with the wall clock (Unix ms, since the page shows times of
//! day and service level is counted per day) and passes it to
//! [`Board::handle_event`]; [`Board::poll_update`] gives what changed, one
//! message per call, queue or agent, ready to push to open pages.

pub mod events;
pub mod state;
pub mod views;

pub use events::{AgentBoardView, CallPhase, LiveEvent, Speaker, WaitingView};
pub use state::{Board, BoardConfig};
pub use views::{
    AgitationPoint, BoardTotals, BoardUpdate, CallView, QueueView, Snapshot, TranscriptLine,
};
