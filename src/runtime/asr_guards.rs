//! Pure checks around a Whisper call: is there anything to transcribe, how
//! big an encoder window the utterance needs, and which outputs are
//! Whisper's known failure modes (runaway repetition, phrases it invents on
//! silence, caption annotations) rather than what the caller said.

use crate::brain::asr::Language;

pub const SAMPLE_RATE: usize = 16_000;
/// Loudness is judged on 20 ms frames (one encoder position each).
const FRAME: usize = SAMPLE_RATE / 50;
/// Loudest frame below this: nothing worth running the model on.
const SILENCE_DBFS: f32 = -50.0;
/// Loudest frame below this: too quiet to trust a stock phrase.
const QUIET_DBFS: f32 = -35.0;
/// Frames within this much of the loudest one count as voiced.
const VOICED_RANGE_DB: f32 = 20.0;
/// Less voiced audio than this cannot carry a real sentence.
const MIN_VOICED_S: f32 = 0.3;
/// Whisper's own threshold on its no-speech token.
pub const NO_SPEECH: f32 = 0.6;
/// Above this no-speech probability a stock phrase is taken as invented.
const NO_SPEECH_SUSPECT: f32 = 0.4;

/// How loud an utterance is, measured on 20 ms frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioLevel {
    pub duration_s: f32,
    pub peak_dbfs: f32,
    pub voiced_s: f32,
}

impl AudioLevel {
    pub fn measure(pcm: &[f32]) -> AudioLevel {
        let frame_db: Vec<f32> = pcm
            .chunks(FRAME)
            .map(|f| {
                let power = f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32;
                10.0 * power.max(1e-12).log10()
            })
            .collect();
        let peak_dbfs = frame_db.iter().copied().fold(-120.0, f32::max);
        let voiced = frame_db
            .iter()
            .filter(|&&db| db > SILENCE_DBFS && db >= peak_dbfs - VOICED_RANGE_DB)
            .count();
        AudioLevel {
            duration_s: pcm.len() as f32 / SAMPLE_RATE as f32,
            peak_dbfs,
            voiced_s: voiced as f32 * FRAME as f32 / SAMPLE_RATE as f32,
        }
    }

    /// Nothing audible: skip the model entirely.
    pub fn is_silence(&self) -> bool {
        self.peak_dbfs < SILENCE_DBFS || self.voiced_s < 0.06
    }

    /// Audible but too quiet or too brief for a confident transcript.
    pub fn is_weak(&self) -> bool {
        self.peak_dbfs < QUIET_DBFS || self.voiced_s < MIN_VOICED_S
    }
}

/// Encoder positions for an utterance: the audio plus a margin, never below
/// ~4 s (shorter windows make Whisper loop), rounded up to a multiple of 64.
/// `None` means "use the full 30 s window" (long audio or no gain).
pub fn trimmed_audio_ctx(duration_s: f32, full_ctx: usize) -> Option<usize> {
    const MARGIN_S: f32 = 1.0;
    const MIN_S: f32 = 4.0;
    let per_second = full_ctx as f32 / 30.0;
    let needed = ((duration_s + MARGIN_S).max(MIN_S) * per_second).ceil() as usize;
    let rounded = needed.div_ceil(64) * 64;
    (rounded < full_ctx).then_some(rounded)
}

/// The window for a second try after a trimmed window ran away: at least
/// 2 s wider than the first (`None`: the full window). Any other window
/// breaks most loops; on `ivr bench asr` this one recovered the same words
/// as one twice the audio plus 4 s, and cut recognition's p95 from 759 to
/// 588 ms (the retries were its slowest runs).
pub fn retry_audio_ctx(duration_s: f32, full_ctx: usize) -> Option<usize> {
    trimmed_audio_ctx((duration_s + 2.0).max(6.0), full_ctx)
}

/// Token budget for an utterance; hitting it means the decoder ran away.
/// Fast speech is ~4 English words or ~6 Chinese characters a second, each
/// one or two tokens.
pub fn max_tokens(duration_s: f32) -> usize {
    (duration_s * 12.0).ceil() as usize + 12
}

/// A span of at least this many tokens said twice back to back is a loop
/// (the token twin of [`LONG_NGRAM_WORDS`]).
const LONG_LOOP_TOKENS: usize = 6;

/// Whether decoded tokens end in a runaway loop: one span of
/// [`LONG_LOOP_TOKENS`] or more twice, or any span more than [`MAX_REPEATS`]
/// times, back to back. The same rule as [`collapse_repetition`], on tokens,
/// so decoding can stop at the loop instead of running to the token budget.
pub fn loops_at_tail(ids: &[i32]) -> bool {
    let n = ids.len();
    (1..=n / 2).any(|k| {
        let unit = &ids[n - k..];
        let copies = 1
            + (1..=n / k - 1)
                .take_while(|c| &ids[n - (c + 1) * k..n - c * k] == unit)
                .count();
        copies > MAX_REPEATS || (copies >= 2 && k >= LONG_LOOP_TOKENS)
    })
}

/// A word (or one CJK character) and whether a space preceded it.
#[derive(Debug, Clone, PartialEq)]
struct Unit<'a> {
    text: &'a str,
    spaced: bool,
}

fn is_cjk(c: char) -> bool {
    matches!(u32::from(c), 0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

fn units(text: &str) -> Vec<Unit<'_>> {
    let mut out = Vec::new();
    // Start of the word being read, and whether a space came before it.
    let mut word: Option<usize> = None;
    let mut spaced = false;
    for (i, c) in text.char_indices() {
        let ends_word = c.is_whitespace() || is_cjk(c);
        if ends_word && let Some(start) = word.take() {
            out.push(Unit {
                text: &text[start..i],
                spaced,
            });
            spaced = false;
        }
        if c.is_whitespace() {
            spaced = true;
        } else if is_cjk(c) {
            out.push(Unit {
                text: &text[i..i + c.len_utf8()],
                spaced,
            });
            spaced = false;
        } else if word.is_none() {
            word = Some(i);
        }
    }
    if let Some(start) = word {
        out.push(Unit {
            text: &text[start..],
            spaced,
        });
    }
    out
}

/// Words compare without case and punctuation ("Yes," == "yes").
fn key(unit: &str) -> String {
    unit.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Most times an n-gram may repeat back to back before it is a runaway loop.
const MAX_REPEATS: usize = 3;
const MAX_NGRAM: usize = 16;
/// A whole clause said twice back to back ("I want to cancel my service. I
/// want to cancel my service.") is Whisper looping, not the caller: people
/// repeat a demand with variation ("cancel it, cancel my account"), and the
/// repetition the agitation detector cares about spans utterances.
const LONG_NGRAM_WORDS: usize = 5;
const LONG_NGRAM_CJK: usize = 8;

fn loops(gram: &[String], copies: usize) -> bool {
    let cjk = gram.iter().all(|k| k.chars().all(is_cjk));
    let long = if cjk {
        LONG_NGRAM_CJK
    } else {
        LONG_NGRAM_WORDS
    };
    copies > MAX_REPEATS || (copies >= 2 && gram.len() >= long)
}

/// Collapses any n-gram repeated more than three times in a row, or a clause
/// repeated twice, to one copy. Returns the cleaned text and whether anything
/// was collapsed.
pub fn collapse_repetition(text: &str) -> (String, bool) {
    let units = units(text);
    let keys: Vec<String> = units.iter().map(|u| key(u.text)).collect();
    let mut kept: Vec<&Unit> = Vec::new();
    let mut collapsed = false;
    let mut i = 0;
    while i < units.len() {
        let run = (1..=MAX_NGRAM).find_map(|n| {
            let gram = keys.get(i..i + n)?;
            if gram.iter().all(String::is_empty) {
                return None;
            }
            let copies = (0..)
                .take_while(|c| keys.get(i + c * n..i + (c + 1) * n) == Some(gram))
                .count();
            loops(gram, copies).then_some((n, copies))
        });
        match run {
            Some((n, copies)) => {
                kept.extend(&units[i..i + n]);
                i += n * copies;
                collapsed = true;
            }
            None => {
                kept.push(&units[i]);
                i += 1;
            }
        }
    }
    let mut out = String::new();
    for u in kept {
        if u.spaced && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(u.text);
    }
    (out, collapsed)
}

/// Removes caption-style annotations Whisper emits for non-speech:
/// `[BLANK_AUDIO]`, `(music)`, `*sighs*`, `♪`.
pub fn strip_annotations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut closer: Option<char> = None;
    for c in text.chars() {
        match closer {
            Some(end) if c == end => closer = None,
            Some(_) => {}
            None => match c {
                '[' => closer = Some(']'),
                '(' => closer = Some(')'),
                '（' => closer = Some('）'),
                '*' => closer = Some('*'),
                '♪' | '♫' | '♬' => {}
                _ => out.push(c),
            },
        }
    }
    let tidy = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if tidy.chars().any(char::is_alphanumeric) {
        tidy
    } else {
        String::new()
    }
}

/// Phrases Whisper is known to produce on silence or noise (learnt from
/// video captions), compared by [`key`] of the whole text.
const STOCK_PHRASES: &[&str] = &[
    "you",
    "thank you",
    "thanks",
    "thank you very much",
    "thank you so much",
    "thanks for watching",
    "thank you for watching",
    "thank you so much for watching",
    "thanks for listening",
    "thank you for listening",
    "please subscribe",
    "like and subscribe",
    "bye",
    "the end",
    "谢谢",
    "谢谢观看",
    "感谢观看",
    "谢谢大家",
    "谢谢收看",
    "请订阅",
    "请订阅我的频道",
];

/// Caption credits are never a caller's words, whatever the audio.
const CREDIT_MARKERS: &[&str] = &["amaraorg", "字幕由", "字幕志愿者", "明镜与点点", "点赞订阅"];

/// Whisper's own silence rule (as in its reference `transcribe`): the
/// no-speech token is likely and the words themselves are unsure.
pub fn is_no_speech(no_speech_prob: f32, avg_logprob: f32) -> bool {
    no_speech_prob > NO_SPEECH && avg_logprob < -1.0
}

/// True when `text` is most likely invented rather than heard.
pub fn is_hallucination(text: &str, level: &AudioLevel, no_speech_prob: f32) -> bool {
    let k = key(text);
    if CREDIT_MARKERS.iter().any(|m| k.contains(m)) {
        return true;
    }
    let stock = STOCK_PHRASES.iter().any(|p| key(p) == k);
    stock && (level.is_weak() || no_speech_prob > NO_SPEECH_SUSPECT)
}

/// Chinese output in simplified characters, with full-width letters and
/// digits (which Whisper sometimes emits in Chinese text) made ASCII so
/// later number and keyword matching sees one spelling.
pub fn to_simplified(text: &str, language: Language) -> String {
    match language {
        Language::Zh => fast2s::convert(text)
            .chars()
            .map(|c| match c {
                '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                    char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
                }
                _ => c,
            })
            .collect(),
        Language::En => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f32, amplitude: f32) -> Vec<f32> {
        (0..(seconds * SAMPLE_RATE as f32) as usize)
            .map(|i| amplitude * (i as f32 * 0.1).sin())
            .collect()
    }

    #[test]
    fn level_separates_silence_quiet_and_speechlike_audio() {
        let silent = AudioLevel::measure(&vec![0.0; SAMPLE_RATE]);
        assert!(silent.is_silence());
        let hiss = AudioLevel::measure(&tone(1.0, 0.001)); // about -63 dBFS
        assert!(hiss.is_silence());
        let quiet = AudioLevel::measure(&tone(1.0, 0.02)); // about -37 dBFS
        assert!(!quiet.is_silence() && quiet.is_weak());
        let loud = AudioLevel::measure(&tone(1.0, 0.3));
        assert!(!loud.is_silence() && !loud.is_weak());
        assert!((loud.voiced_s - 1.0).abs() < 0.03);
        // A click inside silence: loud but too brief to be speech.
        let mut click = vec![0.0; SAMPLE_RATE];
        click[100..400].iter_mut().for_each(|s| *s = 0.5);
        let click = AudioLevel::measure(&click);
        assert!(click.is_weak());
        assert_eq!(AudioLevel::measure(&[]).duration_s, 0.0);
    }

    #[test]
    fn audio_ctx_covers_the_utterance_with_a_floor_and_64_alignment() {
        assert_eq!(trimmed_audio_ctx(1.0, 1500), Some(256)); // 4 s floor = 200 -> 256
        assert_eq!(trimmed_audio_ctx(3.0, 1500), Some(256));
        assert_eq!(trimmed_audio_ctx(8.0, 1500), Some(512)); // 9 s = 450 -> 512
        for d in [0.5f32, 2.0, 5.5, 12.0, 20.0] {
            let ctx = trimmed_audio_ctx(d, 1500).unwrap();
            assert!(ctx as f32 >= (d + 1.0) * 50.0 && ctx.is_multiple_of(64));
        }
        assert_eq!(trimmed_audio_ctx(29.5, 1500), None);
        assert_eq!(retry_audio_ctx(2.0, 1500), Some(384)); // 6 s + 1 s margin -> 350
        assert!(retry_audio_ctx(5.0, 1500) > trimmed_audio_ctx(5.0, 1500));
        assert_eq!(retry_audio_ctx(28.0, 1500), None);
        assert_eq!(trimmed_audio_ctx(40.0, 1500), None);
    }

    #[test]
    fn token_budget_grows_with_duration() {
        assert!(max_tokens(1.0) >= 20);
        assert!(max_tokens(10.0) > max_tokens(2.0));
    }

    #[test]
    fn token_loops_are_seen_at_the_tail() {
        let clause = [10, 11, 12, 13, 14, 15];
        let twice: Vec<i32> = clause.iter().chain(&clause).copied().collect();
        assert!(loops_at_tail(&twice));
        assert!(!loops_at_tail(&clause));
        // A short phrase said twice ("six weeks, six weeks") is the caller.
        assert!(!loops_at_tail(&[1, 2, 3, 1, 2, 3]));
        assert!(loops_at_tail(&[9, 1, 2, 1, 2, 1, 2, 1, 2]));
        assert!(!loops_at_tail(&[1, 2, 1, 2, 1, 2, 7]));
        assert!(!loops_at_tail(&[]));
    }

    #[test]
    fn runaway_repetition_collapses_to_one_copy() {
        let (text, hit) = collapse_repetition("I want to pay my bill bill bill bill bill");
        assert_eq!((text.as_str(), hit), ("I want to pay my bill", true));
        let (text, hit) = collapse_repetition(
            "check my balance. Check my balance, check my balance check my balance please",
        );
        assert_eq!((text.as_str(), hit), ("check my balance. please", true));
        let (text, hit) = collapse_repetition("我想查询余额余额余额余额余额");
        assert_eq!((text.as_str(), hit), ("我想查询余额", true));
        let (text, hit) = collapse_repetition(
            "I want to cancel my service. I want to cancel my service. Are you listening?",
        );
        assert_eq!(
            (text.as_str(), hit),
            ("I want to cancel my service. Are you listening?", true)
        );
    }

    #[test]
    fn ordinary_text_and_three_repeats_are_kept() {
        for t in [
            "no no no",
            "yes please",
            "cancel it, cancel it now",
            "I want a person, I want a person",
            "我想查询我的账户余额",
            "press 1 2 3",
            "",
        ] {
            assert_eq!(collapse_repetition(t), (t.to_string(), false), "{t}");
        }
        let (text, _) = collapse_repetition("我要 check 一下");
        assert_eq!(text, "我要 check 一下");
    }

    #[test]
    fn annotations_are_removed() {
        assert_eq!(strip_annotations("[BLANK_AUDIO]"), "");
        assert_eq!(strip_annotations(" (music) ♪ "), "");
        assert_eq!(
            strip_annotations("Hello *coughs* there [noise]"),
            "Hello there"
        );
        assert_eq!(strip_annotations("账户（笑）余额"), "账户余额");
        assert_eq!(strip_annotations("..."), "");
    }

    #[test]
    fn stock_phrases_are_dropped_only_on_weak_or_unlikely_speech() {
        let strong = AudioLevel {
            duration_s: 1.0,
            peak_dbfs: -12.0,
            voiced_s: 0.7,
        };
        let weak = AudioLevel {
            voiced_s: 0.1,
            ..strong
        };
        assert!(is_hallucination("Thank you.", &weak, 0.0));
        assert!(is_hallucination("Thanks for watching!", &strong, 0.8));
        assert!(!is_hallucination("Thank you.", &strong, 0.05));
        assert!(!is_hallucination("I want to pay my bill", &weak, 0.9));
        assert!(is_hallucination(
            "Subtitles by the Amara.org community",
            &strong,
            0.0
        ));
        assert!(is_hallucination("谢谢观看", &weak, 0.0));
    }

    #[test]
    fn chinese_output_is_simplified() {
        assert_eq!(
            to_simplified("我想查詢我的賬戶餘額", Language::Zh),
            "我想查询我的账户余额"
        );
        assert_eq!(to_simplified("Thank you", Language::En), "Thank you");
        assert_eq!(
            to_simplified("尾号４５６Ａ，好", Language::Zh),
            "尾号456A，好"
        );
    }
}
