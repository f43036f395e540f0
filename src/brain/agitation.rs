//! How upset a caller is, scored 0..1 after every utterance from what they say
//! (angry words, swearing, impatience, repeated demands) and how they say it
//! (loudness, pitch, speaking rate), the voice judged against the caller's own
//! earlier speech where there is some.
//!
//! Evidence is counted in points; the score is `1 - exp(-points / scale)`, so
//! a single weak cue stays low, one clear cue lands mid-range and anger in
//! both words and voice approaches 1. Voice alone, without a baseline, is
//! capped below the usual escalation threshold: people simply differ in how
//! loud, high and fast they talk, and the phone line's gain is unknown.

use serde::Serialize;

use crate::media::prosody::ProsodyFeatures;

/// Anger and contempt. Whole words or phrases for English; substrings for
/// Chinese (checked against simplified text).
const ANGER: &[&str] = &[
    "ridiculous",
    "unacceptable",
    "outrageous",
    "furious",
    "disgusting",
    "disgraceful",
    "a disgrace",
    "pathetic",
    "useless",
    "incompetent",
    "worst",
    "terrible",
    "horrible",
    "awful",
    "insane",
    "absurd",
    "scam",
    "rip off",
    "ripped off",
    "ripoff",
    "liars",
    "you lied",
    "sick of",
    "sick and tired",
    "fed up",
    "had enough",
    "done with you",
    "this is a joke",
    "what a joke",
    "waste of time",
    "nightmare",
    "气死",
    "太差",
    "受够",
    "什么破",
    "垃圾服务",
    "垃圾公司",
    "什么垃圾",
    "骗子",
    "坑人",
    "过分",
    "离谱",
    "岂有此理",
    "差劲",
    "烦死",
    "忍无可忍",
    "欺负人",
    "受不了",
];

/// Swearing. `*` matches any ending ("fucking"). No entry contains another
/// (that would count one phrase twice). Characters that are also
/// parts of everyday words (操作, 靠谱) are deliberately absent.
const PROFANITY: &[&str] = &[
    "damn",
    "dammit",
    "goddamn",
    "the hell",
    "shit*",
    "bullshit",
    "fuck*",
    "crap",
    "bloody",
    "bastard*",
    "screw you",
    "pissed",
    "妈的",
    "他妈",
    "混蛋",
    "王八蛋",
];

/// The caller saying how they feel. Weaker than anger words: "I'm a bit
/// annoyed" is a mild cue. 烦 alone is absent because of 麻烦 ("please").
const UPSET: &[&str] = &[
    "angry",
    "frustrated",
    "frustrating",
    "annoyed",
    "annoying",
    "upset",
    "mad",
    "irritated",
    "livid",
    "生气",
    "不爽",
    "郁闷",
    "恼火",
    "火大",
    "好烦",
    "很烦",
    "真烦",
];

/// Impatience with the call itself: having said it before, being ignored,
/// waiting.
const IMPATIENCE: &[&str] = &[
    "already told you",
    "i told you",
    "i said",
    "how many times",
    "third time",
    "fourth time",
    "fifth time",
    "again and again",
    "every single time",
    "stop asking",
    "are you listening",
    "are you even listening",
    "listen to me",
    "hurry up",
    "still waiting",
    "been waiting",
    "on hold for",
    "nobody helps",
    "no one helps",
    "nobody can help",
    "说了多少遍",
    "多少次",
    "第三次",
    "别再",
    "快点",
    "听不懂",
    "到底",
    "等了",
];

/// Complaint topics. Harmless on their own ("I'd like to dispute a
/// charge"); they only add to the score when the voice is raised too.
const COMPLAINT: &[&str] = &[
    "complaint",
    "complain",
    "dispute",
    "problem",
    "wrong",
    "overcharged",
    "投诉",
    "不满意",
    "问题",
];

/// Asking for a person. Counted per utterance, across the call.
const PERSON: &[&str] = &[
    "person",
    "human",
    "agent",
    "representative",
    "operator",
    "manager",
    "supervisor",
    "人工",
    "真人",
    "客服人员",
    "经理",
];

/// Words that cancel a cue one or two words later ("not angry", "never
/// upset"). "no" only counts right before the cue ("no problem").
const NEGATORS: &[&str] = &[
    "not", "never", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "wont",
];

/// Chinese negation right before a cue (不生气, 没生气, 别生气).
const CJK_NEGATORS: &[char] = &['不', '没', '别'];

/// Words that carry no request of their own, left out when comparing
/// utterances ("I want to cancel" vs "I want to pay" are different requests).
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "i", "im", "me", "my", "you", "your", "we", "it", "its", "this", "that",
    "to", "of", "and", "or", "is", "are", "was", "be", "been", "am", "on", "in", "for", "with",
    "at", "about", "please", "want", "need", "like", "would", "could", "can", "just", "so", "um",
    "uh", "yes", "yeah", "no", "hi", "hello", "do", "does", "have", "has", "get", "know", "tell",
    "help", "some", "one", "id", "ive", "ill", "what", "how", "oh", "ok", "okay", "well",
];

/// Chinese function characters left out when comparing utterances.
const CJK_STOPCHARS: &[char] = &[
    '我', '的', '了', '你', '是', '吗', '呢', '啊', '吧', '一', '下', '要', '想', '请', '帮', '喂',
    '好', '在', '个', '这', '那', '们',
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgitationLevel {
    Calm,
    Elevated,
    High,
}

impl Default for Agitation {
    fn default() -> Self {
        Self {
            score: 0.0,
            level: AgitationLevel::Calm,
            reasons: Vec::new(),
        }
    }
}

impl AgitationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AgitationLevel::Calm => "calm",
            AgitationLevel::Elevated => "elevated",
            AgitationLevel::High => "high",
        }
    }
}

/// The verdict on one utterance. The default is calm with no evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agitation {
    /// 0 (calm) to 1 (very agitated).
    pub score: f32,
    pub level: AgitationLevel,
    /// Short explanations an agent can read, strongest first.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgitationConfig {
    /// Lowest score that counts as elevated.
    pub elevated_at: f32,
    /// Lowest score that counts as high.
    pub high_at: f32,
    /// Evidence points that give a score of 0.63 (1 - 1/e).
    pub points_scale: f32,
    /// Shortest utterance (s) that may serve as the caller's voice baseline;
    /// a clipped "yes" says little about how someone normally talks.
    pub min_baseline_s: f32,
    /// Voiced loudness (dBFS) where "loud" starts, and where it is maximal,
    /// for callers without a baseline.
    pub loud_dbfs: (f32, f32),
    /// Median pitch (Hz) where "high" starts and is maximal, without a
    /// baseline. Set above ordinary female speech, which often sits near 220 Hz.
    pub high_pitch_hz: (f32, f32),
    /// Syllables per second where "fast" starts and is maximal, without a
    /// baseline. Conversational speech runs at about 4-5.
    pub fast_syllables: (f32, f32),
}

impl Default for AgitationConfig {
    fn default() -> Self {
        Self {
            elevated_at: 0.3,
            high_at: 0.6,
            points_scale: 1.5,
            min_baseline_s: 1.0,
            loud_dbfs: (-14.0, -6.0),
            high_pitch_hz: (280.0, 400.0),
            fast_syllables: (6.0, 8.0),
        }
    }
}

/// Points each kind of evidence contributes (before the score's squashing).
mod points {
    pub const ANGER_FIRST: f32 = 1.0;
    pub const ANGER_MORE: f32 = 0.4;
    pub const ANGER_MAX: f32 = 1.8;
    pub const PROFANITY: f32 = 1.0;
    pub const PROFANITY_MAX: f32 = 1.5;
    pub const UPSET: f32 = 0.6;
    pub const IMPATIENCE: f32 = 0.5;
    pub const PERSON_TWICE: f32 = 0.6;
    pub const PERSON_MORE: f32 = 1.0;
    // Mild on its own: the IVR itself often asks callers to say it again.
    pub const REPEAT_ONCE: f32 = 0.4;
    pub const REPEAT_MORE: f32 = 0.9;
    pub const EMPHASIS: f32 = 0.4;
    pub const COMPLAINT_RAISED: f32 = 0.3;
    /// Voice evidence needed before a complaint word counts.
    pub const COMPLAINT_NEEDS_VOICE: f32 = 0.3;
    pub const REL_LOUD_MAX: f32 = 1.0;
    pub const REL_PITCH_MAX: f32 = 0.8;
    pub const REL_RATE_MAX: f32 = 0.6;
    pub const REL_TOTAL_MAX: f32 = 1.8;
    pub const ABS_LOUD_MAX: f32 = 0.4;
    pub const ABS_PITCH_MAX: f32 = 0.5;
    pub const ABS_RATE_MAX: f32 = 0.4;
    pub const ABS_TOTAL_MAX: f32 = 1.0;
    /// Evidence below this is not worth a reason line.
    pub const REASON_MIN: f32 = 0.1;
}

/// Relative-voice ramps: (no evidence at, full evidence at).
const REL_LOUD_DB: (f32, f32) = (3.0, 9.0);
const REL_PITCH_ST: (f32, f32) = (1.5, 6.0);
const REL_RATE_RATIO: (f32, f32) = (1.15, 1.5);

/// Remembers one caller's earlier utterances and scores each new one.
#[derive(Debug, Clone)]
pub struct AgitationTracker {
    cfg: AgitationConfig,
    baseline: Vec<Voice>,
    earlier: Vec<Request>,
    person_turns: u32,
    peak: Option<Agitation>,
}

/// The prosody of an earlier utterance that is usable as a baseline.
#[derive(Debug, Clone, Copy)]
struct Voice {
    loudness_dbfs: f32,
    pitch_hz: Option<f32>,
    syllable_rate: Option<f32>,
}

/// What an earlier utterance asked for.
#[derive(Debug, Clone)]
struct Request {
    units: Vec<String>,
    intent: Option<String>,
}

impl AgitationTracker {
    pub fn new(cfg: AgitationConfig) -> Self {
        Self {
            cfg,
            baseline: Vec::new(),
            earlier: Vec::new(),
            person_turns: 0,
            peak: None,
        }
    }

    /// Scores one utterance (its transcript, its prosody and the intent the
    /// router gave it) and remembers it for the ones that follow.
    pub fn score(
        &mut self,
        text: &str,
        prosody: &ProsodyFeatures,
        intent: Option<&str>,
    ) -> Agitation {
        let words = Words::new(text);
        let mut evidence = Evidence::default();

        self.score_words(&words, &mut evidence);
        let units = words.units();
        let wants_person = self.score_requests(&words, &units, intent, &mut evidence);
        let voice = self.score_voice(prosody, &mut evidence);
        if voice >= points::COMPLAINT_NEEDS_VOICE && !words.find(COMPLAINT).is_empty() {
            evidence.add(
                points::COMPLAINT_RAISED,
                "complaining in a raised voice".into(),
            );
        }

        let agitation = evidence.verdict(&self.cfg);
        self.remember(prosody, units, intent, wants_person, &agitation);
        agitation
    }

    /// The most agitated verdict so far in this call.
    pub fn peak(&self) -> Option<&Agitation> {
        self.peak.as_ref()
    }

    fn score_words(&self, words: &Words, evidence: &mut Evidence) {
        let anger = words.find(ANGER);
        if !anger.is_empty() {
            let extra = points::ANGER_MORE * (anger.len() - 1) as f32;
            evidence.add(
                (points::ANGER_FIRST + extra).min(points::ANGER_MAX),
                format!("angry words: {}", anger.join(", ")),
            );
        }
        let swearing = words.find(PROFANITY);
        if !swearing.is_empty() {
            evidence.add(
                (points::PROFANITY * swearing.len() as f32).min(points::PROFANITY_MAX),
                format!("swearing: {}", swearing.join(", ")),
            );
        }
        let upset = words.find(UPSET);
        if !upset.is_empty() {
            evidence.add(points::UPSET, format!("says they are {}", upset.join(", ")));
        }
        let impatience = words.find(IMPATIENCE);
        if !impatience.is_empty() {
            evidence.add(
                points::IMPATIENCE,
                format!("impatient: \"{}\"", impatience.join("\", \"")),
            );
        }
    }

    /// Scores demands for a person and repeated requests; returns whether
    /// this utterance asked for a person.
    fn score_requests(
        &self,
        words: &Words,
        units: &[String],
        intent: Option<&str>,
        evidence: &mut Evidence,
    ) -> bool {
        let person_mentions = words.count(PERSON);
        let wants_person = person_mentions > 0 || intent == Some("human_agent");
        if wants_person {
            let turns = self.person_turns + 1;
            if turns >= 2 {
                let pts = if turns == 2 {
                    points::PERSON_TWICE
                } else {
                    points::PERSON_MORE
                };
                evidence.add(pts, format!("asked for a person {turns} times"));
            }
        }

        // The same request again: the same recognised intent (a person is
        // counted above), or nearly the same words when none was recognised.
        let repeats = self
            .earlier
            .iter()
            .filter(|e| {
                let same_intent =
                    intent.is_some_and(|i| i != "human_agent") && e.intent.as_deref() == intent;
                same_intent || (units.len() >= 2 && similarity(units, &e.units) >= 0.5)
            })
            .count();
        if repeats == 1 {
            evidence.add(points::REPEAT_ONCE, "repeated the same request".into());
        } else if repeats > 1 {
            evidence.add(
                points::REPEAT_MORE,
                format!("repeated the same request {} times", repeats + 1),
            );
        }

        if let Some(phrase) = emphasis(units, person_mentions) {
            evidence.add(points::EMPHASIS, format!("kept repeating \"{phrase}\""));
        }
        wants_person
    }

    /// Adds the voice evidence and returns its points.
    fn score_voice(&self, prosody: &ProsodyFeatures, evidence: &mut Evidence) -> f32 {
        let Some(now) = Voice::of(prosody) else {
            return 0.0;
        };
        let cfg = &self.cfg;
        let base = self.baseline_voice();
        let mut cues: Vec<(f32, String)> = Vec::new();
        let mut relative = false;

        // Loudness.
        let abs = ramp(now.loudness_dbfs, cfg.loud_dbfs) * points::ABS_LOUD_MAX;
        let rel = base.map_or(0.0, |b| {
            ramp(now.loudness_dbfs - b.loudness_dbfs, REL_LOUD_DB) * points::REL_LOUD_MAX
        });
        if rel >= abs && rel > 0.0 {
            relative = true;
            let delta = now.loudness_dbfs - base.map_or(0.0, |b| b.loudness_dbfs);
            cues.push((
                rel,
                format!("raised voice: +{delta:.0} dB over this caller's earlier speech"),
            ));
        } else if abs > 0.0 {
            cues.push((abs, format!("loud voice: {:.0} dBFS", now.loudness_dbfs)));
        }

        // Pitch.
        if let Some(hz) = now.pitch_hz {
            let abs = ramp(hz, cfg.high_pitch_hz) * points::ABS_PITCH_MAX;
            let base_hz = base.and_then(|b| b.pitch_hz);
            let semitones = base_hz.map_or(0.0, |b| 12.0 * (hz / b).log2());
            let rel = base_hz.map_or(0.0, |_| {
                ramp(semitones, REL_PITCH_ST) * points::REL_PITCH_MAX
            });
            if rel >= abs && rel > 0.0 {
                relative = true;
                cues.push((
                    rel,
                    format!("higher pitch: +{semitones:.0} semitones over earlier speech"),
                ));
            } else if abs > 0.0 {
                cues.push((abs, format!("high pitch: {hz:.0} Hz")));
            }
        }

        // Speaking rate.
        if let Some(rate) = now.syllable_rate {
            let abs = ramp(rate, cfg.fast_syllables) * points::ABS_RATE_MAX;
            let base_rate = base.and_then(|b| b.syllable_rate);
            let rel = base_rate.map_or(0.0, |b| {
                ramp(rate / b, REL_RATE_RATIO) * points::REL_RATE_MAX
            });
            if rel >= abs && rel > 0.0 {
                relative = true;
                let earlier = base_rate.unwrap_or(rate);
                cues.push((
                    rel,
                    format!("speaking fast: {rate:.1} syllables/s (earlier {earlier:.1})"),
                ));
            } else if abs > 0.0 {
                cues.push((abs, format!("speaking fast: {rate:.1} syllables/s")));
            }
        }

        let cap = if relative {
            points::REL_TOTAL_MAX
        } else {
            points::ABS_TOTAL_MAX
        };
        let total: f32 = cues.iter().map(|(p, _)| p).sum();
        let scale = if total > cap { cap / total } else { 1.0 };
        for (p, reason) in cues {
            evidence.add(p * scale, reason);
        }
        total.min(cap)
    }

    /// The caller's calmest earlier speech: the lowest loudness, pitch and
    /// rate seen so far, so a caller who escalates step by step is still
    /// measured against how they started.
    fn baseline_voice(&self) -> Option<Voice> {
        let first = *self.baseline.first()?;
        Some(self.baseline.iter().fold(first, |acc, v| Voice {
            loudness_dbfs: acc.loudness_dbfs.min(v.loudness_dbfs),
            pitch_hz: min_opt(acc.pitch_hz, v.pitch_hz),
            syllable_rate: min_opt(acc.syllable_rate, v.syllable_rate),
        }))
    }

    fn remember(
        &mut self,
        prosody: &ProsodyFeatures,
        units: Vec<String>,
        intent: Option<&str>,
        wants_person: bool,
        agitation: &Agitation,
    ) {
        if let Some(voice) = Voice::of(prosody)
            && prosody.duration_s >= self.cfg.min_baseline_s
        {
            self.baseline.push(voice);
        }
        if wants_person {
            self.person_turns += 1;
        }
        self.earlier.push(Request {
            units,
            intent: intent.map(str::to_string),
        });
        if self.peak.as_ref().is_none_or(|p| agitation.score > p.score) {
            self.peak = Some(agitation.clone());
        }
    }
}

impl Default for AgitationTracker {
    fn default() -> Self {
        Self::new(AgitationConfig::default())
    }
}

impl Voice {
    /// `None` when the analysis saw no speech (including the all-zero
    /// default), so silence never reads as "loud" or "slow".
    fn of(p: &ProsodyFeatures) -> Option<Voice> {
        let usable = p.duration_s > 0.2 && p.voiced_ratio > 0.05 && p.loudness_dbfs.is_finite();
        usable.then(|| Voice {
            loudness_dbfs: p.loudness_dbfs,
            pitch_hz: p.pitch_median_hz.filter(|hz| hz.is_finite() && *hz > 40.0),
            syllable_rate: Some(p.syllable_rate).filter(|r| r.is_finite() && *r > 0.5),
        })
    }
}

fn min_opt(a: Option<f32>, b: Option<f32>) -> Option<f32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// 0 at or below `from`, 1 at or above `to`, linear between.
fn ramp(x: f32, (from, to): (f32, f32)) -> f32 {
    ((x - from) / (to - from)).clamp(0.0, 1.0)
}

/// Evidence gathered for one utterance.
#[derive(Default)]
struct Evidence {
    items: Vec<(f32, String)>,
}

impl Evidence {
    fn add(&mut self, points: f32, reason: String) {
        if points > 0.0 {
            self.items.push((points, reason));
        }
    }

    fn verdict(mut self, cfg: &AgitationConfig) -> Agitation {
        let total: f32 = self.items.iter().map(|(p, _)| p).sum();
        let score = (1.0 - (-total / cfg.points_scale.max(0.01)).exp()).clamp(0.0, 1.0);
        let level = if score >= cfg.high_at {
            AgitationLevel::High
        } else if score >= cfg.elevated_at {
            AgitationLevel::Elevated
        } else {
            AgitationLevel::Calm
        };
        self.items.sort_by(|a, b| b.0.total_cmp(&a.0));
        let reasons = self
            .items
            .into_iter()
            .filter(|(p, _)| *p >= points::REASON_MIN)
            .map(|(_, r)| r)
            .collect();
        Agitation {
            score,
            level,
            reasons,
        }
    }
}

/// A transcript reduced to lowercase words without punctuation; Chinese stays
/// in runs of characters (simplified) since it has no spaces. Kept local so
/// the word lists above are matched exactly as documented.
struct Words {
    tokens: Vec<String>,
}

impl Words {
    fn new(text: &str) -> Self {
        let simplified = if text.chars().any(is_cjk) {
            fast2s::convert(text)
        } else {
            text.to_string()
        };
        let mut spaced = String::with_capacity(simplified.len());
        let mut prev_cjk = false;
        for c in simplified.chars() {
            let cjk = is_cjk(c);
            if c == '\'' || c == '’' {
                continue; // "don't" -> "dont", "I'm" -> "im"
            }
            if c.is_alphanumeric() {
                if cjk != prev_cjk {
                    spaced.push(' ');
                }
                spaced.extend(c.to_lowercase());
                prev_cjk = cjk;
            } else {
                spaced.push(' ');
                prev_cjk = false;
            }
        }
        Self {
            tokens: spaced.split_whitespace().map(str::to_string).collect(),
        }
    }

    /// The terms of `list` that occur, not negated, in list order.
    fn find(&self, list: &[&str]) -> Vec<String> {
        list.iter()
            .filter(|term| self.occurrences(term) > 0)
            .map(|term| term.trim_end_matches('*').to_string())
            .collect()
    }

    /// How many times any term of `list` occurs, not negated.
    fn count(&self, list: &[&str]) -> usize {
        list.iter().map(|term| self.occurrences(term)).sum()
    }

    fn occurrences(&self, term: &str) -> usize {
        if term.chars().any(is_cjk) {
            return self.cjk_occurrences(term);
        }
        let parts: Vec<&str> = term.split(' ').collect();
        let n = parts.len();
        if self.tokens.len() < n {
            return 0;
        }
        (0..=self.tokens.len() - n)
            .filter(|&i| {
                parts
                    .iter()
                    .zip(&self.tokens[i..i + n])
                    .all(|(p, t)| match p.strip_suffix('*') {
                        Some(stem) => t.starts_with(stem),
                        None => t == p,
                    })
                    && !self.negated_at(i)
            })
            .count()
    }

    fn negated_at(&self, i: usize) -> bool {
        let before = |k: usize| i.checked_sub(k).map(|j| self.tokens[j].as_str());
        before(1) == Some("no")
            || [before(1), before(2)]
                .into_iter()
                .flatten()
                .any(|w| NEGATORS.contains(&w))
    }

    fn cjk_occurrences(&self, term: &str) -> usize {
        self.tokens
            .iter()
            .filter(|t| t.chars().any(is_cjk))
            .map(|t| {
                t.match_indices(term)
                    .filter(|(at, _)| {
                        !t[..*at]
                            .chars()
                            .next_back()
                            .is_some_and(|c| CJK_NEGATORS.contains(&c))
                    })
                    .count()
            })
            .sum()
    }

    /// Content units used to compare requests: English words minus
    /// stopwords, Chinese character pairs minus function characters.
    fn units(&self) -> Vec<String> {
        let mut units = Vec::new();
        for t in &self.tokens {
            if t.chars().any(is_cjk) {
                let chars: Vec<char> = t.chars().filter(|c| !CJK_STOPCHARS.contains(c)).collect();
                if chars.len() == 1 {
                    units.push(chars[0].to_string());
                }
                units.extend(chars.windows(2).map(|w| w.iter().collect::<String>()));
            } else if !STOPWORDS.contains(&t.as_str()) {
                units.push(t.clone());
            }
        }
        units
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Dice coefficient of two sets of content units.
fn similarity(a: &[String], b: &[String]) -> f32 {
    use std::collections::HashSet;
    let a: HashSet<&String> = a.iter().collect();
    let b: HashSet<&String> = b.iter().collect();
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    2.0 * a.intersection(&b).count() as f32 / (a.len() + b.len()) as f32
}

/// Saying the same thing twice in one breath ("three days, three days"; "a
/// person, a person"): a repeated pair of content units, or one unit three
/// times. Returns the repeated phrase.
fn emphasis(units: &[String], person_mentions: usize) -> Option<String> {
    for (i, pair) in units.windows(2).enumerate() {
        if pair[0] != pair[1]
            && units[i + 2..]
                .windows(2)
                .any(|later| later[0] == pair[0] && later[1] == pair[1])
        {
            return Some(format!("{} {}", pair[0], pair[1]));
        }
    }
    if person_mentions >= 2 {
        return units
            .iter()
            .find(|u| PERSON.contains(&u.as_str()) || PERSON.iter().any(|p| u.contains(p)))
            .cloned();
    }
    units
        .iter()
        .find(|u| units.iter().filter(|v| v == u).count() >= 3)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(loudness_dbfs: f32, pitch: f32, rate: f32) -> ProsodyFeatures {
        ProsodyFeatures {
            duration_s: 3.0,
            pitch_median_hz: Some(pitch),
            pitch_range_st: 4.0,
            loudness_dbfs,
            syllable_rate: rate,
            voiced_ratio: 0.6,
        }
    }

    fn calm() -> ProsodyFeatures {
        voice(-24.0, 130.0, 4.2)
    }

    fn score(text: &str, p: &ProsodyFeatures) -> Agitation {
        AgitationTracker::default().score(text, p, None)
    }

    #[test]
    fn level_serializes_lowercase() {
        let json = serde_json::to_string(&AgitationLevel::Elevated).unwrap();
        assert_eq!(json, "\"elevated\"");
    }

    #[test]
    fn default_prosody_is_not_evidence() {
        let a = score("hello there", &ProsodyFeatures::default());
        assert_eq!(a.score, 0.0);
        assert_eq!(a.level, AgitationLevel::Calm);
        assert!(a.reasons.is_empty());
    }

    #[test]
    fn words_are_matched_whole_and_negation_cancels() {
        let w = Words::new("I'm NOT angry, this is just a worst-case question!");
        assert_eq!(w.find(UPSET), Vec::<String>::new());
        assert_eq!(w.find(ANGER), vec!["worst".to_string()]);
        let w = Words::new("Madam, I was wondering");
        assert!(w.find(UPSET).is_empty(), "mad inside madam");
    }

    #[test]
    fn no_list_entry_contains_another() {
        for list in [ANGER, PROFANITY, UPSET, IMPATIENCE, COMPLAINT, PERSON] {
            for a in list {
                let text = Words::new(&a.replace('*', ""));
                for b in list.iter().filter(|b| *b != a) {
                    assert_eq!(text.occurrences(b), 0, "{b:?} is inside {a:?}");
                }
            }
        }
    }

    #[test]
    fn swearing_matches_word_endings() {
        let w = Words::new("this fucking phone");
        assert_eq!(w.find(PROFANITY), vec!["fuck".to_string()]);
    }

    #[test]
    fn chinese_terms_match_in_traditional_script_and_respect_negation() {
        assert_eq!(Words::new("氣死我了").find(ANGER), vec!["气死".to_string()]);
        assert!(Words::new("我不生气").find(UPSET).is_empty());
        assert!(Words::new("麻烦帮我查一下").find(UPSET).is_empty());
    }

    #[test]
    fn similarity_ignores_request_verbs() {
        let a = Words::new("I want to cancel my service").units();
        let b = Words::new("cancel my service").units();
        let c = Words::new("I want to pay my bill").units();
        assert_eq!(similarity(&a, &b), 1.0);
        assert_eq!(similarity(&a, &c), 0.0);
    }

    #[test]
    fn emphasis_finds_a_repeated_pair() {
        let units = Words::new("two weeks, two weeks I have waited").units();
        assert_eq!(emphasis(&units, 0), Some("two weeks".to_string()));
        let units = Words::new("my phone is broken").units();
        assert_eq!(emphasis(&units, 0), None);
    }

    #[test]
    fn ramp_is_clamped() {
        assert_eq!(ramp(0.0, (1.0, 2.0)), 0.0);
        assert_eq!(ramp(1.5, (1.0, 2.0)), 0.5);
        assert_eq!(ramp(9.0, (1.0, 2.0)), 1.0);
    }

    #[test]
    fn baseline_is_the_calmest_earlier_speech() {
        let mut t = AgitationTracker::default();
        t.score("first", &voice(-20.0, 150.0, 5.0), None);
        t.score("second", &voice(-26.0, 140.0, 4.0), None);
        let b = t.baseline_voice().unwrap();
        assert_eq!(b.loudness_dbfs, -26.0);
        assert_eq!(b.pitch_hz, Some(140.0));
        assert_eq!(b.syllable_rate, Some(4.0));
    }

    #[test]
    fn short_utterances_do_not_become_the_baseline() {
        let mut t = AgitationTracker::default();
        let mut short = calm();
        short.duration_s = 0.5;
        t.score("yes", &short, None);
        assert!(t.baseline_voice().is_none());
    }

    #[test]
    fn absolute_voice_alone_stays_below_high() {
        let a = score("I need to check something", &voice(-4.0, 420.0, 9.0));
        assert!(a.level != AgitationLevel::High, "{a:?}");
        assert!(a.score > 0.3, "an extreme voice still registers: {a:?}");
    }

    #[test]
    fn complaint_word_counts_only_with_a_raised_voice() {
        let mut calm_t = AgitationTracker::default();
        calm_t.score("hello I have a question", &calm(), None);
        let quiet = calm_t.score("I want to make a complaint", &calm(), Some("complaint"));
        assert!(quiet.score < 0.1, "{quiet:?}");

        let mut loud_t = AgitationTracker::default();
        loud_t.score("hello I have a question", &calm(), None);
        let loud = loud_t.score(
            "I want to make a complaint",
            &voice(-17.0, 170.0, 5.4),
            Some("complaint"),
        );
        assert!(
            loud.reasons.iter().any(|r| r.contains("complaining")),
            "{loud:?}"
        );
        assert!(loud.score > quiet.score + 0.3);
    }

    #[test]
    fn peak_keeps_the_highest_verdict() {
        let mut t = AgitationTracker::default();
        t.score("this is ridiculous and unacceptable", &calm(), None);
        let later = t.score("ok thanks", &calm(), None);
        let peak = t.peak().unwrap();
        assert!(peak.score > later.score);
    }

    #[test]
    fn reasons_are_sorted_strongest_first() {
        let a = score("damn this is ridiculous, I'm annoyed", &calm());
        assert_eq!(a.reasons.len(), 3);
        assert!(a.reasons[0].starts_with("angry words") || a.reasons[0].starts_with("swearing"));
        assert!(a.reasons[2].starts_with("says they are"));
    }
}
