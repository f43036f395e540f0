//! One caller's conversation with the brain, sans-IO.
//!
//! The session turns the caller's audio into utterances (VAD), asks the
//! runtime to transcribe each one, and when a transcript comes back routes it
//! (intent, agitation, attempts) to a decision. It never reads the clock: the
//! caller passes `now`, and all timing inside is sample time.
//!
//! Early recognition (off unless [`SessionConfig::early_recognition`]): when
//! the caller pauses for [`VadConfig::early_ms`], the utterance so far is sent
//! for a speculative transcription. If the endpoint then closes the same span
//! of speech, that transcript is the utterance's own and no second request is
//! made, so recognition overlaps the hangover instead of following it. If the
//! caller speaks again, the speculation is void and its answer ignored.
//!
//! What a runtime owes a speculative request (`TranscribeRequest::speculative`):
//! an answer, in any order relative to other requests, or
//! [`Transcript::skipped`] (the session then asks again, not speculatively,
//! at the endpoint). When the caller speaks again the session says
//! [`Output::CancelTranscribe`] at once, so a void guess stops holding the
//! cores the real utterance needs. When the endpoint closes the guessed span
//! before its answer is back, the session says [`Output::ConfirmTranscribe`]:
//! from then on the caller waits for that answer as for any other.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde::Serialize;

use crate::brain::agitation::{Agitation, AgitationConfig, AgitationTracker};
use crate::brain::asr::{Language, TranscribeRequest, Transcript};
use crate::brain::intent::{Classification, Router};
use crate::brain::slots::{self, Slots};
use crate::brain::summary::{self, HandoffSummary, SummaryInput, Turn};
use crate::brain::text;
use crate::dialplan::{Action, Dialplan};
use crate::media::prosody::{self, ProsodyFeatures};
use crate::media::resample::Upsampler;
use crate::media::vad::{Endpointer, Utterance, VadConfig, VadEvent};

/// How sure the router must be before a later utterance moves a caller out
/// of the queue they were put in: a stray fragment must not do it.
const REROUTE_CONFIDENCE: f32 = 0.8;

/// The intent a request for a person is routed as, unless the dialplan's
/// `router.person_intent` names another.
pub const HUMAN_AGENT: &str = "human_agent";

/// What the runtime feeds into a session.
#[derive(Debug)]
pub enum Input<'a> {
    /// Caller audio as it arrives from the phone line: 8 kHz linear PCM.
    Audio8k(&'a [i16]),
    /// Caller audio already at 16 kHz, -1..1 (wideband sources, tests).
    Audio16k(&'a [f32]),
    /// This many 8 kHz samples of time in which no caller audio arrived (a
    /// phone that suppresses silence): silence, but not the line's level.
    NoAudio8k(usize),
    /// A DTMF digit pressed by the caller.
    Dtmf(char),
    /// The recogniser's answer to an earlier [`Output::Transcribe`].
    Transcript(Transcript),
    /// The caller's audio ended: close any open utterance.
    EndOfAudio,
}

/// What a session asks the runtime to do or tells it.
#[derive(Debug, Clone)]
pub enum Output {
    /// The caller started speaking (barge-in point).
    SpeechStarted { at_ms: u64 },
    /// Transcribe this utterance and feed the result back as
    /// [`Input::Transcript`]. `speculative` requests are asked at a pause,
    /// while the caller may still go on (see [`TranscribeRequest`]).
    Transcribe(TranscribeRequest),
    /// A speculative request is void (the caller went on): stop it if it
    /// still runs. Its answer, if one comes, is ignored either way.
    CancelTranscribe { utterance: u32 },
    /// A speculative request not yet answered now stands for a finished
    /// utterance: the caller has stopped and waits for it.
    ConfirmTranscribe { utterance: u32 },
    /// What one utterance was understood as.
    Utterance(UtteranceReport),
    /// What to do with the call now.
    Decision(Decision),
}

#[derive(Debug, Clone, Serialize)]
pub struct UtteranceReport {
    pub id: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    pub intent: Option<String>,
    pub confidence: f32,
    pub ranked: Vec<(String, f32)>,
    pub agitation: f32,
    /// `calm`, `elevated` or `high`.
    pub agitation_level: &'static str,
    pub reasons: Vec<String>,
    pub slots: Slots,
    pub prosody: ProsodyFeatures,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    SelfService,
    Queue,
    Clarify,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    pub kind: RouteKind,
    /// The queue for `queue`, the intent answered for `self_service`, and the
    /// two likeliest intents (joined by `|`) for `clarify`.
    pub target: Option<String>,
}

/// Why the call went where it went, for the agent and the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionReason {
    Understood,
    AskedForPerson,
    PressedZero,
    Agitated,
    NotUnderstood,
    TooManyAttempts,
    NoInput,
    /// The recogniser was too far behind to transcribe the caller in time.
    RecognitionOverloaded,
}

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub intent: Option<String>,
    pub confidence: f32,
    pub route: Route,
    pub reason: DecisionReason,
    pub agitated: bool,
    /// The handoff summary; what an agent sees when the route is a queue.
    pub summary: HandoffSummary,
    /// The utterance that triggered this decision (none for DTMF).
    pub utterance: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub language: Language,
    pub vad: VadConfig,
    pub agitation: AgitationConfig,
    /// Transcribe speculatively at each pause of `vad.early_ms`. Off by
    /// default: a runtime that answers requests in order, one per utterance,
    /// would answer a speculation with the next utterance's text.
    pub early_recognition: bool,
    /// End an utterance before its hangover when the speculative transcript
    /// is a complete, confidently routed request; `None` always waits for
    /// the hangover. Needs `early_recognition`.
    pub early_decision: Option<EarlyDecision>,
}

impl SessionConfig {
    pub fn new(language: Language) -> SessionConfig {
        SessionConfig {
            language,
            vad: VadConfig::default(),
            agitation: AgitationConfig::default(),
            early_recognition: false,
            early_decision: None,
        }
    }
}

/// When a speculative transcript may end its utterance before the hangover
/// ("semantic endpointing"). Every condition guards against cutting off a
/// caller who only drew breath mid-sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyDecision {
    /// Silence after the speech before the utterance may be closed.
    pub min_silence_ms: u32,
    /// The router's confidence in an in-scope intent.
    pub min_confidence: f32,
    /// Words in the transcript (characters for Mandarin).
    pub min_words: usize,
}

impl Default for EarlyDecision {
    fn default() -> Self {
        EarlyDecision {
            min_silence_ms: 350,
            min_confidence: 0.9,
            min_words: 3,
        }
    }
}

/// What early recognition cost and saved over a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SpeculationStats {
    /// Speculative requests made.
    pub asked: u32,
    /// Speculative transcripts that became their utterance's transcript.
    pub used: u32,
    /// Speculative requests whose answer was not used: the caller went on,
    /// or it came back empty (skipped) and was asked again.
    pub wasted: u32,
}

/// An utterance sent for recognition and waiting for its transcript.
struct Pending {
    start_ms: u64,
    end_ms: u64,
    prosody: ProsodyFeatures,
    /// The utterance's audio when its transcript is a speculative one: if
    /// that comes back empty (skipped), it is asked again with this.
    retry_pcm: Option<Vec<f32>>,
}

/// The speculative transcription of the open utterance.
struct Speculation {
    /// The request's utterance id; the utterance's own if it is used.
    id: u32,
    start_ms: u64,
    end_ms: u64,
    /// Length of the audio asked about: a speculation stands only for
    /// exactly the utterance's audio.
    samples: usize,
    /// `None` while the recogniser is still on it.
    transcript: Option<Transcript>,
    /// The transcript is a request complete enough to end the utterance
    /// before the hangover.
    complete: bool,
}

pub struct Session {
    dialplan: Arc<Dialplan>,
    /// The dialplan's "I want a person" intent.
    person: String,
    router: Arc<Router>,
    language: Language,
    prompt: String,
    upsampler: Upsampler,
    /// The upsampler's output, reused frame after frame.
    wide: Vec<f32>,
    endpointer: Endpointer,
    agitation: AgitationTracker,
    next_utterance: u32,
    pending: HashMap<u32, Pending>,
    outputs: VecDeque<Output>,
    turns: Vec<UtteranceReport>,
    /// Consecutive turns the router could not place.
    failures: u32,
    /// Utterances the recogniser gave up on (overloaded).
    unheard: u32,
    /// Set once the call is handed to people; later input is recorded only.
    handed_off: bool,
    last: Option<Decision>,
    /// Utterances it took to reach the hand-off (what "attempts" counts).
    attempts_to_handoff: Option<u32>,
    early_recognition: bool,
    early_decision: Option<EarlyDecision>,
    /// The speculation on the open utterance, if one was asked.
    speculation: Option<Speculation>,
    speculation_stats: SpeculationStats,
}

impl Session {
    pub fn new(dialplan: Arc<Dialplan>, router: Arc<Router>, config: SessionConfig) -> Session {
        let prompt = dialplan.vocabulary_prompt(config.language);
        let person = dialplan
            .person_intent()
            .map_or(HUMAN_AGENT.to_string(), |i| i.name.clone());
        Session {
            person,
            dialplan,
            router,
            language: config.language,
            prompt,
            upsampler: Upsampler::new(),
            wide: Vec::with_capacity(640),
            endpointer: Endpointer::new(config.vad),
            agitation: AgitationTracker::new(config.agitation),
            next_utterance: 0,
            pending: HashMap::new(),
            outputs: VecDeque::new(),
            turns: Vec::new(),
            failures: 0,
            unheard: 0,
            handed_off: false,
            last: None,
            attempts_to_handoff: None,
            early_recognition: config.early_recognition,
            early_decision: config.early_decision,
            speculation: None,
            speculation_stats: SpeculationStats::default(),
        }
    }

    /// Feed one input. `now_ms` is the runtime's clock for this call; the
    /// session only uses it to stamp DTMF decisions.
    pub fn handle_input(&mut self, _now_ms: u64, input: Input<'_>) {
        match input {
            Input::Audio8k(pcm) => {
                self.wide.clear();
                self.upsampler.process_into(pcm, &mut self.wide);
                let events = self.endpointer.push(&self.wide);
                self.on_vad(events);
            }
            Input::Audio16k(pcm) => {
                let events = self.endpointer.push(pcm);
                self.on_vad(events);
            }
            Input::NoAudio8k(samples) => {
                let events = self.endpointer.push_gap(2 * samples);
                self.on_vad(events);
            }
            Input::EndOfAudio => {
                let tail = self.upsampler.flush();
                let mut events = self.endpointer.push(&tail);
                events.extend(self.endpointer.finish());
                self.on_vad(events);
            }
            Input::Dtmf(digit) => self.on_dtmf(digit),
            Input::Transcript(t) => self.on_transcript(t),
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Utterances still waiting for their transcript (ended utterances only:
    /// a speculation on one the caller is still in does not count).
    pub fn awaiting_transcripts(&self) -> usize {
        self.pending.len()
    }

    /// The caller is inside an utterance (from its `SpeechStarted` to its
    /// endpoint), pauses included: a speculative [`Output::Transcribe`] does
    /// not mean they stopped.
    pub fn in_utterance(&self) -> bool {
        self.endpointer.speech_started()
    }

    /// Ids of the utterances [`awaiting_transcripts`](Self::awaiting_transcripts)
    /// counts: an id appears here at its utterance's endpoint.
    pub fn awaiting(&self) -> impl Iterator<Item = u32> + '_ {
        self.pending.keys().copied()
    }

    pub fn speculation_stats(&self) -> SpeculationStats {
        self.speculation_stats
    }

    pub fn turns(&self) -> &[UtteranceReport] {
        &self.turns
    }

    fn on_vad(&mut self, events: Vec<VadEvent>) {
        for event in events {
            match event {
                VadEvent::SpeechStarted { at_ms } => {
                    self.outputs.push_back(Output::SpeechStarted { at_ms })
                }
                VadEvent::Utterance(u) => self.on_utterance(u),
            }
        }
        self.void_speculation_talked_past();
        if self.early_recognition
            && let Some(so_far) = self.endpointer.take_pause()
        {
            self.speculate(so_far);
        }
        self.close_early();
    }

    /// Speech after the pause moved the open utterance's end: the guess no
    /// longer covers it and can never stand.
    fn void_speculation_talked_past(&mut self) {
        let moved = match (&self.speculation, self.endpointer.speech_end_ms()) {
            (Some(s), Some(end)) => end != s.end_ms,
            _ => false,
        };
        if moved {
            self.void_speculation();
        }
    }

    fn void_speculation(&mut self) {
        if let Some(s) = self.speculation.take() {
            self.withdraw(s);
        }
    }

    /// A guess that can never stand: counted, and its run stopped.
    fn withdraw(&mut self, s: Speculation) {
        self.speculation_stats.wasted += 1;
        self.outputs
            .push_back(Output::CancelTranscribe { utterance: s.id });
    }

    /// The endpoint: the utterance is over.
    fn on_utterance(&mut self, u: Utterance) {
        let prosody = prosody::analyze(&u.pcm_16k);
        match self.speculation.take() {
            Some(s)
                if s.start_ms == u.start_ms
                    && s.end_ms == u.end_ms
                    && s.samples == u.pcm_16k.len() =>
            {
                // Nothing was said since the pause: the speculation stands.
                self.pending.insert(
                    s.id,
                    Pending {
                        start_ms: u.start_ms,
                        end_ms: u.end_ms,
                        prosody,
                        retry_pcm: Some(u.pcm_16k),
                    },
                );
                match s.transcript {
                    Some(t) => self.on_transcript(t),
                    None => self
                        .outputs
                        .push_back(Output::ConfirmTranscribe { utterance: s.id }),
                }
                return;
            }
            Some(s) => self.withdraw(s),
            None => {}
        }
        let id = self.next_id();
        self.pending.insert(
            id,
            Pending {
                start_ms: u.start_ms,
                end_ms: u.end_ms,
                prosody,
                retry_pcm: None,
            },
        );
        self.ask(id, u.pcm_16k, false);
    }

    /// A pause: transcribe what was said so far in case it is all.
    fn speculate(&mut self, so_far: Utterance) {
        // The caller went on after the earlier pause.
        self.void_speculation();
        let id = self.next_id();
        self.speculation = Some(Speculation {
            id,
            start_ms: so_far.start_ms,
            end_ms: so_far.end_ms,
            samples: so_far.pcm_16k.len(),
            transcript: None,
            complete: false,
        });
        self.speculation_stats.asked += 1;
        self.ask(id, so_far.pcm_16k, true);
    }

    fn next_id(&mut self) -> u32 {
        let id = self.next_utterance;
        self.next_utterance += 1;
        id
    }

    fn ask(&mut self, utterance: u32, pcm_16k: Vec<f32>, speculative: bool) {
        self.outputs
            .push_back(Output::Transcribe(TranscribeRequest {
                utterance,
                pcm_16k,
                language: self.language,
                prompt: self.prompt.clone(),
                speculative,
            }));
    }

    /// Semantic endpointing: the caller has been quiet a while after what
    /// is already a complete request, so the rest of the hangover is waited
    /// out for nothing.
    fn close_early(&mut self) {
        let (Some(rule), Some(s)) = (&self.early_decision, &self.speculation) else {
            return;
        };
        // A speech end that moved means the caller went on.
        if !s.complete || self.endpointer.speech_end_ms() != Some(s.end_ms) {
            return;
        }
        let silence_ms = self.endpointer.position_ms().saturating_sub(s.end_ms);
        if silence_ms < u64::from(rule.min_silence_ms) {
            return;
        }
        if let Some(u) = self.endpointer.close_utterance() {
            self.on_utterance(u);
        }
    }

    /// Whether a speculative transcript may end its utterance early: a whole
    /// sentence (the recogniser closed it), long enough to be a request, and
    /// routed with high confidence to something in scope.
    fn is_complete_request(&self, text: &str) -> bool {
        let Some(rule) = &self.early_decision else {
            return false;
        };
        let text = text.trim();
        let sentence_final = text.ends_with(['.', '?', '!', '。', '？', '！']);
        if !sentence_final || text::words(text).len() < rule.min_words {
            return false;
        }
        let class = self.router.classify(text);
        class.intent.is_some() && class.confidence >= rule.min_confidence
    }

    fn on_dtmf(&mut self, digit: char) {
        if digit == '0' && !self.handed_off {
            let queue = self.queue_for_person();
            self.decide(
                None,
                1.0,
                RouteKind::Queue,
                Some(queue),
                DecisionReason::PressedZero,
                None,
            );
        }
    }

    fn on_transcript(&mut self, t: Transcript) {
        let early = self
            .speculation
            .as_ref()
            .is_some_and(|s| s.id == t.utterance && s.transcript.is_none());
        if early {
            // The caller has not finished, as far as we know.
            let complete = self.is_complete_request(&t.text);
            if let Some(s) = &mut self.speculation {
                s.complete = complete;
                s.transcript = Some(t);
            }
            self.close_early();
            return;
        }
        let Some(mut p) = self.pending.remove(&t.utterance) else {
            // Never asked about, or a speculation the caller talked past.
            return;
        };
        if t.overloaded {
            return self.on_unheard(t.utterance);
        }
        let text = t.text.trim().to_string();
        if let Some(pcm_16k) = p.retry_pcm.take() {
            if text.is_empty() {
                // Skipped, or nothing heard in the early audio: ask again
                // properly rather than take silence for an answer.
                self.speculation_stats.wasted += 1;
                self.pending.insert(t.utterance, p);
                self.ask(t.utterance, pcm_16k, false);
                return;
            }
            self.speculation_stats.used += 1;
        }
        if text.is_empty() {
            // Nothing recognisable (noise, a cough that got through): not an attempt.
            return;
        }
        let class = self.router.classify(&text);
        let agitation = self
            .agitation
            .score(&text, &p.prosody, class.intent.as_deref());
        let report = UtteranceReport {
            id: t.utterance,
            start_ms: p.start_ms,
            end_ms: p.end_ms,
            slots: slots::extract(&text),
            text,
            intent: class.intent.clone(),
            confidence: class.confidence,
            ranked: class.ranked.clone(),
            agitation: agitation.score,
            agitation_level: agitation.level.as_str(),
            reasons: agitation.reasons.clone(),
            prosody: p.prosody,
        };
        self.turns.push(report.clone());
        self.outputs.push_back(Output::Utterance(report));
        if self.handed_off && !self.corrects_routing(&class) {
            self.refresh_handoff(t.utterance);
        } else {
            self.handed_off = false;
            self.route(t.utterance, &class, &agitation);
        }
    }

    /// The caller spoke but the recogniser could not keep up: a person
    /// hears them instead of the caller waiting on, or being asked to say
    /// it again. A caller already on the way to people stays where they are.
    fn on_unheard(&mut self, utterance: u32) {
        self.unheard += 1;
        if self.handed_off {
            return self.refresh_handoff(utterance);
        }
        let queue = self.queue_for_person();
        self.decide(
            None,
            0.0,
            RouteKind::Queue,
            Some(queue),
            DecisionReason::RecognitionOverloaded,
            Some(utterance),
        );
    }

    fn route(&mut self, utterance: u32, class: &Classification, agitation: &Agitation) {
        let threshold = self.dialplan.agitation_threshold;
        let intent = class.intent.clone();
        let at = Some(utterance);
        if intent.as_deref() == Some(self.person.as_str()) {
            let queue = self.queue_for_person();
            return self.decide(
                intent,
                class.confidence,
                RouteKind::Queue,
                Some(queue),
                DecisionReason::AskedForPerson,
                at,
            );
        }
        if agitation.score >= threshold {
            let queue = intent
                .as_deref()
                .and_then(|i| self.queue_of(i))
                .unwrap_or_else(|| self.queue_for_person());
            return self.decide(
                intent,
                class.confidence,
                RouteKind::Queue,
                Some(queue),
                DecisionReason::Agitated,
                at,
            );
        }
        if let Some(name) = intent {
            self.failures = 0;
            let (kind, target) = match self.dialplan.intent(&name).map(|i| &i.action) {
                Some(Action::Queue { queue }) => (RouteKind::Queue, queue.clone()),
                _ => (RouteKind::SelfService, name.clone()),
            };
            return self.decide(
                Some(name),
                class.confidence,
                kind,
                Some(target),
                DecisionReason::Understood,
                at,
            );
        }
        self.failures += 1;
        if self.failures >= self.dialplan.max_attempts {
            let queue = self.queue_for_person();
            return self.decide(
                None,
                class.confidence,
                RouteKind::Queue,
                Some(queue),
                DecisionReason::TooManyAttempts,
                at,
            );
        }
        let options: Vec<&str> = class
            .ranked
            .iter()
            .take(2)
            .map(|(n, _)| n.as_str())
            .collect();
        let target = (!options.is_empty()).then(|| options.join("|"));
        self.decide(
            None,
            class.confidence,
            RouteKind::Clarify,
            target,
            DecisionReason::NotUnderstood,
            at,
        );
    }

    /// The caller keeps talking while handed to people: the route stands, but
    /// the agent's summary and the agitation flag (queue priority) follow
    /// what they said since.
    fn refresh_handoff(&mut self, utterance: u32) {
        let Some(last) = self.last.clone() else {
            return;
        };
        let reason = if self.is_agitated() && !last.agitated {
            DecisionReason::Agitated
        } else {
            last.reason
        };
        let queue = last.route.target.clone();
        let summary = self.summary(&last.intent, last.confidence, queue);
        let decision = Decision {
            reason,
            agitated: self.is_agitated(),
            summary,
            utterance: Some(utterance),
            ..last
        };
        self.last = Some(decision.clone());
        self.outputs.push_back(Output::Decision(decision));
    }

    /// A caller queued only because of what the router understood who then
    /// clearly asks for something else ("actually, I want to pay my bill") is
    /// re-routed rather than left in the wrong queue. Calls queued because
    /// the caller asked for a person, was agitated or was not understood stay.
    fn corrects_routing(&self, class: &Classification) -> bool {
        let Some(last) = &self.last else {
            return false;
        };
        last.reason == DecisionReason::Understood
            && class.confidence >= REROUTE_CONFIDENCE
            && class.intent.is_some()
            && class.intent != last.intent
            && class.intent.as_deref() != Some(self.person.as_str())
    }

    fn is_agitated(&self) -> bool {
        self.agitation
            .peak()
            .is_some_and(|a| a.score >= self.dialplan.agitation_threshold)
    }

    /// Where a caller who wants a person goes: the queue of what they already
    /// asked about if it has one, otherwise the dialplan's default queue.
    fn queue_for_person(&self) -> String {
        self.turns
            .iter()
            .rev()
            .filter_map(|t| t.intent.as_deref())
            .filter(|i| *i != self.person)
            .find_map(|i| self.queue_of(i))
            .unwrap_or_else(|| self.dialplan.default_queue.clone())
    }

    fn queue_of(&self, intent: &str) -> Option<String> {
        match &self.dialplan.intent(intent)?.action {
            Action::Queue { queue } => Some(queue.clone()),
            _ => None,
        }
    }

    fn decide(
        &mut self,
        intent: Option<String>,
        confidence: f32,
        kind: RouteKind,
        target: Option<String>,
        reason: DecisionReason,
        utterance: Option<u32>,
    ) {
        let agitated = self.is_agitated();
        let queue = (kind == RouteKind::Queue).then(|| target.clone()).flatten();
        let summary = self.summary(&intent, confidence, queue);
        if kind == RouteKind::Queue {
            self.handed_off = true;
            self.attempts_to_handoff = Some(self.turns.len() as u32);
        }
        let decision = Decision {
            intent,
            confidence,
            route: Route { kind, target },
            reason,
            agitated,
            summary,
            utterance,
        };
        self.last = Some(decision.clone());
        self.outputs.push_back(Output::Decision(decision));
    }

    /// Where the call stands: the latest decision, or, when the caller has
    /// said nothing usable, a reprompt (clarify with no options).
    pub fn outcome(&self) -> Decision {
        self.last.clone().unwrap_or_else(|| Decision {
            intent: None,
            confidence: 0.0,
            route: Route {
                kind: RouteKind::Clarify,
                target: None,
            },
            reason: DecisionReason::NoInput,
            agitated: false,
            summary: self.summary(&None, 0.0, None),
            utterance: None,
        })
    }

    fn summary(
        &self,
        intent: &Option<String>,
        confidence: f32,
        queue: Option<String>,
    ) -> HandoffSummary {
        // The caller's topic is the last thing understood that is not "a person".
        let topic = intent
            .clone()
            .filter(|i| *i != self.person)
            .or_else(|| {
                self.turns
                    .iter()
                    .rev()
                    .find_map(|t| t.intent.clone().filter(|i| *i != self.person))
            })
            .or_else(|| intent.clone());
        // A later utterance may correct an earlier one: the newest value wins.
        let mut slots = Slots::default();
        for t in &self.turns {
            let s = t.slots.clone();
            slots.account_number = s.account_number.or(slots.account_number);
            slots.phone_number = s.phone_number.or(slots.phone_number);
            if s.amount.is_some() {
                slots.amount = s.amount;
                slots.currency = s.currency;
            }
        }
        summary::summarize(SummaryInput {
            turns: self
                .turns
                .iter()
                .map(|t| Turn {
                    text: t.text.clone(),
                    intent: t.intent.clone(),
                    confidence: t.confidence,
                    agitation: t.agitation,
                })
                .collect(),
            intent: topic,
            confidence,
            slots: serde_json::to_value(&slots).unwrap_or_default(),
            queue,
            attempts: self.attempts_to_handoff.unwrap_or(self.turns.len() as u32),
            agitation: self.agitation.peak().cloned().unwrap_or_default(),
            language: self.language.code().to_string(),
            unheard: self.unheard,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::f32::consts::PI;

    use super::*;
    use crate::dialplan::load_dialplan;

    const FRAME: usize = 320; // 20 ms at 16 kHz

    /// A vowel-like buzz the endpointer takes for speech.
    fn voice(seconds: f32) -> Vec<f32> {
        let n = (seconds * 16000.0) as usize;
        let mut phase = 0.0f32;
        (0..n)
            .map(|i| {
                let t = i as f32 / 16000.0;
                let f0 = 120.0 + 20.0 * (2.0 * PI * 1.5 * t).sin();
                phase += 2.0 * PI * f0 / 16000.0;
                let envelope = (PI * i as f32 / n as f32).sin().powf(0.3);
                let harmonics: f32 = (1..=20)
                    .filter(|k| *k as f32 * f0 < 3400.0)
                    .map(|k| (k as f32 * phase).sin() / k as f32)
                    .sum();
                0.05 * envelope * harmonics
            })
            .collect()
    }

    fn quiet(seconds: f32) -> Vec<f32> {
        // A faint hiss, so the background level is known.
        let mut state = 0x1234_5678u32;
        (0..(seconds * 16000.0) as usize)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                0.002 * (state as f32 / u32::MAX as f32 * 2.0 - 1.0)
            })
            .collect()
    }

    fn session(early_recognition: bool, early_decision: Option<EarlyDecision>) -> Session {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/dialplans/hotline.toml");
        let dialplan = load_dialplan(std::path::Path::new(path)).expect("dialplan");
        let router = Arc::new(Router::new(&dialplan));
        let config = SessionConfig {
            early_recognition,
            early_decision,
            ..SessionConfig::new(Language::En)
        };
        Session::new(Arc::new(dialplan), router, config)
    }

    /// Everything a call produced, with the 20 ms frame it came out at.
    #[derive(Default)]
    struct Log {
        asked: Vec<(usize, TranscribeRequest)>,
        decisions: Vec<(usize, Decision)>,
        cancelled: Vec<(usize, u32)>,
        confirmed: Vec<(usize, u32)>,
    }

    /// Feeds `pcm` in 20 ms frames; `answer` is called for every request
    /// and may answer it at once.
    fn feed(
        s: &mut Session,
        pcm: &[f32],
        log: &mut Log,
        answer: &mut dyn FnMut(&TranscribeRequest) -> Option<String>,
    ) {
        for (i, frame) in pcm.chunks(FRAME).enumerate() {
            s.handle_input(0, Input::Audio16k(frame));
            drain(s, i, log, answer);
        }
    }

    fn drain(
        s: &mut Session,
        at: usize,
        log: &mut Log,
        answer: &mut dyn FnMut(&TranscribeRequest) -> Option<String>,
    ) {
        while let Some(out) = s.poll_output() {
            match out {
                Output::Transcribe(req) => {
                    if let Some(text) = answer(&req) {
                        let t = Transcript::heard(req.utterance, text, 0.0);
                        s.handle_input(0, Input::Transcript(t));
                    }
                    log.asked.push((at, req));
                }
                Output::Decision(d) => log.decisions.push((at, d)),
                Output::CancelTranscribe { utterance } => log.cancelled.push((at, utterance)),
                Output::ConfirmTranscribe { utterance } => log.confirmed.push((at, utterance)),
                Output::SpeechStarted { .. } | Output::Utterance(_) => {}
            }
        }
    }

    fn say(s: &mut Session, t: Transcript, at: usize, log: &mut Log) {
        s.handle_input(0, Input::Transcript(t));
        drain(s, at, log, &mut |_| None);
    }

    fn pay_bill(_: &TranscribeRequest) -> Option<String> {
        Some("I'd like to pay my bill.".to_string())
    }

    /// Half a second of line, `speech` seconds of voice, then 1.5 s of line.
    fn one_sentence(speech: f32) -> Vec<f32> {
        let mut pcm = quiet(0.5);
        pcm.extend(voice(speech));
        pcm.extend(quiet(1.5));
        pcm
    }

    #[test]
    fn without_early_recognition_nothing_is_asked_before_the_endpoint() {
        let mut s = session(false, None);
        let mut log = Log::default();
        feed(&mut s, &one_sentence(1.0), &mut log, &mut pay_bill);
        assert_eq!(log.asked.len(), 1);
        assert!(!log.asked[0].1.speculative);
        assert_eq!(s.speculation_stats(), SpeculationStats::default());
        assert_eq!(log.decisions.len(), 1);
    }

    #[test]
    fn a_transcript_back_before_the_endpoint_decides_at_the_endpoint() {
        let mut plain = session(false, None);
        let mut reference = Log::default();
        feed(
            &mut plain,
            &one_sentence(1.0),
            &mut reference,
            &mut pay_bill,
        );

        let mut s = session(true, None);
        let mut log = Log::default();
        feed(&mut s, &one_sentence(1.0), &mut log, &mut pay_bill);
        assert_eq!(log.asked.len(), 1, "the early request is the only one");
        let (asked_at, req) = &log.asked[0];
        assert!(req.speculative);
        assert!(
            *asked_at < reference.asked[0].0,
            "asked before the endpoint"
        );
        assert_eq!(req.pcm_16k, reference.asked[0].1.pcm_16k, "same audio");
        // Decided where the endpoint was, with the same result.
        assert_eq!(log.decisions.len(), 1);
        assert_eq!(log.decisions[0].0, reference.decisions[0].0);
        assert_eq!(log.decisions[0].1.intent.as_deref(), Some("pay_bill"));
        assert_eq!(log.decisions[0].1.utterance, Some(req.utterance));
        assert!(
            log.confirmed.is_empty(),
            "answered: nothing left to wait for"
        );
        let stats = s.speculation_stats();
        assert_eq!((stats.asked, stats.used, stats.wasted), (1, 1, 0));
    }

    #[test]
    fn the_caller_is_still_in_the_utterance_during_a_speculation() {
        let mut s = session(true, None);
        let mut log = Log::default();
        let mut pcm = quiet(0.5);
        pcm.extend(voice(1.0));
        pcm.extend(quiet(0.3));
        feed(&mut s, &pcm, &mut log, &mut |_| None);
        assert_eq!(log.asked.len(), 1);
        assert!(log.asked[0].1.speculative);
        assert!(s.in_utterance());
        assert_eq!(s.awaiting_transcripts(), 0);
        assert!(log.confirmed.is_empty());
        feed(&mut s, &quiet(1.0), &mut log, &mut |_| None);
        assert!(!s.in_utterance());
        assert_eq!(s.awaiting().collect::<Vec<_>>(), [log.asked[0].1.utterance]);
        // The guess is the utterance's own now: the caller waits for it.
        assert_eq!(log.asked.len(), 1);
        assert_eq!(log.confirmed.len(), 1);
        assert_eq!(log.confirmed[0].1, log.asked[0].1.utterance);
    }

    #[test]
    fn a_transcript_back_after_the_endpoint_decides_when_it_arrives() {
        let mut s = session(true, None);
        let mut log = Log::default();
        let pcm = one_sentence(1.0);
        feed(&mut s, &pcm, &mut log, &mut |_| None);
        assert_eq!(log.asked.len(), 1, "no second request at the endpoint");
        assert!(log.decisions.is_empty());
        assert_eq!(s.awaiting_transcripts(), 1, "the ended utterance waits");
        let id = log.asked[0].1.utterance;
        let t = Transcript::heard(id, "I'd like to pay my bill.", 0.0);
        say(&mut s, t, 999, &mut log);
        assert_eq!(s.awaiting_transcripts(), 0);
        assert_eq!(log.decisions.len(), 1);
        assert_eq!(log.decisions[0].1.utterance, Some(id));
        assert_eq!(s.speculation_stats().used, 1);
    }

    #[test]
    fn speech_after_a_pause_voids_the_speculation_and_its_late_answer() {
        let mut pcm = quiet(0.5);
        pcm.extend(voice(0.8));
        pcm.extend(quiet(0.35));
        pcm.extend(voice(0.8));
        pcm.extend(quiet(1.5));
        let mut s = session(true, None);
        let mut log = Log::default();
        feed(&mut s, &pcm, &mut log, &mut |_| None);
        // One speculation per pause, nothing at the endpoint.
        assert_eq!(log.asked.len(), 2);
        assert!(log.asked.iter().all(|(_, r)| r.speculative));
        let (first, second) = (log.asked[0].1.utterance, log.asked[1].1.utterance);
        assert!(log.asked[0].1.pcm_16k.len() < log.asked[1].1.pcm_16k.len());
        // Withdrawn as soon as the caller spoke again, before the next pause.
        assert_eq!(log.cancelled.len(), 1);
        let (cancelled_at, cancelled) = log.cancelled[0];
        assert_eq!(cancelled, first);
        assert!(
            cancelled_at < log.asked[1].0,
            "cancelled at frame {cancelled_at}"
        );
        // The first half's transcript is of no use now.
        let half = Transcript::heard(first, "Talk to an agent.", 0.0);
        say(&mut s, half, 999, &mut log);
        assert!(log.decisions.is_empty());
        let whole = Transcript::heard(second, "I'd like to pay my bill.", 0.0);
        say(&mut s, whole, 999, &mut log);
        assert_eq!(log.decisions.len(), 1);
        assert_eq!(log.decisions[0].1.intent.as_deref(), Some("pay_bill"));
        assert_eq!(s.turns().len(), 1);
        let stats = s.speculation_stats();
        assert_eq!((stats.asked, stats.used, stats.wasted), (2, 1, 1));
    }

    #[test]
    fn a_skipped_speculation_is_asked_again_at_the_endpoint() {
        let mut s = session(true, None);
        let mut log = Log::default();
        let mut answer = |r: &TranscribeRequest| {
            Some(if r.speculative {
                String::new() // the recogniser was busy
            } else {
                "I'd like to pay my bill.".to_string()
            })
        };
        feed(&mut s, &one_sentence(1.0), &mut log, &mut answer);
        assert_eq!(log.asked.len(), 2);
        let (early, again) = (&log.asked[0].1, &log.asked[1].1);
        assert!(early.speculative && !again.speculative);
        assert_eq!(early.utterance, again.utterance);
        assert_eq!(early.pcm_16k, again.pcm_16k);
        assert_eq!(log.decisions.len(), 1);
        assert_eq!(log.decisions[0].1.intent.as_deref(), Some("pay_bill"));
        let stats = s.speculation_stats();
        assert_eq!((stats.asked, stats.used, stats.wasted), (1, 0, 1));
    }

    #[test]
    fn a_skip_arriving_after_the_endpoint_is_asked_again_then() {
        let mut s = session(true, None);
        let mut log = Log::default();
        feed(&mut s, &one_sentence(1.0), &mut log, &mut |_| None);
        let id = log.asked[0].1.utterance;
        say(&mut s, Transcript::skipped(id), 999, &mut log);
        assert_eq!(log.asked.len(), 2);
        assert!(!log.asked[1].1.speculative);
        assert_eq!(s.awaiting_transcripts(), 1);
        assert!(log.decisions.is_empty(), "a skip is not an answer");
    }

    #[test]
    fn an_utterance_the_recogniser_gave_up_on_goes_to_a_person() {
        let mut s = session(false, None);
        let mut log = Log::default();
        feed(&mut s, &one_sentence(1.0), &mut log, &mut |_| None);
        let id = log.asked[0].1.utterance;
        say(&mut s, Transcript::overloaded(id), 999, &mut log);
        assert_eq!(log.decisions.len(), 1);
        let d = &log.decisions[0].1;
        assert_eq!(d.route.kind, RouteKind::Queue);
        assert_eq!(d.reason, DecisionReason::RecognitionOverloaded);
        assert_eq!(
            d.summary.sentence,
            "Calm caller whose request was not transcribed."
        );
        assert!(s.turns().is_empty(), "nothing heard is not an attempt");
        assert_eq!(s.awaiting_transcripts(), 0);
        // The real transcript arriving after all changes nothing.
        say(
            &mut s,
            Transcript::heard(id, "pay my bill", 0.0),
            999,
            &mut log,
        );
        assert_eq!(log.decisions.len(), 1);
    }

    #[test]
    fn a_complete_confident_request_is_decided_before_the_hangover() {
        let mut plain = session(true, None);
        let mut reference = Log::default();
        feed(
            &mut plain,
            &one_sentence(1.0),
            &mut reference,
            &mut pay_bill,
        );

        let rule = EarlyDecision::default();
        let mut s = session(true, Some(rule.clone()));
        let mut log = Log::default();
        feed(&mut s, &one_sentence(1.0), &mut log, &mut pay_bill);
        assert_eq!(log.asked.len(), 1);
        assert_eq!(log.decisions.len(), 1);
        let early_frame = log.decisions[0].0;
        let endpoint_frame = reference.decisions[0].0;
        let hangover = VadConfig::default().hangover_ms as usize;
        let saved_ms = (endpoint_frame - early_frame) * 20;
        assert!(
            saved_ms >= hangover - rule.min_silence_ms as usize - 40,
            "saved {saved_ms} ms"
        );
        assert_eq!(log.decisions[0].1.intent.as_deref(), Some("pay_bill"));
    }

    #[test]
    fn an_unfinished_or_unsure_transcript_waits_for_the_hangover() {
        let rule = Some(EarlyDecision::default());
        let mut reference = Log::default();
        feed(
            &mut session(true, None),
            &one_sentence(1.0),
            &mut reference,
            &mut pay_bill,
        );
        let endpoint_frame = reference.decisions[0].0;
        for text in [
            "I'd like to pay my bill and",    // no sentence end
            "Pay bill.",                      // too short to be sure it is all
            "What's the weather tomorrow?",   // out of scope
            "I'd like to talk about things.", // nothing confident
        ] {
            let mut s = session(true, rule.clone());
            let mut log = Log::default();
            feed(&mut s, &one_sentence(1.0), &mut log, &mut |_| {
                Some(text.to_string())
            });
            assert_eq!(log.decisions.len(), 1, "{text}");
            assert_eq!(log.decisions[0].0, endpoint_frame, "{text}");
        }
    }

    #[test]
    fn speech_after_an_early_decision_is_an_utterance_of_its_own() {
        let mut pcm = quiet(0.5);
        pcm.extend(voice(1.0));
        pcm.extend(quiet(0.45));
        pcm.extend(voice(0.8));
        pcm.extend(quiet(1.5));
        let mut s = session(true, Some(EarlyDecision::default()));
        let mut log = Log::default();
        feed(&mut s, &pcm, &mut log, &mut pay_bill);
        assert_eq!(s.turns().len(), 2);
        assert!(s.turns()[1].start_ms > s.turns()[0].end_ms);
    }
}
