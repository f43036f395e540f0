//! What a supervisor (or an agent, for themselves) can do to live calls and
//! agents from the HTTP API. The SIP task carries it out, since it owns the
//! queues and the calls; the answer comes back on a one-shot channel.

use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone)]
pub enum SupervisorAction {
    /// Move a waiting caller to another queue (keeping their arrival time).
    MoveCaller {
        call: String,
        queue: String,
    },
    /// Put a waiting caller first in their queue.
    ToFront {
        call: String,
    },
    /// Hang up a live call.
    EndCall {
        call: String,
    },
    AgentState {
        agent: String,
        change: AgentChange,
    },
    /// Copy the call's audio (both sides mixed) to a listener.
    ListenIn {
        call: String,
        frames: mpsc::Sender<crate::runtime::listen_in::Frame>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentChange {
    Login,
    Logout,
    Pause,
    Resume,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuperviseError {
    /// Not found, not waiting, unknown queue or agent: the caller's mistake.
    #[error("{0}")]
    Refused(String),
    #[error("the SIP server is not running")]
    NotRunning,
}

/// An action with the channel its answer goes back on.
#[derive(Debug)]
pub struct SuperviseRequest {
    pub action: SupervisorAction,
    pub reply: oneshot::Sender<Result<(), SuperviseError>>,
}

/// The HTTP side's handle to the SIP task.
#[derive(Debug, Clone)]
pub struct Supervisor {
    tx: mpsc::Sender<SuperviseRequest>,
}

impl Supervisor {
    pub fn new(tx: mpsc::Sender<SuperviseRequest>) -> Supervisor {
        Supervisor { tx }
    }

    pub async fn run(&self, action: SupervisorAction) -> Result<(), SuperviseError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(SuperviseRequest { action, reply })
            .await
            .map_err(|_| SuperviseError::NotRunning)?;
        answer.await.map_err(|_| SuperviseError::NotRunning)?
    }
}
