//! How upset a caller is, scored 0..1 after every utterance from what they say
//! (angry words, swearing, blame, impatience, urgent or repeated demands) and
//! how they say it (loudness, pitch, speaking rate), the voice judged against
//! the caller's own earlier speech where there is some.
//!
//! Evidence is counted in points; the score is `1 - exp(-points / scale)`, so
//! a single weak cue stays low, one clear cue lands mid-range and anger in
//! both words and voice approaches 1. Voice alone, without a baseline, is
//! capped below the usual escalation threshold: people simply differ in how
//! loud, high and fast they talk, and the phone line's gain is unknown.
//!
//! The words come from a small recogniser on 8 kHz audio, which mishears
//! exactly the shouted, fast speech that matters ("sick of this" arrives as
//! "sick on this", "sick" as "fick"). Cue phrases therefore tolerate one
//! recognition slip (see [`Words::matches_at`]), and a transcript that is
//! one sentence looped by the decoder counts once.

use serde::Serialize;

use crate::brain::text::{is_cjk, to_simplified};
use crate::media::prosody::ProsodyFeatures;

/// Anger and contempt. English phrases are matched word by word (`*` ends a
/// stem, `_` is any one word); Chinese against simplified characters (`_` is
/// any one character). When two entries match overlapping words, only the
/// first one in list order counts, so longer forms come first.
const ANGER: &[&str] = &[
    "ridiculous",
    "unacceptable",
    "outrageous",
    "furious",
    "disgusting",
    "disgusted",
    "disgraceful",
    "a disgrace",
    "pathetic",
    "useless",
    "incompetent",
    "incompetence",
    "worst",
    "terrible",
    "horrible",
    "awful",
    "insane",
    "absurd",
    "scam",
    "rip off",
    "ripped off",
    "ripped me off",
    "ripping me off",
    "ripoff",
    "liars",
    "you lied",
    "sick of this",
    "sick of it",
    "sick of waiting",
    "sick of you",
    "sick of",
    "sick and tired",
    "tired of this",
    "tired of waiting",
    "fed up",
    "had enough",
    "done with you people",
    "done with you",
    "is a joke",
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
    "凭什么",
    "太坑",
];

/// Swearing. Never matched loosely: short vulgar words have ordinary
/// neighbours ("hell"/"hall"). Characters that are also parts of everyday
/// words (操作, 靠谱) are deliberately absent.
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

/// The caller blaming the company or the agent: contempt aimed at "you"
/// ("you people"), or a grievance about what "you" always or never do.
const BLAME: &[&str] = &[
    "you people",
    "you guys never",
    "you guys always",
    "you never",
    "you always",
    "you keep",
    "your fault",
    "you cut me off",
    "you promised",
    "你们这些人",
    "你们这帮",
    "你们怎么回事",
    "你们怎么搞的",
    "怎么搞的",
    "搞什么",
    "都是你们",
    "你们的错",
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

/// Impatience with the call or the company: having said it before, being
/// ignored, waiting, giving up ("I'm done").
const IMPATIENCE: &[&str] = &[
    "already told you",
    "i told you",
    "i said",
    "how many times",
    "so many times",
    "times already",
    "called _ times",
    "third time",
    "fourth time",
    "fifth time",
    "again and again",
    "over and over",
    "every single time",
    "for the last time",
    "stop asking",
    "are you even listening",
    "are you listening",
    "listen to me",
    "hurry up",
    "still waiting",
    "been waiting",
    "waiting _ hours",
    "waiting _ an hour",
    "waiting all day",
    "on hold for",
    "been on hold",
    "nobody _ help*",
    "no one _ help*",
    "nobody help*",
    "no one help*",
    "nobody cares",
    "no one cares",
    "im done",
    "i am done",
    "enough is enough",
    "thats enough",
    "give me a break",
    "说了多少遍",
    "说了几遍",
    "多少次",
    "几次了",
    "第三次",
    "别_让我",
    "别再",
    "快点",
    "听不懂",
    "到底",
    "等了",
    "等半天",
    "没人管",
    "没人理",
    "没有人管",
    "有完没完",
    "烦不烦",
];

/// Harmless alone ("I'd like to dispute a charge", "what's my balance right
/// now", "your store on Main Street"), they tell of a grievance only when the
/// voice or other words already show agitation: complaint topics, urgency,
/// and the company addressed as "you".
const SUPPORTING: &[&str] = &[
    "complaint",
    "complain",
    "dispute",
    "problem",
    "wrong",
    "overcharged",
    "right now",
    "immediately",
    "asap",
    "at once",
    "your company",
    "your service",
    "your customer service",
    "your staff",
    "you guys",
    "投诉",
    "不满意",
    "问题",
    "马上",
    "立刻",
    "立即",
    "赶紧",
    "你们",
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

/// Verbs that open a command to the hotline ("cancel it", "get me a
/// person"; 转人工 "put me through", 给我 "give me"). Only used at the
/// start of a clause.
const REQUEST_VERBS: &[&str] = &[
    "cancel",
    "block",
    "stop",
    "get",
    "give",
    "put",
    "let",
    "transfer",
    "connect",
    "fix",
    "refund",
    "close",
    "send",
    "take",
    "turn",
    "sort",
    "switch",
    "unblock",
    "reconnect",
    "restore",
    "remove",
    "end",
    "answer",
    "转",
    "给我",
    "取消",
];

/// Words that may stand between a clause start and its command ("and get me
/// someone", "just cancel it").
const CLAUSE_LEADERS: &[&str] = &["and", "then", "just", "so", "now", "but"];

/// "Right now": a command with one of these in its clause is urgent.
const URGENT_WORDS: &[&str] = &[
    "now",
    "immediately",
    "asap",
    "instantly",
    "at once",
    "马上",
    "立刻",
    "立即",
    "现在就",
    "赶紧",
];

/// Politeness: a caller who says "please" or "could you" is asking, not
/// demanding. Angry callers drop these.
const POLITE: &[&str] = &[
    "please",
    "thanks",
    "thank",
    "sorry",
    "could",
    "would",
    "may",
    "kindly",
    "wondering",
    "id",
    "can you",
    "can i",
    "请",
    "麻烦",
    "谢谢",
];

/// Words that cancel a cue one or two words later ("not angry", "never
/// upset"). "no" only counts right before the cue ("no problem").
const NEGATORS: &[&str] = &[
    "not", "never", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "wont",
];

/// Chinese negation right before a cue (不生气, 没生气, 别生气).
const CJK_NEGATORS: &[&str] = &["不", "没", "别"];

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

/// Letters a phone line makes hard to tell apart: the 300-3400 Hz band cuts
/// the high-frequency noise that separates fricatives (s/f) and the bursts
/// that separate stops, so recognisers swap within these groups. Vowels are
/// swapped by accent and fast speech alike.
const CONFUSABLE_LETTERS: &[&str] = &["fsvz", "ptkcbdg", "mn", "aeiou"];

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
    /// Voiced loudness (dBFS) of typical calm phone speech, and of clearly
    /// loud speech, for callers without a baseline. The loud cue grows
    /// between the two.
    pub loud_dbfs: (f32, f32),
    /// Median pitch (Hz) of a typical calm female voice, and of a clearly
    /// raised one, for callers without a baseline. Voices below 165 Hz
    /// (likely male) are judged on the same scale moved down to male norms.
    pub high_pitch_hz: (f32, f32),
    /// Syllables per second of typical calm speech, and of clearly fast
    /// speech, for callers without a baseline.
    pub fast_syllables: (f32, f32),
}

impl Default for AgitationConfig {
    fn default() -> Self {
        Self {
            elevated_at: 0.3,
            high_at: 0.6,
            points_scale: 1.5,
            min_baseline_s: 1.0,
            // Digital phone lines carry speech at about -26 dBov (the ITU-T
            // nominal level; voiced frames read ~1 dB higher). Vocal effort
            // rises ~6 dB from normal to raised and again to loud (ANSI S3.5
            // levels), so "clearly loud" is ~11 dB above calm. The spread of
            // line gains makes loudness alone weak evidence.
            loud_dbfs: (-25.0, -14.0),
            // Women speak at ~210 Hz (men ~115 Hz, the same scale an octave
            // less a bit), with speakers spread ~2.5 semitones either way.
            // Angry speech sits several semitones higher; 325 Hz is 7.5
            // semitones (3 spreads) up.
            high_pitch_hz: (210.0, 325.0),
            // Conversation runs at ~4-5 syllables/s (as voiced energy peaks);
            // angry speech is 10-30% faster, and some people always talk fast.
            fast_syllables: (4.5, 6.5),
        }
    }
}

/// Below this median F0 a voice is most likely male (adult male speech
/// rarely goes above it when calm, adult female speech rarely below).
const LIKELY_MALE_BELOW_HZ: f32 = 165.0;

/// Typical male F0 as a share of typical female F0 (115 Hz / 210 Hz).
const MALE_PITCH_RATIO: f32 = 115.0 / 210.0;

/// Points each kind of evidence contributes (before the score's squashing).
mod points {
    /// (first cue, each further cue, most in all) for one kind of words.
    pub type Tiers = (f32, f32, f32);
    pub const ANGER: Tiers = (1.0, 0.4, 1.8);
    pub const PROFANITY: Tiers = (1.0, 1.0, 1.5);
    pub const BLAME: Tiers = (0.5, 0.3, 0.8);
    pub const UPSET: Tiers = (0.6, 0.2, 0.8);
    pub const IMPATIENCE: Tiers = (0.5, 0.3, 1.1);
    /// Only with corroboration (see `SUPPORT_NEEDS_*`).
    pub const SUPPORTING: Tiers = (0.3, 0.15, 0.6);
    /// "Cancel it right now": a command that will not wait.
    pub const URGENT_DEMAND: f32 = 0.5;
    /// The same command twice in one breath ("cancel my account, cancel it").
    pub const REPEATED_DEMAND: f32 = 0.6;
    pub const PERSON_TWICE: f32 = 0.6;
    pub const PERSON_MORE: f32 = 1.0;
    // Mild on its own: the IVR itself often asks callers to say it again.
    pub const REPEAT_ONCE: f32 = 0.4;
    pub const REPEAT_MORE: f32 = 0.9;
    pub const EMPHASIS: f32 = 0.4;
    /// Voice evidence, or other word evidence, that lets supporting words
    /// count.
    pub const SUPPORT_NEEDS_VOICE: f32 = 0.3;
    pub const SUPPORT_NEEDS_WORDS: f32 = 0.5;
    pub const REL_LOUD_MAX: f32 = 1.0;
    pub const REL_PITCH_MAX: f32 = 0.8;
    pub const REL_RATE_MAX: f32 = 0.6;
    pub const REL_TOTAL_MAX: f32 = 1.8;
    /// Voice without a baseline: all cues together, at most.
    pub const ABS_TOTAL_MAX: f32 = 1.0;
    /// Evidence below this is not worth a reason line.
    pub const REASON_MIN: f32 = 0.1;
}

/// Relative-voice ramps: (no evidence at, full evidence at).
const REL_LOUD_DB: (f32, f32) = (3.0, 9.0);
const REL_PITCH_ST: (f32, f32) = (1.5, 6.0);
const REL_RATE_RATIO: (f32, f32) = (1.15, 1.5);

/// Voice without a baseline: each cue's ramp spans about three standard
/// deviations of calm callers, so its strength is ~z/3. Independent cues are
/// combined as z-scores are (Stouffer: sum / sqrt(count)), so three cues
/// raised together count far more than one cue however extreme. Evidence
/// starts at a combined one deviation and is full at 3.5.
const ABS_COMBINED_Z: (f32, f32) = (1.0, 3.5);
const ABS_RAMP_SPAN_Z: f32 = 3.0;

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
        let mut matcher = Matcher::new(&words);

        let said = score_words(&mut matcher, &mut evidence);
        let units = words.units();
        let (wants_person, demanded) =
            self.score_requests(&words, &mut matcher, &units, intent, &mut evidence);
        let voice = self.score_voice(prosody, &mut evidence);

        // Complaint topics, urgency, "your company", a curt command: they
        // count only next to other evidence.
        let mut found: Vec<String> = matcher
            .take(SUPPORTING, Slips::Exact)
            .into_iter()
            .map(|s| format!("\"{s}\""))
            .collect();
        found.extend(
            words
                .curt_command(&matcher.used)
                .map(|c| format!("\"{c}\"")),
        );
        let raised = voice >= points::SUPPORT_NEEDS_VOICE;
        if raised || said + demanded >= points::SUPPORT_NEEDS_WORDS {
            let how = if raised {
                "a raised voice"
            } else {
                "angry words"
            };
            evidence.add(
                tiered(found.len(), points::SUPPORTING),
                format!("complaining in {how}: {}", found.join(", ")),
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

    /// Scores demands for a person, repeated requests and urgent or repeated
    /// commands. Returns whether this utterance asked for a person, and the
    /// points its commands earned.
    fn score_requests(
        &self,
        words: &Words,
        matcher: &mut Matcher,
        units: &[String],
        intent: Option<&str>,
        evidence: &mut Evidence,
    ) -> (bool, f32) {
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

        let mut demanded = 0.0;
        if let Some(command) = words.urgent_command(&matcher.used) {
            demanded += points::URGENT_DEMAND;
            evidence.add(
                points::URGENT_DEMAND,
                format!("demands it right now: \"{}\"", words.text(command.clone())),
            );
            matcher.claim(command);
        }
        if let Some(what) = words.repeated_command(person_mentions) {
            demanded += points::REPEATED_DEMAND;
            evidence.add(
                points::REPEATED_DEMAND,
                format!("repeated the demand: \"{what}\""),
            );
        } else if let Some(phrase) = emphasis(units) {
            evidence.add(points::EMPHASIS, format!("kept repeating \"{phrase}\""));
        }
        (wants_person, demanded)
    }

    /// Adds the voice evidence and returns its points. With a baseline the
    /// voice is judged against this caller only: how they talked before
    /// explains their usual loudness, pitch and pace (and the line's gain).
    fn score_voice(&self, prosody: &ProsodyFeatures, evidence: &mut Evidence) -> f32 {
        let Some(now) = Voice::of(prosody) else {
            return 0.0;
        };
        let (cues, cap) = match self.baseline_voice() {
            Some(base) => (relative_voice(&now, &base), points::REL_TOTAL_MAX),
            None => (self.absolute_voice(&now), points::ABS_TOTAL_MAX),
        };
        let total: f32 = cues.iter().map(|(p, _)| p).sum();
        let scale = if total > cap { cap / total } else { 1.0 };
        for (p, reason) in cues {
            evidence.add(p * scale, reason);
        }
        total.min(cap)
    }

    /// The voice against population norms for phone speech. Each cue alone
    /// is weak (people and lines differ); loud, high and fast together are
    /// strong.
    fn absolute_voice(&self, now: &Voice) -> Vec<(f32, String)> {
        let cfg = &self.cfg;
        let mut cues = vec![(
            ramp(now.loudness_dbfs, cfg.loud_dbfs),
            format!("loud voice: {:.0} dBFS", now.loudness_dbfs),
        )];
        if let Some(hz) = now.pitch_hz {
            let male = hz < LIKELY_MALE_BELOW_HZ;
            let (from, to) = cfg.high_pitch_hz;
            let (norms, who) = if male {
                ((from * MALE_PITCH_RATIO, to * MALE_PITCH_RATIO), "male")
            } else {
                ((from, to), "female")
            };
            cues.push((
                ramp(hz, norms),
                format!("high pitch: {hz:.0} Hz for a {who} voice"),
            ));
        }
        if let Some(rate) = now.syllable_rate {
            cues.push((
                ramp(rate, cfg.fast_syllables),
                format!("speaking fast: {rate:.1} syllables/s"),
            ));
        }

        let strength: f32 = cues.iter().map(|(s, _)| s).sum();
        let combined_z = ABS_RAMP_SPAN_Z * strength / (cues.len() as f32).sqrt();
        let total = ramp(combined_z, ABS_COMBINED_Z) * points::ABS_TOTAL_MAX;
        // Each cue's reason carries its share of the total.
        cues.into_iter()
            .filter(|(s, _)| *s > 0.0)
            .map(|(s, reason)| (total * s / strength, reason))
            .collect()
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

/// Adds the evidence of the word lists, strongest kind first (a phrase
/// claimed by one list is not counted again by another), and returns its
/// points.
fn score_words(matcher: &mut Matcher, evidence: &mut Evidence) -> f32 {
    let kinds: [(&[&str], Slips, points::Tiers, &str); 5] = [
        (ANGER, Slips::Heard, points::ANGER, "angry words"),
        (PROFANITY, Slips::Exact, points::PROFANITY, "swearing"),
        (BLAME, Slips::Heard, points::BLAME, "blaming"),
        (IMPATIENCE, Slips::Heard, points::IMPATIENCE, "impatient"),
        (UPSET, Slips::Heard, points::UPSET, "says they are"),
    ];
    let mut total = 0.0;
    for (list, slips, tiers, label) in kinds {
        let found = matcher.take(list, slips);
        if found.is_empty() {
            continue;
        }
        let pts = tiered(found.len(), tiers);
        total += pts;
        let reason = if label == "says they are" {
            format!("{label} {}", found.join(", "))
        } else {
            format!("{label}: \"{}\"", found.join("\", \""))
        };
        evidence.add(pts, reason);
    }
    total
}

/// Points for `n` distinct cues of one kind.
fn tiered(n: usize, (first, more, max): points::Tiers) -> f32 {
    match n {
        0 => 0.0,
        n => (first + more * (n - 1) as f32).min(max),
    }
}

/// The voice against the caller's own calmest earlier speech.
fn relative_voice(now: &Voice, base: &Voice) -> Vec<(f32, String)> {
    let mut cues = Vec::new();
    let delta = now.loudness_dbfs - base.loudness_dbfs;
    cues.push((
        ramp(delta, REL_LOUD_DB) * points::REL_LOUD_MAX,
        format!("raised voice: +{delta:.0} dB over this caller's earlier speech"),
    ));
    if let (Some(hz), Some(base_hz)) = (now.pitch_hz, base.pitch_hz) {
        let semitones = 12.0 * (hz / base_hz).log2();
        cues.push((
            ramp(semitones, REL_PITCH_ST) * points::REL_PITCH_MAX,
            format!("higher pitch: +{semitones:.0} semitones over earlier speech"),
        ));
    }
    if let (Some(rate), Some(earlier)) = (now.syllable_rate, base.syllable_rate) {
        cues.push((
            ramp(rate / earlier, REL_RATE_RATIO) * points::REL_RATE_MAX,
            format!("speaking fast: {rate:.1} syllables/s (earlier {earlier:.1})"),
        ));
    }
    cues.retain(|(p, _)| *p > 0.0);
    cues
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

/// How loosely a word list is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slips {
    /// Word for word (stems and `_` aside).
    Exact,
    /// One recognition slip allowed (see [`Words::matches_at`]).
    Heard,
}

/// A transcript as lowercase English words and single Chinese characters
/// (simplified), with where its clauses and unbroken Chinese runs are.
/// Kept local (not `text::normalize`) because clause punctuation and the
/// caller's own wording ("I'm", not "I am") matter here.
struct Words {
    tokens: Vec<String>,
    /// Clause number of each token; clauses end at . , ! ? ; : and their
    /// Chinese forms.
    clause: Vec<usize>,
    /// Run number of each token: the characters of one unbroken Chinese run
    /// share one; every English word has its own.
    run: Vec<usize>,
}

impl Words {
    fn new(text: &str) -> Self {
        let mut w = Words {
            tokens: Vec::new(),
            clause: Vec::new(),
            run: Vec::new(),
        };
        let (mut clause, mut run) = (0, 0);
        let mut word = String::new();
        let mut in_cjk_run = false;
        for c in to_simplified(text).chars() {
            if c == '\'' || c == '’' {
                continue; // "don't" -> "dont", "I'm" -> "im"
            }
            if c.is_alphanumeric() && !is_cjk(c) {
                word.extend(c.to_lowercase());
                in_cjk_run = false;
                continue;
            }
            if !word.is_empty() {
                run += 1;
                w.push(std::mem::take(&mut word), clause, run);
            }
            if is_cjk(c) {
                if !in_cjk_run {
                    run += 1;
                }
                w.push(c.to_string(), clause, run);
                in_cjk_run = true;
            } else {
                in_cjk_run = false;
                if ".,!?;:。，！？；：、…".contains(c) && w.clause.last() == Some(&clause)
                {
                    clause += 1;
                }
            }
        }
        if !word.is_empty() {
            w.push(word, clause, run + 1);
        }
        w.drop_decoder_loop();
        w
    }

    fn push(&mut self, token: String, clause: usize, run: usize) {
        self.tokens.push(token);
        self.clause.push(clause);
        self.run.push(run);
    }

    /// Whisper sometimes loops, writing one sentence over and over ("I want
    /// to cancel my service. I want to cancel my service."). A transcript
    /// that is nothing but one stretch repeated, when the stretch is long
    /// (4+ words) or comes 3+ times, is kept once: the caller said it once.
    /// Short doubles ("a person, a person") are the caller's own emphasis.
    fn drop_decoder_loop(&mut self) {
        let n = self.tokens.len();
        let period =
            (1..=n / 2).find(|&p| (0..n - p).all(|i| self.tokens[i] == self.tokens[i + p]));
        if let Some(p) = period
            && (p >= 4 || n / p >= 3)
        {
            self.tokens.truncate(p);
            self.clause.truncate(p);
            self.run.truncate(p);
        }
    }

    /// How many times any term of `list` occurs, not negated.
    fn count(&self, list: &[&str]) -> usize {
        self.occurrences(list, true)
    }

    fn occurrences(&self, list: &[&str], negation_cancels: bool) -> usize {
        list.iter()
            .map(|term| {
                let parts = parts(term);
                (0..self.tokens.len())
                    .filter(|&i| {
                        self.matches_at(&parts, i, Slips::Exact)
                            && !(negation_cancels && self.negated_at(i))
                    })
                    .count()
            })
            .sum()
    }

    /// Whether the cue `parts` matches the tokens from `i`. With
    /// [`Slips::Heard`] one word may be misrecognised, in the ways a small
    /// recogniser on phone audio mishears, while the rest of the cue anchors
    /// it:
    /// - an unstressed short word inside a phrase of 3+ words may be any
    ///   other short word ("sick on this" for "sick of this"),
    /// - a content word may have one letter swapped for a phone-confusable
    ///   one ("fick" for "sick"): in phrases of 3+ words for words of 4+
    ///   letters, in two-word phrases for 5+ letters, and alone for 8+
    ///   letters, where real words this close are rare.
    fn matches_at(&self, parts: &[&str], i: usize, slips: Slips) -> bool {
        let n = parts.len();
        if n == 0 || i + n > self.tokens.len() {
            return false;
        }
        let cjk = parts.iter().any(|p| p.chars().any(is_cjk));
        if cjk && self.run[i..i + n].iter().any(|r| *r != self.run[i]) {
            return false; // a Chinese cue does not span punctuation
        }
        let mut slipped = slips == Slips::Exact;
        for (k, part) in parts.iter().enumerate() {
            let token = self.tokens[i + k].as_str();
            if token.chars().any(is_cjk) != cjk {
                return false;
            }
            let exact = match part.strip_suffix('*') {
                _ if *part == "_" => true,
                Some(stem) => token.starts_with(stem),
                None => token == *part,
            };
            if exact || cjk {
                if !exact {
                    return false;
                }
                continue;
            }
            let len = part.chars().count();
            let filler_inside = n >= 3 && k > 0 && k + 1 < n && len <= 3 && token.len() <= 3;
            let min_content_len = match n {
                1 => 8,
                2 => 5,
                _ => 4,
            };
            let misheard = len >= min_content_len && one_confusable_letter(part, token);
            if slipped || !(filler_inside || misheard) {
                return false;
            }
            slipped = true;
        }
        true
    }

    fn negated_at(&self, i: usize) -> bool {
        let before = |k: usize| i.checked_sub(k).map(|j| self.tokens[j].as_str());
        if self.tokens[i].chars().any(is_cjk) {
            return i > 0
                && self.run[i - 1] == self.run[i]
                && before(1).is_some_and(|t| CJK_NEGATORS.contains(&t));
        }
        before(1) == Some("no")
            || [before(1), before(2)]
                .into_iter()
                .flatten()
                .any(|w| NEGATORS.contains(&w))
    }

    /// "Please", "could you", "thank you" (even "no, thank you"): asking,
    /// not demanding.
    fn is_polite(&self) -> bool {
        self.occurrences(POLITE, false) > 0
    }

    /// Where each command starts: a request verb opening a clause (after
    /// "just", "and" and the like: "and get me someone", "just cancel it").
    /// Verbs in `claimed` already count for another cue.
    fn commands(&self, claimed: &[bool]) -> Vec<usize> {
        (0..self.tokens.len())
            .filter(|&i| !claimed[i] && self.any_at(REQUEST_VERBS, i))
            .filter(|&i| {
                let mut start = i;
                while start > 0
                    && self.clause[start - 1] == self.clause[i]
                    && CLAUSE_LEADERS.contains(&self.tokens[start - 1].as_str())
                {
                    start -= 1;
                }
                start < i || start == 0 || self.clause[start - 1] != self.clause[i]
            })
            .collect()
    }

    /// Whether a term of `list` starts exactly at token `i`.
    fn any_at(&self, list: &[&str], i: usize) -> bool {
        list.iter()
            .any(|term| self.matches_at(&parts(term), i, Slips::Exact))
    }

    /// The tokens of `i`'s clause from `i` on.
    fn clause_from(&self, i: usize) -> std::ops::Range<usize> {
        let end = (i..self.tokens.len())
            .find(|&j| self.clause[j] != self.clause[i])
            .unwrap_or(self.tokens.len());
        i..end
    }

    /// The tokens of `range` as text: words spaced, Chinese characters not.
    fn text(&self, range: std::ops::Range<usize>) -> String {
        let mut out = String::new();
        for (k, token) in self.tokens[range].iter().enumerate() {
            let cjk = token.chars().any(is_cjk);
            if k > 0 && !(cjk && out.chars().next_back().is_some_and(is_cjk)) {
                out.push(' ');
            }
            out.push_str(token);
        }
        out
    }

    /// A command that will not wait ("cancel it right now"), unless asked
    /// politely. Returns its tokens.
    fn urgent_command(&self, claimed: &[bool]) -> Option<std::ops::Range<usize>> {
        if self.is_polite() {
            return None;
        }
        self.commands(claimed).into_iter().find_map(|i| {
            let range = self.clause_from(i);
            let urgent = range.clone().any(|j| {
                URGENT_WORDS.iter().any(|u| {
                    let parts = parts(u);
                    j + parts.len() <= range.end && self.matches_at(&parts, j, Slips::Exact)
                })
            });
            urgent.then_some(range)
        })
    }

    /// A bare command without any politeness ("get me a person"). Ordinary
    /// on a hotline, so it only supports other evidence.
    fn curt_command(&self, claimed: &[bool]) -> Option<String> {
        if self.is_polite() {
            return None;
        }
        let first = *self.commands(claimed).first()?;
        Some(self.text(self.clause_from(first)))
    }

    /// The same command, or the demand for a person, twice in one
    /// utterance ("cancel my account, cancel it"; "a person! a person!"),
    /// unless asked politely. Returns what was demanded.
    fn repeated_command(&self, person_mentions: usize) -> Option<String> {
        if self.is_polite() {
            return None;
        }
        if person_mentions >= 2 {
            return PERSON
                .iter()
                .find(|p| self.count(&[**p]) > 0)
                .map(|p| p.to_string());
        }
        let none_claimed = vec![false; self.tokens.len()];
        let commands = self.commands(&none_claimed);
        commands.iter().enumerate().find_map(|(k, &i)| {
            commands[k + 1..]
                .iter()
                .any(|&j| self.tokens[j] == self.tokens[i] && self.clause[j] != self.clause[i])
                .then(|| self.tokens[i].clone())
        })
    }

    /// Content units used to compare requests: English words minus
    /// stopwords, Chinese character pairs (within a run) minus function
    /// characters.
    fn units(&self) -> Vec<String> {
        let mut units = Vec::new();
        let mut i = 0;
        while i < self.tokens.len() {
            let t = &self.tokens[i];
            if !t.chars().any(is_cjk) {
                if !STOPWORDS.contains(&t.as_str()) {
                    units.push(t.clone());
                }
                i += 1;
                continue;
            }
            let run_end = (i..self.tokens.len())
                .find(|&j| self.run[j] != self.run[i])
                .unwrap_or(self.tokens.len());
            let chars: Vec<char> = self.tokens[i..run_end]
                .iter()
                .filter_map(|t| t.chars().next())
                .filter(|c| !CJK_STOPCHARS.contains(c))
                .collect();
            if chars.len() == 1 {
                units.push(chars[0].to_string());
            }
            units.extend(chars.windows(2).map(|w| w.iter().collect::<String>()));
            i = run_end;
        }
        units
    }
}

/// A cue split into the tokens it is matched against: words for English,
/// characters for Chinese.
fn parts(term: &str) -> Vec<&str> {
    if term.chars().any(is_cjk) {
        term.char_indices()
            .map(|(at, c)| &term[at..at + c.len_utf8()])
            .collect()
    } else {
        term.split(' ').collect()
    }
}

/// Finds cues in one transcript; a token that is part of one accepted cue
/// is not counted for another.
struct Matcher<'w> {
    words: &'w Words,
    used: Vec<bool>,
}

impl<'w> Matcher<'w> {
    fn new(words: &'w Words) -> Self {
        Self {
            words,
            used: vec![false; words.tokens.len()],
        }
    }

    /// Marks tokens as counted by a cue found elsewhere.
    fn claim(&mut self, range: std::ops::Range<usize>) {
        self.used[range].iter_mut().for_each(|u| *u = true);
    }

    /// The cues of `list` that occur, not negated, as heard (so the agent
    /// reads the caller's words), in list order.
    fn take(&mut self, list: &[&str], slips: Slips) -> Vec<String> {
        let mut found = Vec::new();
        for term in list {
            let parts = parts(term);
            let n = parts.len();
            let hit = (0..self.words.tokens.len()).find(|&i| {
                i + n <= self.used.len()
                    && !self.used[i..i + n].iter().any(|u| *u)
                    && self.words.matches_at(&parts, i, slips)
                    && !self.words.negated_at(i)
            });
            if let Some(i) = hit {
                self.used[i..i + n].iter_mut().for_each(|u| *u = true);
                found.push(self.words.text(i..i + n));
            }
        }
        found
    }
}

/// Same length, exactly one letter different, and the two letters in one
/// phone-confusable group.
fn one_confusable_letter(want: &str, heard: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (want.chars().collect(), heard.chars().collect());
    if a.len() != b.len() {
        return false;
    }
    let mut diffs = a.iter().zip(&b).filter(|(x, y)| x != y);
    match (diffs.next(), diffs.next()) {
        (Some((x, y)), None) => CONFUSABLE_LETTERS
            .iter()
            .any(|group| group.contains(*x) && group.contains(*y)),
        _ => false,
    }
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

/// Saying the same thing twice in one breath ("three days, three days"): a
/// repeated pair of content units, or one unit three times. Returns the
/// repeated phrase.
fn emphasis(units: &[String]) -> Option<String> {
    for (i, pair) in units.windows(2).enumerate() {
        if pair[0] != pair[1]
            && units[i + 2..]
                .windows(2)
                .any(|later| later[0] == pair[0] && later[1] == pair[1])
        {
            return Some(format!("{} {}", pair[0], pair[1]));
        }
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
        voice(-25.0, 110.0, 4.3)
    }

    fn score(text: &str, p: &ProsodyFeatures) -> Agitation {
        AgitationTracker::default().score(text, p, None)
    }

    fn take(text: &str, list: &[&str]) -> Vec<String> {
        Matcher::new(&Words::new(text)).take(list, Slips::Heard)
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
        assert!(take("I'm NOT angry, this is just a worst-case question!", UPSET).is_empty());
        assert_eq!(
            take("I'm NOT angry, this is just a worst-case question!", ANGER),
            ["worst"]
        );
        assert!(
            take("Madam, I was wondering", UPSET).is_empty(),
            "mad in madam"
        );
    }

    #[test]
    fn overlapping_cues_count_once() {
        assert_eq!(take("I am sick of this", ANGER), ["sick of this"]);
        let words = Words::new("I'm done with you people");
        let mut m = Matcher::new(&words);
        assert_eq!(m.take(ANGER, Slips::Heard), ["done with you people"]);
        assert!(m.take(BLAME, Slips::Heard).is_empty(), "already counted");
    }

    #[test]
    fn swearing_matches_word_endings_but_never_loosely() {
        assert_eq!(take("this fucking phone", PROFANITY), ["fucking"]);
        let exact = Matcher::new(&Words::new("meet me in the hall")).take(PROFANITY, Slips::Exact);
        assert!(exact.is_empty());
    }

    #[test]
    fn unstressed_words_inside_a_phrase_may_be_misheard() {
        assert_eq!(take("I'm sick on this", ANGER), ["sick on this"]);
        assert_eq!(
            take("I'm done with new people", ANGER),
            ["done with new people"]
        );
        // Not at the edge of a phrase: "already told her" is a different
        // statement.
        assert!(take("I already told her about the move", IMPATIENCE).is_empty());
    }

    #[test]
    fn content_words_tolerate_one_phone_confusable_letter() {
        assert_eq!(take("so fick of waiting", ANGER), ["fick of waiting"]);
        assert_eq!(take("that is terrable", ANGER), ["terrable"]);
        // Letters a phone line does not confuse, or words too short to tell.
        assert!(take("how many lines do I have", IMPATIENCE).is_empty());
        assert!(take("I'm curious about the fee", ANGER).is_empty());
        assert!(take("I'm terribly sorry", ANGER).is_empty());
        assert!(take("a sack of", ANGER).is_empty());
    }

    #[test]
    fn one_confusable_letter_needs_the_same_sound_group() {
        assert!(one_confusable_letter("sick", "fick"));
        assert!(one_confusable_letter("time", "dime"));
        assert!(!one_confusable_letter("time", "line"));
        assert!(!one_confusable_letter("sick", "sicks"));
        assert!(!one_confusable_letter("sick", "sick"));
    }

    #[test]
    fn chinese_terms_match_in_traditional_script_and_respect_negation() {
        assert_eq!(take("氣死我了", ANGER), ["气死"]);
        assert!(take("我不生气", UPSET).is_empty());
        assert!(take("麻烦帮我查一下", UPSET).is_empty());
        assert_eq!(take("别老让我按键", IMPATIENCE), ["别老让我"]);
        assert!(take("太，差", ANGER).is_empty(), "not across punctuation");
    }

    #[test]
    fn a_decoder_loop_counts_once_but_short_doubles_stay() {
        let w = Words::new("I want to pay my bill. I want to pay my bill. I want to");
        assert_eq!(w.text(0..w.tokens.len()), "i want to pay my bill");
        let w = Words::new("a person, a person");
        assert_eq!(w.tokens.len(), 4);
    }

    #[test]
    fn commands_open_a_clause() {
        let w = Words::new("stop asking me questions and get me a person");
        let none = vec![false; w.tokens.len()];
        assert_eq!(w.commands(&none), [0, 5]);
        let w = Words::new("I want to cancel my plan");
        assert!(w.commands(&vec![false; w.tokens.len()]).is_empty());
    }

    #[test]
    fn chinese_commands_open_a_clause_too() {
        let w = Words::new("转人工，马上给我转人工");
        let none = vec![false; w.tokens.len()];
        assert_eq!(w.commands(&none), [0]);
        assert_eq!(w.curt_command(&none), Some("转人工".to_string()));
        let w = Words::new("给我马上退钱");
        assert_eq!(w.urgent_command(&vec![false; w.tokens.len()]), Some(0..6));
        let w = Words::new("请帮我转人工");
        assert!(w.curt_command(&vec![false; w.tokens.len()]).is_none());
    }

    #[test]
    fn urgency_needs_a_command_and_no_politeness() {
        let w = Words::new("block my card right now");
        let none = vec![false; w.tokens.len()];
        assert_eq!(w.urgent_command(&none), Some(0..5));
        let w = Words::new("what is my balance right now");
        assert!(w.urgent_command(&vec![false; w.tokens.len()]).is_none());
        let w = Words::new("please block my card right now");
        assert!(w.urgent_command(&vec![false; w.tokens.len()]).is_none());
    }

    #[test]
    fn repeated_commands_are_found_across_clauses() {
        let w = Words::new("Close my account, close it today");
        assert_eq!(w.repeated_command(0), Some("close".to_string()));
        let w = Words::new("I'd like to close my account, can I close it online?");
        assert_eq!(w.repeated_command(0), None, "polite");
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
    fn chinese_units_are_pairs_within_a_run() {
        let units = Words::new("宽带，断了").units();
        assert_eq!(units, ["宽带", "断"]);
    }

    #[test]
    fn emphasis_finds_a_repeated_pair() {
        let units = Words::new("two weeks, two weeks I have waited").units();
        assert_eq!(emphasis(&units), Some("two weeks".to_string()));
        let units = Words::new("my phone is broken").units();
        assert_eq!(emphasis(&units), None);
    }

    #[test]
    fn ramp_is_clamped() {
        assert_eq!(ramp(0.0, (1.0, 2.0)), 0.0);
        assert_eq!(ramp(1.5, (1.0, 2.0)), 0.5);
        assert_eq!(ramp(9.0, (1.0, 2.0)), 1.0);
    }

    #[test]
    fn tiers_add_up_to_a_cap() {
        assert_eq!(tiered(0, (1.0, 0.5, 1.8)), 0.0);
        assert_eq!(tiered(2, (1.0, 0.5, 1.8)), 1.5);
        assert_eq!(tiered(5, (1.0, 0.5, 1.8)), 1.8);
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
    fn pitch_is_judged_against_the_likely_sex() {
        let tracker = AgitationTracker::default();
        let strength = |hz: f32| -> f32 {
            tracker
                .absolute_voice(&Voice {
                    loudness_dbfs: -25.0,
                    pitch_hz: Some(hz),
                    syllable_rate: None,
                })
                .iter()
                .map(|(p, _)| p)
                .sum()
        };
        // 150 Hz is high for a man; 220 Hz is ordinary for a woman.
        assert!(
            strength(150.0) > strength(220.0),
            "{} {}",
            strength(150.0),
            strength(220.0)
        );
        assert_eq!(strength(220.0), 0.0);
    }

    #[test]
    fn supporting_words_need_other_evidence() {
        let mut calm_t = AgitationTracker::default();
        calm_t.score("hello I have a question", &calm(), None);
        let quiet = calm_t.score("I want to make a complaint", &calm(), Some("complaint"));
        assert!(quiet.score < 0.1, "{quiet:?}");

        let mut loud_t = AgitationTracker::default();
        loud_t.score("hello I have a question", &calm(), None);
        let loud = loud_t.score(
            "I want to make a complaint",
            &voice(-17.0, 150.0, 5.4),
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
        assert_eq!(a.reasons.len(), 3, "{a:?}");
        assert!(a.reasons[0].starts_with("angry words") || a.reasons[0].starts_with("swearing"));
        assert!(a.reasons[2].starts_with("says they are"));
    }
}
