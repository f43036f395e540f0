//! An agent's phone dialling a feature code (`*3` to pause, ...). The
//! switchboard has already changed the agent's state; this task answers the
//! call with that state, spoken, then hangs up.
//!
//! Why answer rather than reply with a final status: a final response
//! (say 200 then BYE on no media, or a 4xx) shows on most phones as a failed
//! or silent call, and the agent learns nothing. A short spoken line ("You
//! are paused.") works on every phone, as PBX feature codes do.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval};

use crate::brain::asr::Language;
use crate::queue::AgentState;
use crate::runtime::call_task::{CallMsg, SipCommand};
use crate::runtime::engine::SharedEngine;
use crate::runtime::rtp_leg::RtpLeg;
use crate::runtime::rtp_socket::RtpSocket;
use crate::sip::{CallHandle, MediaOffer};

const FRAME: usize = 160;
/// Silence before the line, so the phone's audio path is open.
const LEAD_IN_MS: u64 = 300;
/// How long the phone gets to answer our BYE before the task ends anyway.
const BYE_GRACE: Duration = Duration::from_secs(4);

/// What the agent hears: their state after the code, in the engine's
/// language. The cache key names the state, so each line renders once.
pub fn confirmation(language: Language, state: Option<AgentState>) -> (String, String) {
    let (name, en, zh) = match state {
        Some(AgentState::Available) => (
            "available",
            "You are logged in and available.",
            "您已登录，可以接听。",
        ),
        Some(AgentState::Away) => ("away", "You are paused.", "您已暂停接听。"),
        Some(AgentState::LoggedOut) => ("logged_out", "You are logged out.", "您已退出登录。"),
        Some(_) => (
            "busy",
            "Noted. It applies after your current call.",
            "已记录，当前通话结束后生效。",
        ),
        None => ("unknown", "That code did not work.", "该功能码无效。"),
    };
    let text = match language {
        Language::En => en,
        Language::Zh => zh,
    };
    (
        format!("{}:agent_state:{name}", language.code()),
        text.to_string(),
    )
}

/// Plays `text` (rendered under `key`) to the phone, then hangs up.
pub async fn run(
    engine: SharedEngine,
    handle: CallHandle,
    socket: RtpSocket,
    offer: MediaOffer,
    (key, text): (String, String),
    sip: mpsc::Sender<SipCommand>,
    mut inbox: mpsc::Receiver<CallMsg>,
) {
    let mut leg = RtpLeg::new(socket, &offer, 60, handle.0 ^ 0x5eed);
    let render = {
        let engine = engine.clone();
        let language = engine.language;
        tokio::task::spawn_blocking(move || engine.prompts.render(&key, &text, language, None))
    };
    let pcm = match render.await {
        Ok(Ok(pcm)) => pcm,
        _ => {
            tracing::warn!("feature code confirmation not rendered");
            std::sync::Arc::from(Vec::new())
        }
    };
    let lead_in = (LEAD_IN_MS as usize / 20) * FRAME;
    let mut audio = vec![0i16; lead_in];
    audio.extend_from_slice(&pcm);
    let mut ticker = interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut at = 0;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if at >= audio.len() {
                    break;
                }
                let mut frame = [0i16; FRAME];
                let end = (at + FRAME).min(audio.len());
                frame[..end - at].copy_from_slice(&audio[at..end]);
                leg.send(&frame);
                at = end;
            }
            msg = inbox.recv() => match msg {
                Some(CallMsg::Ended(_)) | None => return,
                Some(CallMsg::Shutdown) => break,
                Some(_) => {}
            },
        }
    }
    let _ = sip.send(SipCommand::Hangup(handle)).await;
    let _ = tokio::time::timeout(BYE_GRACE, async {
        while let Some(msg) = inbox.recv().await {
            if matches!(msg, CallMsg::Ended(_)) {
                return;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_has_its_own_line_and_key() {
        let states = [
            Some(AgentState::Available),
            Some(AgentState::Away),
            Some(AgentState::LoggedOut),
            Some(AgentState::OnCall),
            None,
        ];
        let keys: std::collections::HashSet<String> = states
            .iter()
            .map(|s| confirmation(Language::En, *s).0)
            .collect();
        assert_eq!(keys.len(), states.len());
        assert_eq!(
            confirmation(Language::En, Some(AgentState::Away)).1,
            "You are paused."
        );
        assert!(
            confirmation(Language::Zh, Some(AgentState::Away))
                .0
                .starts_with("zh:")
        );
    }
}
