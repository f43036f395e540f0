//! What a caller waiting in a queue is told: their position and expected
//! wait, the callback offer and its confirmation.
//!
//! In English, with a sound folder laid out like Asterisk's core sounds
//! (`queue-thereare.wav`, `digits/12.wav`, ...), the position announcement
//! is said with real recordings: the call asks for each piece and plays
//! them joined as one prompt. In Mandarin, without a folder, or once a
//! recording failed to load, the same content is rendered from text in
//! short lines (position, wait, thanks), so the renderer's cache holds a
//! few lines per position and per minute rather than one per combination.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::brain::asr::Language;

use super::prompts::Line;

/// Below this the wait is "less than a minute"; above, whole minutes.
const MINUTE_MS: u64 = 60_000;
/// Numbers up to this are said with recordings (`digits/hundred.wav` and
/// below); a larger one makes the announcement fall back to text.
const MAX_RECORDED_NUMBER: u64 = 999;

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// The recordings besides the numbers: (file stem, what it says).
const YOU_ARE_NEXT: (&str, &str) = (
    "queue-youarenext",
    "Your call is now first in line and will be answered by the next available representative.",
);
const THERE_ARE: (&str, &str) = ("queue-thereare", "You are currently caller number");
const CALLS_WAITING: (&str, &str) = (
    "queue-callswaiting",
    "waiting to speak with a representative.",
);
const HOLD_TIME: (&str, &str) = ("queue-holdtime", "The estimated hold time is currently");
const LESS_THAN: (&str, &str) = ("queue-less-than", "less than");
const MINUTE: (&str, &str) = ("queue-minute", "minute.");
const MINUTES: (&str, &str) = ("queue-minutes", "minutes.");
const THANK_YOU: (&str, &str) = ("queue-thankyou", "Thank you for your patience.");
const WORDS: [(&str, &str); 8] = [
    YOU_ARE_NEXT,
    THERE_ARE,
    CALLS_WAITING,
    HOLD_TIME,
    LESS_THAN,
    MINUTE,
    MINUTES,
    THANK_YOU,
];

/// A position-and-wait announcement, ready to queue.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Announcement {
    /// The recorded version: one line whose audio is its pieces' audio
    /// joined, and the pieces to ask for. `None`: say it from text.
    pub recorded: Option<(Line, Vec<Line>)>,
    /// The text version, also what plays when a recording fails.
    pub text: Vec<Line>,
}

/// "You are caller number 3. The estimated hold time is about 2 minutes."
/// `sounds`: the recordings' folder, used in English only.
pub(crate) fn position(
    language: Language,
    sounds: Option<&Path>,
    position: usize,
    expected_wait_ms: u64,
) -> Announcement {
    let position = position.max(1) as u64;
    let minutes = wait_minutes(expected_wait_ms);
    let recorded = sounds
        .filter(|_| language == Language::En)
        .and_then(|dir| recorded(dir, position, minutes));
    Announcement {
        recorded,
        text: text_lines(language, position, minutes),
    }
}

/// The callback offer. No core recording says it, so it is rendered.
pub(crate) fn offer_callback(language: Language) -> Line {
    let text = match language {
        Language::En => "Press 1 to keep your place and get a call back when an agent is free.",
        Language::Zh => "按1键，保留您的排队位置，客服有空时我们给您回电。",
    };
    text_line(language, "offer_callback", text, true)
}

/// Said once the queue took the callback, just before the engine hangs up.
pub(crate) fn callback_confirmed(language: Language) -> Line {
    let text = match language {
        Language::En => "We will call you back at this number. Goodbye.",
        Language::Zh => "我们会按这个号码给您回电。再见。",
    };
    text_line(language, "callback_confirmed", text, false)
}

/// The files (relative to the sound folder) an announcement may use, so
/// the runtime can check a folder before handing it to calls.
pub fn announcement_sounds() -> Vec<PathBuf> {
    let numbers = (0..20)
        .chain((20..100).step_by(10))
        .map(|n| format!("digits/{n}"))
        .chain(["digits/hundred".to_string()]);
    WORDS
        .iter()
        .map(|(stem, _)| stem.to_string())
        .chain(numbers)
        .map(|stem| PathBuf::from(format!("{stem}.wav")))
        .collect()
}

/// The queue lines that do not depend on the position, as `(key, text,
/// wav)`, for rendering at startup: the recordings (English with a sound
/// folder), the callback lines and the text pieces shared by every
/// announcement.
pub fn queue_prompts(
    language: Language,
    sounds_dir: Option<&Path>,
) -> Vec<(String, String, Option<PathBuf>)> {
    let mut lines: Vec<Line> = Vec::new();
    if let Some(dir) = sounds_dir.filter(|_| language == Language::En) {
        lines.extend(WORDS.iter().map(|&w| piece(dir, w)));
        let numbers = (0..20).chain((20..100).step_by(10));
        lines.extend(numbers.flat_map(|n| number_pieces(dir, n).unwrap_or_default()));
        lines.extend(number_pieces(dir, 100).unwrap_or_default().pop());
    }
    lines.push(wait_line(language, 0));
    lines.push(thanks_line(language));
    lines.push(offer_callback(language));
    lines.push(callback_confirmed(language));
    lines.into_iter().map(|l| (l.key, l.text, l.wav)).collect()
}

/// Whole minutes, rounded to the nearest; 0 means "less than a minute".
fn wait_minutes(ms: u64) -> u64 {
    if ms < MINUTE_MS {
        0
    } else {
        (ms + MINUTE_MS / 2) / MINUTE_MS
    }
}

/// The recorded pieces, as Asterisk's queue says them.
fn recorded(dir: &Path, position: u64, minutes: u64) -> Option<(Line, Vec<Line>)> {
    let mut pieces = Vec::new();
    if position == 1 {
        pieces.push(piece(dir, YOU_ARE_NEXT));
    } else {
        pieces.push(piece(dir, THERE_ARE));
        pieces.extend(number_pieces(dir, position)?);
        pieces.push(piece(dir, CALLS_WAITING));
    }
    pieces.push(piece(dir, HOLD_TIME));
    match minutes {
        0 => {
            pieces.push(piece(dir, LESS_THAN));
            pieces.extend(number_pieces(dir, 1)?);
            pieces.push(piece(dir, MINUTE));
        }
        1 => {
            pieces.extend(number_pieces(dir, 1)?);
            pieces.push(piece(dir, MINUTE));
        }
        n => {
            pieces.extend(number_pieces(dir, n)?);
            pieces.push(piece(dir, MINUTES));
        }
    }
    pieces.push(piece(dir, THANK_YOU));
    let text = pieces
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let line = Line {
        key: format!("en:queue:recorded:{position}:{minutes}"),
        text,
        wav: None,
        interruptible: false,
    };
    Some((line, pieces))
}

/// "one hundred twenty three" as recordings; `None` above 999.
fn number_pieces(dir: &Path, n: u64) -> Option<Vec<Line>> {
    if n > MAX_RECORDED_NUMBER {
        return None;
    }
    let digit = |n: u64, words: &str| {
        let stem = format!("digits/{n}");
        piece(dir, (stem.as_str(), words))
    };
    let mut out = Vec::new();
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        out.push(digit(hundreds, ONES[hundreds as usize]));
        out.push(piece(dir, ("digits/hundred", "hundred")));
    }
    if rest < 20 {
        if rest > 0 || hundreds == 0 {
            out.push(digit(rest, ONES[rest as usize]));
        }
    } else {
        let (tens, ones) = (rest / 10, rest % 10);
        out.push(digit(tens * 10, TENS[tens as usize]));
        if ones > 0 {
            out.push(digit(ones, ONES[ones as usize]));
        }
    }
    Some(out)
}

fn piece(dir: &Path, (stem, words): (&str, &str)) -> Line {
    Line {
        key: format!("en:sound:{stem}"),
        text: words.to_string(),
        wav: Some(dir.join(format!("{stem}.wav"))),
        interruptible: false,
    }
}

fn text_lines(language: Language, position: u64, minutes: u64) -> Vec<Line> {
    let said = match (language, position) {
        (Language::En, 1) => "You are next in line.".to_string(),
        (Language::En, n) => format!("You are caller number {n}."),
        (Language::Zh, 1) => "下一位就是您。".to_string(),
        (Language::Zh, n) => format!("您现在排在第{n}位。"),
    };
    vec![
        text_line(language, &format!("position:{position}"), &said, false),
        wait_line(language, minutes),
        thanks_line(language),
    ]
}

fn wait_line(language: Language, minutes: u64) -> Line {
    let said = match (language, minutes) {
        (Language::En, 0) => "The estimated hold time is less than a minute.".to_string(),
        (Language::En, 1) => "The estimated hold time is about 1 minute.".to_string(),
        (Language::En, n) => format!("The estimated hold time is about {n} minutes."),
        (Language::Zh, 0) => "预计等待时间不到一分钟。".to_string(),
        (Language::Zh, n) => format!("预计等待时间大约{n}分钟。"),
    };
    text_line(language, &format!("wait:{minutes}"), &said, false)
}

fn thanks_line(language: Language) -> Line {
    let said = match language {
        Language::En => "Thank you for your patience.",
        Language::Zh => "感谢您的耐心等待。",
    };
    text_line(language, "thanks", said, false)
}

fn text_line(language: Language, name: &str, text: &str, interruptible: bool) -> Line {
    Line {
        key: format!("{}:queue:{name}", language.code()),
        text: text.to_string(),
        wav: None,
        interruptible,
    }
}

/// What became of a recorded announcement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Assembled {
    /// Every piece is there: the line's audio is theirs, joined.
    Ready { key: String, audio: Arc<[i16]> },
    /// A piece came back empty (file missing or unreadable): the
    /// announcement must be said from text.
    Failed { key: String, text: Vec<Line> },
}

#[derive(Debug, Clone)]
struct Pending {
    key: String,
    pieces: Vec<String>,
    text: Vec<Line>,
}

/// Recorded announcements waiting for their pieces' audio.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    pending: Vec<Pending>,
}

impl Assembler {
    pub fn add(&mut self, line: &Line, pieces: &[Line], text: Vec<Line>) {
        self.pending.push(Pending {
            key: line.key.clone(),
            pieces: pieces.iter().map(|p| p.key.clone()).collect(),
            text,
        });
    }

    /// Whether `key` is an announcement this assembler will provide (so
    /// nobody should ask the runtime for it).
    pub fn is_pending(&self, key: &str) -> bool {
        self.pending.iter().any(|p| p.key == key)
    }

    /// Finishes what the audio received so far allows.
    pub fn poll(&mut self, audio: &HashMap<String, Arc<[i16]>>) -> Vec<Assembled> {
        let mut done = Vec::new();
        self.pending.retain(|p| {
            let parts: Option<Vec<&Arc<[i16]>>> = p.pieces.iter().map(|k| audio.get(k)).collect();
            let Some(parts) = parts else {
                return true; // still waiting
            };
            if parts.iter().any(|a| a.is_empty()) {
                done.push(Assembled::Failed {
                    key: p.key.clone(),
                    text: p.text.clone(),
                });
            } else {
                let joined: Vec<i16> = parts.iter().flat_map(|a| a.iter().copied()).collect();
                done.push(Assembled::Ready {
                    key: p.key.clone(),
                    audio: joined.into(),
                });
            }
            false
        });
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(a: &Announcement) -> Vec<String> {
        let (_, pieces) = a.recorded.as_ref().expect("recorded");
        pieces
            .iter()
            .map(|p| {
                let wav = p.wav.as_ref().unwrap();
                let rel = wav.strip_prefix("/snd").unwrap().with_extension("");
                rel.to_string_lossy().into_owned()
            })
            .collect()
    }

    #[test]
    fn numbers_are_said_as_recorded_words() {
        let words = |n| {
            number_pieces(Path::new("/snd"), n)
                .unwrap()
                .into_iter()
                .map(|l| l.text)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(words(0), "zero");
        assert_eq!(words(7), "seven");
        assert_eq!(words(12), "twelve");
        assert_eq!(words(40), "forty");
        assert_eq!(words(45), "forty five");
        assert_eq!(words(100), "one hundred");
        assert_eq!(words(213), "two hundred thirteen");
        assert_eq!(words(999), "nine hundred ninety nine");
        assert!(number_pieces(Path::new("/snd"), 1000).is_none());
    }

    #[test]
    fn every_recording_used_is_in_the_list_to_check() {
        let listed = announcement_sounds();
        for position in [1, 2, 12, 99, 100, 345, 999] {
            for wait in [0, 30_000, 90_000, 600_000, 7_200_000] {
                let a = position_of(position, wait);
                for stem in stems(&a) {
                    let file = PathBuf::from(format!("{stem}.wav"));
                    assert!(listed.contains(&file), "{file:?} not listed");
                }
            }
        }
    }

    fn position_of(position: usize, wait: u64) -> Announcement {
        super::position(Language::En, Some(Path::new("/snd")), position, wait)
    }

    #[test]
    fn first_in_line_and_a_short_wait() {
        let a = position_of(1, 30_000);
        assert_eq!(
            stems(&a),
            [
                "queue-youarenext",
                "queue-holdtime",
                "queue-less-than",
                "digits/1",
                "queue-minute",
                "queue-thankyou"
            ]
        );
        let texts: Vec<_> = a.text.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "You are next in line.",
                "The estimated hold time is less than a minute.",
                "Thank you for your patience."
            ]
        );
    }

    #[test]
    fn later_in_line_rounds_the_wait_to_minutes() {
        let a = position_of(12, 10 * 60_000 + 20_000);
        assert_eq!(
            stems(&a),
            [
                "queue-thereare",
                "digits/12",
                "queue-callswaiting",
                "queue-holdtime",
                "digits/10",
                "queue-minutes",
                "queue-thankyou"
            ]
        );
        let (line, _) = a.recorded.unwrap();
        assert_eq!(line.key, "en:queue:recorded:12:10");
        assert!(line.text.contains("caller number twelve"), "{}", line.text);
        assert_eq!(
            a.text[1].text,
            "The estimated hold time is about 10 minutes."
        );
        assert_eq!(wait_minutes(90_000), 2);
        assert_eq!(wait_minutes(60_000), 1);
        assert_eq!(wait_minutes(59_999), 0);
    }

    #[test]
    fn mandarin_and_no_folder_are_text_only() {
        let zh = position(Language::Zh, Some(Path::new("/snd")), 3, 120_000);
        assert!(zh.recorded.is_none());
        assert_eq!(zh.text[0].text, "您现在排在第3位。");
        assert_eq!(zh.text[1].text, "预计等待时间大约2分钟。");
        assert!(zh.text.iter().all(|l| l.key.starts_with("zh:queue:")));
        let en = position(Language::En, None, 3, 120_000);
        assert!(en.recorded.is_none());
        assert_eq!(en.text[0].key, "en:queue:position:3");
        assert_eq!(en.text[1].key, "en:queue:wait:2");
    }

    #[test]
    fn pieces_are_joined_or_the_text_is_used() {
        let a = position_of(3, 120_000);
        let (line, pieces) = a.recorded.clone().unwrap();
        let mut asm = Assembler::default();
        asm.add(&line, &pieces, a.text.clone());
        assert!(asm.is_pending(&line.key));
        let mut audio: HashMap<String, Arc<[i16]>> = HashMap::new();
        for (i, p) in pieces.iter().enumerate().skip(1) {
            audio.insert(p.key.clone(), vec![i as i16; 3].into());
        }
        assert!(asm.poll(&audio).is_empty(), "one piece still missing");
        audio.insert(pieces[0].key.clone(), vec![0; 3].into());
        let done = asm.poll(&audio);
        let Assembled::Ready { key, audio: joined } = &done[0] else {
            panic!("{done:?}");
        };
        assert_eq!(*key, line.key);
        assert_eq!(joined.len(), 3 * pieces.len());
        assert_eq!(&joined[3..6], &[1, 1, 1]);
        assert!(!asm.is_pending(&line.key));

        asm.add(&line, &pieces, a.text.clone());
        audio.insert(pieces[1].key.clone(), Arc::from(Vec::new()));
        assert_eq!(
            asm.poll(&audio),
            [Assembled::Failed {
                key: line.key,
                text: a.text
            }]
        );
    }

    #[test]
    fn startup_prompts_cover_the_shared_lines() {
        let en = queue_prompts(Language::En, Some(Path::new("/snd")));
        assert_eq!(
            en.iter().filter(|(_, _, wav)| wav.is_some()).count(),
            announcement_sounds().len()
        );
        let zh = queue_prompts(Language::Zh, Some(Path::new("/snd")));
        assert!(
            zh.iter()
                .all(|(k, _, wav)| wav.is_none() && k.starts_with("zh:"))
        );
        assert!(zh.iter().any(|(k, _, _)| k == "zh:queue:offer_callback"));
    }
}
