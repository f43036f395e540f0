//! The dialplan flow of one call: greet, listen, answer what the session
//! decides, reprompt on silence, hand off to a queue, say goodbye.
//!
//! Every caller frame is a tick. On a tick the audio goes to the session
//! first, so a barge-in or a decision takes effect before the frame the
//! caller hears next is chosen; then the no-input timer is checked; then the
//! playout (or the hold chime) gives at most one frame.
//!
//! A queued caller is one on hold or about to be (the transfer notice
//! plays): what the queue reports is said between hold chimes, after
//! whatever already plays, and key 1 asks for a callback.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::brain::intent::Router;
use crate::call_record::{CallRecord, DecisionRecord, EventRecord};
use crate::dialplan::{Action, Dialplan};
use crate::session::{self, Decision, DecisionReason, RouteKind, Session, SessionConfig};

use super::announce::{self, Assembled, Assembler};
use super::closing::is_closing;
use super::hold::Hold;
use super::playout::{Playout, PlayoutEvent};
use super::prompts::{self, Fixed, Line};
use super::record;
use super::stream_clock::StreamClock;
use super::{CallConfig, CallEvent, FRAME_SAMPLES, Input, Output, StopReason};

/// Share of the router's acting threshold the best guess needs before the
/// clarify question names the two likeliest intents; below it the guess is
/// noise (an out-of-scope request) and the caller hears `not_understood`.
const CLARIFY_SHARE: f32 = 0.5;

/// What one tick brought from the caller.
enum Heard<'a> {
    Audio(&'a [i16]),
    Nothing,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Created, `start` not called yet.
    Waiting,
    Talking,
    /// Handed to this queue; the caller hears the hold chime.
    Held {
        queue: String,
    },
    /// The callback was taken: the confirmation plays, then the engine
    /// hangs up; nothing the caller says changes that.
    Leaving,
    /// Talking to a person (an agent, or a transfer target): nothing
    /// plays and decisions are not acted on; what the caller says is still
    /// transcribed and recorded if the runtime keeps feeding the audio.
    Bridged {
        queue: String,
    },
    Ended,
}

/// What happens once the queued prompts have played.
#[derive(Debug, Clone)]
enum After {
    Listen,
    Handoff(Box<Decision>),
    Hangup(String),
}

/// A decision waiting for the first frame of its reply (voice-to-voice).
#[derive(Debug, Clone, Copy)]
struct Reply {
    speech_end_ms: Option<u64>,
    decided_ms: u64,
}

pub struct Call {
    dialplan: Arc<Dialplan>,
    config: CallConfig,
    session: Session,
    phase: Phase,
    outputs: VecDeque<Output>,
    playout: Playout,
    after: After,
    hold: Hold,
    clock: StreamClock,
    started_ms: u64,
    /// Prompt audio received, by key.
    audio: HashMap<String, Arc<[i16]>>,
    /// Keys asked for and not answered yet.
    requested: HashSet<String>,
    no_input_at: Option<u64>,
    no_input_count: u32,
    /// Between the session's `SpeechStarted` and the utterance it closes.
    speaking: bool,
    /// A self-service answer was given.
    served: bool,
    /// "Anything else?" was asked and not answered yet.
    offered_more: bool,
    reply: Option<Reply>,
    decisions: Vec<DecisionRecord>,
    last_decision: Option<Decision>,
    events: Vec<EventRecord>,
    queue: Option<String>,
    end_reason: Option<String>,
    /// Recorded announcements waiting for their pieces.
    assembler: Assembler,
    /// Queue lines that came while the transfer notice plays: they follow
    /// it once the caller is on hold.
    /// With the audio of a joined announcement, once made.
    deferred: Vec<(Line, Option<Arc<[i16]>>)>,
    /// Cleared when a recording failed to load: announcements are then
    /// said from text for the rest of the call.
    recordings_work: bool,
    /// "One moment" was said for the transcript awaited now.
    said_one_moment: bool,
}

impl Call {
    pub fn new(dialplan: Arc<Dialplan>, router: Arc<Router>, config: CallConfig) -> Call {
        let session = Session::new(
            dialplan.clone(),
            router,
            SessionConfig {
                early_recognition: config.early_recognition,
                early_decision: config.early_decision.clone(),
                ..SessionConfig::new(config.language)
            },
        );
        Call {
            dialplan,
            config,
            session,
            phase: Phase::Waiting,
            outputs: VecDeque::new(),
            playout: Playout::default(),
            after: After::Listen,
            hold: Hold::default(),
            clock: StreamClock::default(),
            started_ms: 0,
            audio: HashMap::new(),
            requested: HashSet::new(),
            no_input_at: None,
            no_input_count: 0,
            speaking: false,
            served: false,
            offered_more: false,
            reply: None,
            decisions: Vec::new(),
            last_decision: None,
            events: Vec::new(),
            queue: None,
            end_reason: None,
            assembler: Assembler::default(),
            deferred: Vec::new(),
            recordings_work: true,
            said_one_moment: false,
        }
    }

    /// Answers the call: the greeting is asked for and plays as soon as
    /// its audio is there.
    pub fn start(&mut self, now_ms: u64) {
        if self.phase != Phase::Waiting {
            return;
        }
        self.started_ms = now_ms;
        self.phase = Phase::Talking;
        let greeting = self.fixed(Fixed::Greeting);
        self.say(now_ms, greeting.into_iter().collect(), After::Listen, None);
    }

    pub fn handle_input(&mut self, now_ms: u64, input: Input<'_>) {
        match input {
            Input::CallerFrame(pcm) => self.on_frame(now_ms, Heard::Audio(pcm)),
            Input::NoCallerAudio => self.on_frame(now_ms, Heard::Nothing),
            Input::Dtmf(digit) => self.on_dtmf(now_ms, digit),
            Input::Transcript(t) => {
                self.said_one_moment = false;
                let closing =
                    self.offered_more && self.phase == Phase::Talking && is_closing(&t.text);
                let (text, id) = (t.text.clone(), t.utterance);
                let before = self.session.turns().len();
                self.session
                    .handle_input(now_ms, session::Input::Transcript(t));
                self.pump_session(now_ms, closing);
                let understood = self.session.turns().len() > before;
                if closing && understood {
                    self.emit(
                        now_ms,
                        CallEvent::CallerDone {
                            text,
                            at_ms: now_ms,
                        },
                    );
                    let goodbye = self.fixed(Fixed::Goodbye);
                    let reply = self.reply_to_utterance(now_ms, Some(id));
                    self.say(
                        now_ms,
                        goodbye.into_iter().collect(),
                        After::Hangup("goodbye".into()),
                        reply,
                    );
                } else if !understood {
                    // Nothing recognisable: the caller is waited for again.
                    self.arm_no_input(now_ms);
                }
            }
            Input::PromptAudio { key, pcm_8k } => {
                self.requested.remove(&key);
                self.playout.provide(&key, &pcm_8k);
                self.audio.insert(key, pcm_8k);
                self.assemble();
            }
            Input::QueuePosition {
                position,
                expected_wait_ms,
            } => self.on_queue_position(now_ms, position, expected_wait_ms),
            Input::OfferCallback => {
                if self.is_queued() {
                    self.emit(now_ms, CallEvent::CallbackOffered { at_ms: now_ms });
                    let offer = announce::offer_callback(self.config.language);
                    self.hold_line(offer);
                }
            }
            Input::CallbackAccepted => self.on_callback_accepted(now_ms),
            Input::Bridged => self.on_bridged(now_ms),
            Input::Unbridged => {
                if let Phase::Bridged { queue } = &self.phase {
                    self.phase = Phase::Held {
                        queue: queue.clone(),
                    };
                    self.hold = Hold::default();
                }
            }
            Input::RecognitionBusy => self.on_recognition_busy(now_ms),
            Input::Hangup => self.on_hangup(now_ms),
            Input::Shutdown => {
                if !matches!(self.phase, Phase::Ended | Phase::Leaving) {
                    self.phase = Phase::Talking;
                    let goodbye = self.fixed(Fixed::Goodbye);
                    self.say(
                        now_ms,
                        goodbye.into_iter().collect(),
                        After::Hangup("shutdown".into()),
                        None,
                    );
                }
            }
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Utterances still waiting for their transcript: the runtime may wait
    /// for them before saving the record of an ended call.
    pub fn awaiting_transcripts(&self) -> usize {
        self.session.awaiting_transcripts()
    }

    /// The decision that stands (the last one made).
    pub fn last_decision(&self) -> Option<&Decision> {
        self.last_decision.as_ref()
    }

    pub fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// What is kept of the call so far. The runtime adds the wall-clock
    /// times, the called number, the recordings and the RTP counters.
    pub fn record(&self) -> CallRecord {
        let turns = self
            .session
            .turns()
            .iter()
            .map(|t| {
                let start_ms = self.call_ms(self.clock.to_now(t.start_ms));
                let end_ms = self.call_ms(self.clock.to_now(t.end_ms));
                record::turn(t, start_ms, end_ms)
            })
            .collect();
        record::call(record::Parts {
            config: &self.config,
            turns,
            decisions: self.decisions.clone(),
            events: self.events.clone(),
            last: self.last_decision.as_ref(),
            queue: self.queue.clone(),
            end_reason: self.end_reason.clone(),
        })
    }

    fn on_frame(&mut self, now_ms: u64, heard: Heard) {
        if self.phase == Phase::Ended {
            return;
        }
        let input = match heard {
            Heard::Audio(pcm) => {
                self.clock.push(pcm.len(), now_ms);
                session::Input::Audio8k(pcm)
            }
            Heard::Nothing => {
                self.clock.push(FRAME_SAMPLES, now_ms);
                session::Input::NoAudio8k(FRAME_SAMPLES)
            }
        };
        self.session.handle_input(now_ms, input);
        self.pump_session(now_ms, false);
        self.check_no_input(now_ms);
        self.play_frame(now_ms);
    }

    fn on_dtmf(&mut self, now_ms: u64, digit: char) {
        if self.phase == Phase::Ended {
            return;
        }
        self.emit(
            now_ms,
            CallEvent::Dtmf {
                digit,
                at_ms: now_ms,
            },
        );
        self.no_input_count = 0;
        if matches!(self.phase, Phase::Bridged { .. }) {
            return; // keyed for the person on the line, not for us
        }
        if digit == '1' && self.is_queued() {
            // The queue decides whether a callback makes sense now.
            self.emit(now_ms, CallEvent::CallbackRequested { at_ms: now_ms });
            self.outputs.push_back(Output::CallbackRequested);
            return;
        }
        if self.config.barge_in && self.phase == Phase::Talking {
            self.barge_in(now_ms, now_ms);
        }
        self.session
            .handle_input(now_ms, session::Input::Dtmf(digit));
        self.pump_session(now_ms, false);
        if self.playout.is_idle() && matches!(self.after, After::Listen) {
            self.arm_no_input(now_ms);
        }
    }

    /// The caller finished speaking and waits for an answer that is late:
    /// "one moment" fills the silence, once per wait. Nothing is said over
    /// a prompt, to a caller still talking, or once a person has the call.
    fn on_recognition_busy(&mut self, now_ms: u64) {
        let waiting = self.phase == Phase::Talking
            && self.playout.is_idle()
            && matches!(self.after, After::Listen)
            && !self.speaking
            && self.session.awaiting_transcripts() > 0;
        if !waiting || self.said_one_moment {
            return;
        }
        self.said_one_moment = true;
        if let Some(line) = self.fixed(Fixed::OneMoment) {
            self.say(now_ms, vec![line], After::Listen, None);
        }
    }

    fn on_hangup(&mut self, now_ms: u64) {
        if self.phase == Phase::Ended {
            return;
        }
        if let Some(key) = self.playout.stop() {
            let why = StopReason::Hangup;
            self.emit(
                now_ms,
                CallEvent::PromptStopped {
                    key,
                    why,
                    at_ms: now_ms,
                },
            );
        }
        // Close a sentence cut off by the hang-up so it is still recorded.
        self.session
            .handle_input(now_ms, session::Input::EndOfAudio);
        self.end(now_ms, "caller_hung_up");
        self.pump_session(now_ms, false);
    }

    /// Carries out what the session produced. `closing`: the transcript
    /// just fed is the caller declining more help.
    fn pump_session(&mut self, now_ms: u64, closing: bool) {
        while let Some(out) = self.session.poll_output() {
            match out {
                session::Output::SpeechStarted { at_ms } => {
                    self.speaking = true;
                    self.no_input_at = None;
                    let speech_ms = self.clock.to_now(at_ms);
                    if self.config.barge_in && self.phase == Phase::Talking {
                        self.barge_in(now_ms, speech_ms);
                    }
                }
                session::Output::Transcribe(req) => {
                    // A guess made at a pause: the caller may still be talking.
                    if !req.speculative {
                        self.speaking = false;
                    }
                    self.outputs.push_back(Output::Transcribe(req));
                }
                session::Output::CancelTranscribe { utterance } => {
                    self.outputs
                        .push_back(Output::CancelTranscribe { utterance });
                }
                session::Output::ConfirmTranscribe { utterance } => {
                    // The guess is the finished utterance's: the caller
                    // stopped and waits (so "one moment" may fill the wait).
                    self.speaking = false;
                    self.outputs
                        .push_back(Output::ConfirmTranscribe { utterance });
                }
                session::Output::Utterance(u) => {
                    self.no_input_count = 0;
                    self.offered_more = false;
                    self.emit(now_ms, CallEvent::Utterance(u));
                }
                // The caller's "no, that's all" is no request: the decision
                // the session made of it does not stand.
                session::Output::Decision(_) if closing => {}
                // Bridged: the words are kept, but the person on the line
                // handles the call now.
                session::Output::Decision(_) if matches!(self.phase, Phase::Bridged { .. }) => {}
                session::Output::Decision(d) => {
                    self.record_decision(now_ms, &d);
                    self.emit(now_ms, CallEvent::Decision(d.clone()));
                    if matches!(self.phase, Phase::Talking | Phase::Held { .. }) {
                        self.react(now_ms, d);
                    }
                }
            }
        }
    }

    /// Stops an interruptible prompt because the caller spoke (or keyed)
    /// from `speech_ms`.
    fn barge_in(&mut self, now_ms: u64, speech_ms: u64) {
        if !self.playout.is_interruptible() {
            return;
        }
        let key = self.playout.head_key().unwrap_or_default().to_string();
        let audible = self.playout.stop();
        self.reply = None;
        self.after = After::Listen;
        self.emit(
            now_ms,
            CallEvent::BargeIn {
                key,
                speech_ms,
                at_ms: now_ms,
            },
        );
        if let Some(key) = audible {
            let why = StopReason::BargeIn;
            self.emit(
                now_ms,
                CallEvent::PromptStopped {
                    key,
                    why,
                    at_ms: now_ms,
                },
            );
        }
    }

    /// Answers a decision at once, cutting off whatever plays.
    fn react(&mut self, now_ms: u64, d: Decision) {
        let reply = self.reply_to_utterance(now_ms, d.utterance);
        match d.route.kind {
            RouteKind::Queue => {
                let queue = d
                    .route
                    .target
                    .clone()
                    .unwrap_or_else(|| self.dialplan.default_queue.clone());
                // A queued caller asking for a person already waits for one:
                // that keeps their place rather than moving them.
                let wants_person = matches!(
                    d.reason,
                    DecisionReason::AskedForPerson | DecisionReason::PressedZero
                );
                if let Phase::Held { queue: held } = &self.phase {
                    // Already queued: the summary was refreshed (or the caller
                    // re-routed to another queue, which needs no new notice).
                    if *held != queue && !wants_person {
                        self.phase = Phase::Held {
                            queue: queue.clone(),
                        };
                        self.queue = Some(queue.clone());
                        self.outputs.push_back(Output::Handoff(d));
                        self.emit(
                            now_ms,
                            CallEvent::Queued {
                                queue,
                                at_ms: now_ms,
                            },
                        );
                    }
                    return;
                }
                if let After::Handoff(pending) = &mut self.after {
                    // The transfer notice is already playing.
                    if pending.route.target == d.route.target {
                        **pending = d;
                        return;
                    }
                    if wants_person {
                        return;
                    }
                }
                let transfer = self.fixed(Fixed::Transfer);
                self.say(
                    now_ms,
                    transfer.into_iter().collect(),
                    After::Handoff(Box::new(d)),
                    reply,
                );
            }
            RouteKind::SelfService => {
                self.leave_queue(now_ms);
                let intent = d.intent.clone().unwrap_or_default();
                let mut lines: Vec<Line> = self.answer(&intent).into_iter().collect();
                let answers = matches!(
                    self.dialplan.intent(&intent).map(|i| &i.action),
                    Some(Action::Answer { .. })
                );
                if answers {
                    self.served = true;
                    self.offered_more = true;
                    lines.extend(self.fixed(Fixed::AnythingElse));
                }
                self.say(now_ms, lines, After::Listen, reply);
            }
            RouteKind::Clarify => {
                self.leave_queue(now_ms);
                let line = self.clarify_line(&d);
                self.say(now_ms, line.into_iter().collect(), After::Listen, reply);
            }
        }
    }

    /// The clarify question naming the two likeliest intents, or
    /// `not_understood` when the router had no real guess.
    fn clarify_line(&self, d: &Decision) -> Option<Line> {
        let floor = self.dialplan.router.threshold * CLARIFY_SHARE;
        let pair = d
            .route
            .target
            .as_deref()
            .and_then(|t| t.split_once('|'))
            .filter(|_| d.confidence >= floor);
        match pair {
            Some((first, second)) => Some(prompts::clarify(
                &self.dialplan,
                self.config.language,
                first,
                second,
            )),
            None => self.fixed(Fixed::NotUnderstood),
        }
    }

    /// A queued caller re-routed to self-service or a question: on hold,
    /// or still hearing the transfer notice (the runtime queues callers at
    /// the decision, so that caller is in a queue too).
    fn leave_queue(&mut self, now_ms: u64) {
        let queue = match (&self.phase, &self.after) {
            (Phase::Held { queue }, _) => queue.clone(),
            (Phase::Talking, After::Handoff(pending)) => pending
                .route
                .target
                .clone()
                .unwrap_or_else(|| self.dialplan.default_queue.clone()),
            _ => return,
        };
        self.phase = Phase::Talking;
        self.after = After::Listen;
        self.deferred.clear();
        self.emit(
            now_ms,
            CallEvent::LeftQueue {
                queue,
                at_ms: now_ms,
            },
        );
    }

    /// The runtime connected the caller to a person.
    fn on_bridged(&mut self, now_ms: u64) {
        if matches!(self.phase, Phase::Ended | Phase::Bridged { .. }) {
            return;
        }
        let queue = match &self.phase {
            Phase::Held { queue } => queue.clone(),
            _ => self.queue.clone().unwrap_or_default(),
        };
        if let Some(key) = self.playout.stop() {
            let why = StopReason::Decision;
            self.emit(
                now_ms,
                CallEvent::PromptStopped {
                    key,
                    why,
                    at_ms: now_ms,
                },
            );
        }
        self.phase = Phase::Bridged { queue };
        self.after = After::Listen;
        self.deferred.clear();
        self.no_input_at = None;
        self.reply = None;
    }

    /// Replaces whatever plays with `lines`, then does `after`.
    fn say(&mut self, now_ms: u64, lines: Vec<Line>, after: After, reply: Option<Reply>) {
        if let Some(key) = self.playout.stop() {
            let why = StopReason::Decision;
            self.emit(
                now_ms,
                CallEvent::PromptStopped {
                    key,
                    why,
                    at_ms: now_ms,
                },
            );
        }
        self.no_input_at = None;
        if !matches!(after, After::Handoff(_)) {
            self.deferred.clear(); // not going to hold after all
        }
        self.after = after;
        self.reply = reply;
        for line in lines {
            self.push_line(line);
        }
        if self.playout.is_idle() {
            self.finish_prompts(now_ms); // nothing to say: go straight on
        }
    }

    /// Queues a line after what plays, asking for its audio if needed.
    fn push_line(&mut self, line: Line) {
        let audio = self.audio.get(&line.key).cloned();
        if audio.is_none() {
            self.request(&line);
        }
        self.playout.push(line, audio);
    }

    /// Asks the runtime for a line's audio, once; an announcement joined
    /// from recordings is made here, not asked for.
    fn request(&mut self, line: &Line) {
        if self.assembler.is_pending(&line.key) || !self.requested.insert(line.key.clone()) {
            return;
        }
        self.outputs.push_back(Output::RenderPrompt {
            key: line.key.clone(),
            text: line.text.clone(),
            language: self.config.language,
            wav: line.wav.clone(),
        });
    }

    /// On hold, or about to be once the transfer notice ends.
    fn is_queued(&self) -> bool {
        matches!(self.phase, Phase::Held { .. })
            || (self.phase == Phase::Talking && matches!(self.after, After::Handoff(_)))
    }

    /// A line for the queued caller: after what plays, never cutting it.
    fn hold_line(&mut self, line: Line) {
        if matches!(self.after, After::Handoff(_)) {
            self.deferred.push((line, None));
        } else {
            self.push_line(line);
        }
    }

    fn on_queue_position(&mut self, now_ms: u64, position: usize, expected_wait_ms: u64) {
        if !self.is_queued() {
            return;
        }
        self.emit(
            now_ms,
            CallEvent::QueuePosition {
                position,
                expected_wait_ms,
                at_ms: now_ms,
            },
        );
        let sounds = self
            .config
            .sounds_dir
            .as_deref()
            .filter(|_| self.recordings_work);
        let a = announce::position(self.config.language, sounds, position, expected_wait_ms);
        match a.recorded {
            Some((line, pieces)) => {
                if !self.assembler.is_pending(&line.key) {
                    self.assembler.add(&line, &pieces, a.text);
                    for piece in &pieces {
                        if !self.audio.contains_key(&piece.key) {
                            self.request(piece);
                        }
                    }
                }
                self.hold_line(line);
                self.assemble();
            }
            None => a.text.into_iter().for_each(|l| self.hold_line(l)),
        }
    }

    /// Joins recorded announcements whose pieces all arrived; one with a
    /// piece that failed is said from text instead.
    fn assemble(&mut self) {
        for done in self.assembler.poll(&self.audio) {
            match done {
                Assembled::Ready { key, audio } => {
                    // Not cached with the prompts: it is seconds of audio,
                    // joined again from the cached pieces when said again.
                    self.playout.provide(&key, &audio);
                    for (line, joined) in &mut self.deferred {
                        if line.key == key {
                            *joined = Some(audio.clone());
                        }
                    }
                }
                Assembled::Failed { key, text } => {
                    self.recordings_work = false;
                    for line in &text {
                        if !self.audio.contains_key(&line.key) {
                            self.request(line);
                        }
                    }
                    let with_audio: Vec<_> = text
                        .iter()
                        .map(|l| (l.clone(), self.audio.get(&l.key).cloned()))
                        .collect();
                    self.playout.replace(&key, &with_audio);
                    if let Some(at) = self.deferred.iter().position(|(l, _)| l.key == key) {
                        self.deferred
                            .splice(at..=at, text.into_iter().map(|l| (l, None)));
                    }
                }
            }
        }
    }

    fn on_callback_accepted(&mut self, now_ms: u64) {
        if !self.is_queued() {
            return;
        }
        self.emit(now_ms, CallEvent::CallbackAccepted { at_ms: now_ms });
        self.phase = Phase::Leaving;
        let confirmation = announce::callback_confirmed(self.config.language);
        self.say(
            now_ms,
            vec![confirmation],
            After::Hangup("callback".into()),
            None,
        );
    }

    fn play_frame(&mut self, now_ms: u64) {
        let held = matches!(self.phase, Phase::Held { .. });
        let mut events = Vec::new();
        // A prompt on hold waits for a chime under way to end.
        let frame = if held && self.hold.is_chiming() {
            None
        } else {
            self.playout.tick(now_ms, &mut events)
        };
        let (before, after): (Vec<_>, Vec<_>) = events.into_iter().partition(|e| {
            matches!(
                e,
                PlayoutEvent::Started { .. } | PlayoutEvent::Missing { .. }
            )
        });
        for event in before {
            self.on_playout(now_ms, event);
        }
        if let Some(frame) = frame {
            self.outputs.push_back(Output::Play(frame));
        } else if held && let Some(frame) = self.hold.tick() {
            self.outputs.push_back(Output::Play(frame));
        }
        for event in after {
            self.on_playout(now_ms, event);
        }
    }

    fn on_playout(&mut self, now_ms: u64, event: PlayoutEvent) {
        match event {
            PlayoutEvent::Started { key, text } => {
                if let Some(reply) = self.reply.take() {
                    self.emit(
                        now_ms,
                        CallEvent::AnswerStarted {
                            key: key.clone(),
                            speech_end_ms: reply.speech_end_ms,
                            decided_ms: reply.decided_ms,
                            first_frame_ms: now_ms,
                        },
                    );
                }
                self.emit(
                    now_ms,
                    CallEvent::PromptStarted {
                        key,
                        text,
                        at_ms: now_ms,
                    },
                );
            }
            PlayoutEvent::Finished { key } => {
                self.emit(now_ms, CallEvent::PromptFinished { key, at_ms: now_ms })
            }
            PlayoutEvent::Missing { key } => {
                self.requested.remove(&key);
                self.emit(now_ms, CallEvent::PromptMissing { key, at_ms: now_ms })
            }
            PlayoutEvent::Drained => {
                if matches!(self.phase, Phase::Held { .. }) {
                    self.hold.resume();
                }
                self.finish_prompts(now_ms)
            }
        }
    }

    /// The queued prompts are over: listen, hand off or hang up.
    fn finish_prompts(&mut self, now_ms: u64) {
        self.reply = None;
        match std::mem::replace(&mut self.after, After::Listen) {
            After::Listen => self.arm_no_input(now_ms),
            After::Handoff(d) => {
                let queue = d
                    .route
                    .target
                    .clone()
                    .unwrap_or_else(|| self.dialplan.default_queue.clone());
                self.phase = Phase::Held {
                    queue: queue.clone(),
                };
                self.queue = Some(queue.clone());
                self.hold = Hold::default();
                self.outputs.push_back(Output::Handoff(*d));
                self.emit(
                    now_ms,
                    CallEvent::Queued {
                        queue,
                        at_ms: now_ms,
                    },
                );
                for (line, joined) in std::mem::take(&mut self.deferred) {
                    match joined {
                        Some(audio) => self.playout.push(line, Some(audio)),
                        None => self.push_line(line),
                    }
                }
            }
            After::Hangup(reason) => {
                self.end(now_ms, &reason);
                self.outputs.push_back(Output::Hangup { reason });
            }
        }
    }

    /// Starts waiting for the caller, unless they are already talking or
    /// being understood (the timer starts again if that comes to nothing).
    fn arm_no_input(&mut self, now_ms: u64) {
        let listening = self.phase == Phase::Talking
            && self.playout.is_idle()
            && matches!(self.after, After::Listen);
        if listening && !self.speaking && self.session.awaiting_transcripts() == 0 {
            self.no_input_at = Some(now_ms + self.config.no_input_ms);
        }
    }

    fn check_no_input(&mut self, now_ms: u64) {
        let Some(at) = self.no_input_at else {
            return;
        };
        if now_ms < at || self.speaking || self.session.awaiting_transcripts() > 0 {
            return;
        }
        self.no_input_at = None;
        self.no_input_count += 1;
        let count = self.no_input_count;
        self.emit(
            now_ms,
            CallEvent::NoInput {
                count,
                at_ms: now_ms,
            },
        );
        if count >= self.config.max_no_input.max(1) {
            // A caller who was helped and then stays silent is done; one
            // who never got anywhere gave up or cannot be heard.
            let reason = if self.served { "goodbye" } else { "no_input" };
            let goodbye = self.fixed(Fixed::Goodbye);
            self.say(
                now_ms,
                goodbye.into_iter().collect(),
                After::Hangup(reason.into()),
                None,
            );
        } else {
            let again = self.fixed(Fixed::NoInput);
            self.say(now_ms, again.into_iter().collect(), After::Listen, None);
        }
    }

    /// When the caller finished the utterance a decision answers, on the
    /// runtime clock (`None` for a key press).
    fn reply_to_utterance(&self, now_ms: u64, utterance: Option<u32>) -> Option<Reply> {
        let speech_end_ms = utterance.and_then(|id| {
            self.session
                .turns()
                .iter()
                .find(|t| t.id == id)
                .map(|t| self.clock.to_now(t.end_ms))
        });
        Some(Reply {
            speech_end_ms,
            decided_ms: now_ms,
        })
    }

    fn end(&mut self, now_ms: u64, reason: &str) {
        self.phase = Phase::Ended;
        self.no_input_at = None;
        self.end_reason = Some(reason.to_string());
        self.emit(
            now_ms,
            CallEvent::Ended {
                reason: reason.to_string(),
                at_ms: now_ms,
            },
        );
    }

    fn record_decision(&mut self, now_ms: u64, d: &Decision) {
        self.decisions
            .push(record::decision(d, self.call_ms(now_ms)));
        self.last_decision = Some(d.clone());
    }

    fn emit(&mut self, now_ms: u64, event: CallEvent) {
        self.events
            .push(record::event(&event, self.call_ms(now_ms)));
        self.outputs.push_back(Output::Event(event));
    }

    fn call_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.started_ms)
    }

    fn fixed(&self, which: Fixed) -> Option<Line> {
        prompts::fixed(&self.dialplan, self.config.language, which)
    }

    fn answer(&self, intent: &str) -> Option<Line> {
        prompts::answer(&self.dialplan, self.config.language, intent)
    }
}
