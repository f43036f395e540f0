//! The queue of prompts the caller is about to hear, cut into 20 ms frames.
//!
//! A prompt plays once its audio has arrived; until then the caller hears
//! nothing (the runtime sends no packets). A prompt whose audio never comes
//! is skipped after [`WAIT_LIMIT_MS`] so a failed render cannot stall the call.

use std::collections::VecDeque;
use std::sync::Arc;

use super::FRAME_SAMPLES;
use super::prompts::Line;

/// How long the head prompt may wait for its audio before it is skipped.
pub(crate) const WAIT_LIMIT_MS: u64 = 5000;

/// What one tick of the playout did, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PlayoutEvent {
    Started {
        key: String,
        text: String,
    },
    Finished {
        key: String,
    },
    /// Skipped: no audio within the wait limit, or empty audio.
    Missing {
        key: String,
    },
    /// The last queued prompt ended (played or skipped).
    Drained,
}

#[derive(Debug)]
struct Segment {
    line: Line,
    audio: Option<Arc<[i16]>>,
    /// Next sample to play.
    pos: usize,
    /// When it first waited at the head of the queue for its audio.
    waiting_since: Option<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Playout {
    queue: VecDeque<Segment>,
}

impl Playout {
    /// Queues a line, with its audio if already known.
    pub fn push(&mut self, line: Line, audio: Option<Arc<[i16]>>) {
        self.queue.push_back(Segment {
            line,
            audio,
            pos: 0,
            waiting_since: None,
        });
    }

    /// Audio for `key` arrived: every queued segment waiting for it gets it.
    pub fn provide(&mut self, key: &str, audio: &Arc<[i16]>) {
        for s in self.queue.iter_mut().filter(|s| s.line.key == key) {
            if s.audio.is_none() {
                s.audio = Some(audio.clone());
            }
        }
    }

    /// Puts `lines` in place of every queued segment under `key` that has
    /// not started (a recorded announcement that has to be said from text).
    pub fn replace(&mut self, key: &str, lines: &[(Line, Option<Arc<[i16]>>)]) {
        let mut out = VecDeque::with_capacity(self.queue.len() + lines.len());
        for s in self.queue.drain(..) {
            if s.line.key == key && s.pos == 0 {
                out.extend(lines.iter().map(|(line, audio)| Segment {
                    line: line.clone(),
                    audio: audio.clone(),
                    pos: 0,
                    waiting_since: None,
                }));
            } else {
                out.push_back(s);
            }
        }
        self.queue = out;
    }

    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether what plays (or waits to play) now may be cut off by the caller.
    pub fn is_interruptible(&self) -> bool {
        self.queue.front().is_some_and(|s| s.line.interruptible)
    }

    /// The key of the prompt at the head of the queue.
    pub fn head_key(&self) -> Option<&str> {
        self.queue.front().map(|s| s.line.key.as_str())
    }

    /// Stops everything; returns the key of the prompt that was audible
    /// (started and not finished), if any.
    pub fn stop(&mut self) -> Option<String> {
        let audible = self
            .queue
            .front()
            .filter(|s| s.pos > 0)
            .map(|s| s.line.key.clone());
        self.queue.clear();
        audible
    }

    /// The next frame the caller hears, if any, and what happened on the way.
    pub fn tick(
        &mut self,
        now_ms: u64,
        events: &mut Vec<PlayoutEvent>,
    ) -> Option<[i16; FRAME_SAMPLES]> {
        loop {
            let head = self.queue.front_mut()?;
            let audio = match &head.audio {
                Some(audio) if !audio.is_empty() => audio.clone(),
                Some(_) => {
                    self.skip(events);
                    continue;
                }
                None => {
                    let since = *head.waiting_since.get_or_insert(now_ms);
                    if now_ms.saturating_sub(since) >= WAIT_LIMIT_MS {
                        self.skip(events);
                        continue;
                    }
                    return None;
                }
            };
            if head.pos == 0 {
                events.push(PlayoutEvent::Started {
                    key: head.line.key.clone(),
                    text: head.line.text.clone(),
                });
            }
            let mut frame = [0i16; FRAME_SAMPLES];
            let end = (head.pos + FRAME_SAMPLES).min(audio.len());
            frame[..end - head.pos].copy_from_slice(&audio[head.pos..end]);
            head.pos = end;
            if end == audio.len() {
                let key = head.line.key.clone();
                self.queue.pop_front();
                events.push(PlayoutEvent::Finished { key });
                if self.queue.is_empty() {
                    events.push(PlayoutEvent::Drained);
                }
            }
            return Some(frame);
        }
    }

    fn skip(&mut self, events: &mut Vec<PlayoutEvent>) {
        if let Some(s) = self.queue.pop_front() {
            events.push(PlayoutEvent::Missing { key: s.line.key });
            if self.queue.is_empty() {
                events.push(PlayoutEvent::Drained);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: &str, interruptible: bool) -> Line {
        Line {
            key: key.to_string(),
            text: format!("text of {key}"),
            wav: None,
            interruptible,
        }
    }

    fn audio(len: usize, value: i16) -> Arc<[i16]> {
        vec![value; len].into()
    }

    #[test]
    fn plays_whole_frames_then_pads_the_last_and_moves_on() {
        let mut p = Playout::default();
        p.push(line("a", true), Some(audio(400, 7)));
        p.push(line("b", true), Some(audio(160, 9)));
        let mut events = Vec::new();
        let frames: Vec<_> = (0..4).map(|i| p.tick(i * 20, &mut events)).collect();
        assert_eq!(frames[0], Some([7; FRAME_SAMPLES]));
        let last_of_a = frames[2].unwrap();
        assert_eq!(&last_of_a[..80], &[7; 80]);
        assert_eq!(&last_of_a[80..], &[0; 80]);
        assert_eq!(frames[3], Some([9; FRAME_SAMPLES]));
        assert_eq!(
            events,
            [
                PlayoutEvent::Started {
                    key: "a".into(),
                    text: "text of a".into()
                },
                PlayoutEvent::Finished { key: "a".into() },
                PlayoutEvent::Started {
                    key: "b".into(),
                    text: "text of b".into()
                },
                PlayoutEvent::Finished { key: "b".into() },
                PlayoutEvent::Drained,
            ]
        );
        assert!(p.is_idle());
        assert_eq!(p.tick(100, &mut events), None);
    }

    #[test]
    fn waits_silently_for_audio_then_plays_it() {
        let mut p = Playout::default();
        p.push(line("a", true), None);
        let mut events = Vec::new();
        assert_eq!(p.tick(0, &mut events), None);
        assert_eq!(p.tick(20, &mut events), None);
        p.provide("a", &audio(160, 3));
        assert_eq!(p.tick(40, &mut events), Some([3; FRAME_SAMPLES]));
        assert!(p.is_idle());
    }

    #[test]
    fn audio_that_never_comes_or_comes_empty_is_skipped() {
        let mut p = Playout::default();
        p.push(line("late", true), None);
        p.push(line("empty", true), Some(audio(0, 0)));
        p.push(line("ok", true), Some(audio(160, 1)));
        let mut events = Vec::new();
        assert_eq!(p.tick(1000, &mut events), None);
        assert_eq!(
            p.tick(1000 + WAIT_LIMIT_MS, &mut events),
            Some([1; FRAME_SAMPLES])
        );
        assert_eq!(events[0], PlayoutEvent::Missing { key: "late".into() });
        assert_eq!(
            events[1],
            PlayoutEvent::Missing {
                key: "empty".into()
            }
        );
    }

    #[test]
    fn a_waiting_segment_is_replaced_in_place() {
        let mut p = Playout::default();
        p.push(line("a", false), Some(audio(160, 1)));
        p.push(line("joined", false), None);
        p.push(line("c", false), Some(audio(160, 3)));
        p.replace(
            "joined",
            &[
                (line("x", false), Some(audio(160, 5))),
                (line("y", false), None),
            ],
        );
        p.provide("y", &audio(160, 6));
        let mut events = Vec::new();
        let frames: Vec<_> = (0..4).filter_map(|i| p.tick(i * 20, &mut events)).collect();
        let firsts: Vec<i16> = frames.iter().map(|f| f[0]).collect();
        assert_eq!(firsts, [1, 5, 6, 3]);
    }

    #[test]
    fn stop_reports_only_an_audible_prompt() {
        let mut p = Playout::default();
        p.push(line("a", false), Some(audio(480, 1)));
        assert!(!p.is_interruptible());
        assert_eq!(p.stop(), None, "not started yet");
        p.push(line("a", true), Some(audio(480, 1)));
        p.tick(0, &mut Vec::new());
        assert!(p.is_interruptible());
        assert_eq!(p.stop().as_deref(), Some("a"));
        assert!(p.is_idle());
    }
}
