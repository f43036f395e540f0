//! What goes into the ACD and what comes out of it.

use super::agent::{AgentState, AwayReason};
use super::priority::Priority;

/// Something that happened, reported by the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A caller goes to a queue. Queued again (same `call`), the caller keeps
    /// their place; `agitated`/`repeat` can only raise their priority, and a
    /// different `queue` moves them there as [`Input::MoveCaller`] does.
    CallerQueued {
        call: String,
        queue: String,
        /// The caller's number, dialled back for a callback; may be empty.
        caller: String,
        /// Agitation above the dialplan's threshold.
        agitated: bool,
        agitation: f32,
        /// The same number called within the repeat window (from the store).
        repeat: bool,
        /// One line for the agent and the board.
        summary: String,
    },
    /// The caller hung up (waiting, ringing or bridged). For a booked
    /// callback it changes nothing: the callback stays.
    CallerLeft {
        call: String,
    },
    AgentLogin {
        agent: String,
    },
    AgentLogout {
        agent: String,
    },
    AgentPause {
        agent: String,
    },
    AgentResume {
        agent: String,
    },
    /// The agent's phone registered; only registered agents are rung.
    AgentRegistered {
        agent: String,
    },
    /// The registration ended or expired; a ring in progress is cancelled.
    AgentUnregistered {
        agent: String,
    },
    /// The agent picked up the call they were rung for.
    AgentAnswered {
        agent: String,
        call: String,
    },
    /// The agent's phone declined (busy, decline): counts as a miss.
    AgentRejected {
        agent: String,
        call: String,
    },
    /// The agent's phone gave up ringing before the ACD did: counts as a miss.
    AgentNoAnswer {
        agent: String,
        call: String,
    },
    /// The bridged call is over: the agent goes to wrap-up.
    CallEnded {
        call: String,
    },
    /// The caller pressed 1 for a callback.
    CallbackRequested {
        call: String,
    },
    /// The callback's number did not answer: the agent is free again and the
    /// callback waits [`super::acd::CALLBACK_RETRY_MS`] before another try.
    CallbackFailed {
        call: String,
    },
    /// Move a waiting caller to another queue, keeping their arrival time.
    MoveCaller {
        call: String,
        queue: String,
    },
    /// Put a waiting caller at the front of their queue.
    ToFront {
        call: String,
    },
}

/// Something the runtime must do or may show.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// INVITE the agent's phone for the waiting caller `call`.
    RingAgent {
        agent: String,
        call: String,
        queue: String,
    },
    /// Stop ringing (CANCEL): timed out, caller gone, or agent paused.
    CancelRing {
        agent: String,
        call: String,
    },
    /// Tell the caller their position (1 = next) and expected wait.
    Announce {
        call: String,
        position: usize,
        expected_wait_ms: u64,
    },
    /// The caller now waits in `to`; their place follows their arrival.
    Overflow {
        call: String,
        from: String,
        to: String,
    },
    /// Tell the caller they can press 1 to be called back.
    OfferCallback {
        call: String,
    },
    /// The callback is booked: confirm to the caller, who may hang up.
    CallbackAccepted {
        call: String,
    },
    /// An agent is free for a booked callback: ring `agent`, and once they
    /// answer ([`Input::AgentAnswered`]) dial `caller` and bridge the two.
    /// The ring timeout applies as to [`Output::RingAgent`].
    CallbackDue {
        call: String,
        caller: String,
        queue: String,
        agent: String,
    },
    Event(AcdEvent),
}

/// Changes for the board and the logs.
#[derive(Debug, Clone, PartialEq)]
pub enum AcdEvent {
    Agent(AgentView),
    /// The order of a queue changed.
    Queue {
        queue: String,
        order: Vec<WaitingCaller>,
    },
    Answered {
        call: String,
        queue: String,
        agent: String,
        waited_ms: u64,
    },
    /// The caller hung up before an agent answered.
    Abandoned {
        call: String,
        queue: String,
        waited_ms: u64,
    },
    /// A callback was dialled too often without an answer and is dropped.
    CallbackDropped {
        call: String,
        queue: String,
    },
}

/// One caller in a queue, as the board shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingCaller {
    pub call: String,
    pub queue: String,
    /// 1-based place in the queue's order (callers being rung included).
    pub position: usize,
    pub waited_ms: u64,
    pub priority: Priority,
    /// Why the caller stands here, in words.
    pub why: String,
    /// 0 while an agent is being rung for them.
    pub expected_wait_ms: u64,
    /// The agent being rung for them.
    pub ringing: Option<String>,
    /// A booked callback: the caller is not on the line.
    pub callback: bool,
    pub caller: String,
    pub agitation: f32,
    pub summary: String,
}

/// One agent, as the board shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub state: AgentState,
    /// When the agent entered `state`.
    pub since_ms: u64,
    pub away: Option<AwayReason>,
    pub registered: bool,
    /// The call being rung, talked or wrapped up.
    pub call: Option<String>,
    pub calls_answered: u32,
    pub missed_in_a_row: u32,
}

/// Counters of one queue since the ACD started.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueStats {
    pub waiting: usize,
    pub callbacks_booked: usize,
    pub longest_wait_ms: u64,
    pub answered: u32,
    /// Answered within the queue's target.
    pub answered_in_target: u32,
    pub abandoned: u32,
    pub overflowed: u32,
    pub average_handle_ms: u64,
    /// Logged in, registered and not away.
    pub serving_agents: usize,
    pub free_agents: usize,
}
