//! One caller's conversation with the brain, sans-IO.
//!
//! The session turns the caller's audio into utterances (VAD), asks the
//! runtime to transcribe each one, and when a transcript comes back routes it
//! (intent, agitation, attempts) to a decision. It never reads the clock: the
//! caller passes `now`, and all timing inside is sample time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde::Serialize;

use crate::brain::agitation::{Agitation, AgitationConfig, AgitationTracker};
use crate::brain::asr::{Language, TranscribeRequest, Transcript};
use crate::brain::intent::{Classification, Router};
use crate::brain::slots::{self, Slots};
use crate::brain::summary::{self, HandoffSummary, SummaryInput, Turn};
use crate::dialplan::{Action, Dialplan};
use crate::media::prosody::{self, ProsodyFeatures};
use crate::media::resample::Upsampler;
use crate::media::vad::{Endpointer, VadConfig, VadEvent};

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
    /// [`Input::Transcript`].
    Transcribe(TranscribeRequest),
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
}

impl SessionConfig {
    pub fn new(language: Language) -> SessionConfig {
        SessionConfig {
            language,
            vad: VadConfig::default(),
            agitation: AgitationConfig::default(),
        }
    }
}

/// An utterance sent for recognition and waiting for its transcript.
struct Pending {
    start_ms: u64,
    end_ms: u64,
    prosody: ProsodyFeatures,
}

pub struct Session {
    dialplan: Arc<Dialplan>,
    /// The dialplan's "I want a person" intent.
    person: String,
    router: Arc<Router>,
    language: Language,
    prompt: String,
    upsampler: Upsampler,
    endpointer: Endpointer,
    agitation: AgitationTracker,
    next_utterance: u32,
    pending: HashMap<u32, Pending>,
    outputs: VecDeque<Output>,
    turns: Vec<UtteranceReport>,
    /// Consecutive turns the router could not place.
    failures: u32,
    /// Set once the call is handed to people; later input is recorded only.
    handed_off: bool,
    last: Option<Decision>,
    /// Utterances it took to reach the hand-off (what "attempts" counts).
    attempts_to_handoff: Option<u32>,
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
            endpointer: Endpointer::new(config.vad),
            agitation: AgitationTracker::new(config.agitation),
            next_utterance: 0,
            pending: HashMap::new(),
            outputs: VecDeque::new(),
            turns: Vec::new(),
            failures: 0,
            handed_off: false,
            last: None,
            attempts_to_handoff: None,
        }
    }

    /// Feed one input. `now_ms` is the runtime's clock for this call; the
    /// session only uses it to stamp DTMF decisions.
    pub fn handle_input(&mut self, _now_ms: u64, input: Input<'_>) {
        match input {
            Input::Audio8k(pcm) => {
                let wide = self.upsampler.process(pcm);
                let events = self.endpointer.push(&wide);
                self.on_vad(events);
            }
            Input::Audio16k(pcm) => {
                let events = self.endpointer.push(pcm);
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

    /// Utterances still waiting for their transcript.
    pub fn awaiting_transcripts(&self) -> usize {
        self.pending.len()
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
                VadEvent::Utterance(u) => {
                    let id = self.next_utterance;
                    self.next_utterance += 1;
                    let prosody = prosody::analyze(&u.pcm_16k);
                    self.pending.insert(
                        id,
                        Pending {
                            start_ms: u.start_ms,
                            end_ms: u.end_ms,
                            prosody,
                        },
                    );
                    self.outputs
                        .push_back(Output::Transcribe(TranscribeRequest {
                            utterance: id,
                            pcm_16k: u.pcm_16k,
                            language: self.language,
                            prompt: self.prompt.clone(),
                        }));
                }
            }
        }
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
        let Some(p) = self.pending.remove(&t.utterance) else {
            return; // a transcript for an utterance we never asked about
        };
        let text = t.text.trim().to_string();
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
        })
    }
}
