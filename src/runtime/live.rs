//! The live board in the runtime: stamps events with the wall clock, applies
//! them to the sans-IO [`Board`] and pushes what changed to open pages.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::board::{
    AgentBoardView, Board, BoardConfig, BoardUpdate, CallView, LiveEvent, Snapshot, WaitingView,
};
use crate::queue::{AgentView, AwayReason, WaitingCaller};
use crate::runtime::clock::unix_ms;

/// Updates a page may fall behind by before it is sent a fresh snapshot.
const UPDATE_BACKLOG: usize = 4096;

pub struct LiveBoard {
    board: Mutex<Board>,
    updates: broadcast::Sender<Arc<BoardUpdate>>,
}

impl LiveBoard {
    pub fn new(config: BoardConfig) -> LiveBoard {
        LiveBoard {
            board: Mutex::new(Board::new(config)),
            updates: broadcast::channel(UPDATE_BACKLOG).0,
        }
    }

    /// Applies an event now; open pages get the change at once.
    pub fn publish(&self, event: LiveEvent) {
        let mut board = self.lock();
        board.handle_event(unix_ms(), event);
        self.flush(&mut board);
    }

    pub fn snapshot(&self) -> Snapshot {
        self.lock().snapshot(unix_ms())
    }

    pub fn call(&self, id: &str) -> Option<CallView> {
        self.lock().call(id).cloned()
    }

    /// The board as it stands and every change after it, with nothing lost
    /// between the two.
    pub fn subscribe(&self) -> (Snapshot, broadcast::Receiver<Arc<BoardUpdate>>) {
        let board = self.lock();
        let rx = self.updates.subscribe();
        (board.snapshot(unix_ms()), rx)
    }

    /// Flags waits that cross their target with no event; runs until the
    /// board is dropped.
    pub fn spawn_alert_timer(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let wait = match weak.upgrade() {
                    Some(live) => {
                        let mut board = live.lock();
                        let now = unix_ms();
                        if board.poll_timeout().is_some_and(|due| due <= now) {
                            board.handle_timeout(now);
                            live.flush(&mut board);
                        }
                        // A second is as fine as the page shows waits.
                        board
                            .poll_timeout()
                            .map_or(1000, |due| (due - now).clamp(50, 1000))
                    }
                    None => return,
                };
                tokio::time::sleep(Duration::from_millis(wait as u64)).await;
            }
        });
    }

    fn flush(&self, board: &mut Board) {
        while let Some(update) = board.poll_update() {
            // No page open is not an error.
            let _ = self.updates.send(Arc::new(update));
        }
    }

    fn lock(&self) -> MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An agent as the board shows them; ACD times become wall-clock times.
pub fn agent_view(now_ms: u64, a: &AgentView) -> AgentBoardView {
    AgentBoardView {
        id: a.id.clone(),
        name: a.name.clone(),
        state: a.state.name().to_string(),
        since_unix_ms: unix_ms() - now_ms.saturating_sub(a.since_ms) as i64,
        away: a.away.map(|r| match r {
            AwayReason::Paused => "paused".to_string(),
            AwayReason::Missed(n) => format!("missed {n} calls"),
        }),
        registered: a.registered,
        call: a.call.clone(),
        calls_answered: a.calls_answered,
    }
}

pub fn waiting_view(w: &WaitingCaller) -> WaitingView {
    WaitingView {
        call: w.call.clone(),
        caller: w.caller.clone(),
        position: w.position,
        waiting_since_unix_ms: unix_ms() - w.waited_ms as i64,
        why: w.why.clone(),
        expected_wait_ms: w.expected_wait_ms,
        ringing: w.ringing.clone(),
        callback: w.callback,
        agitation: w.agitation,
        summary: w.summary.clone(),
    }
}
