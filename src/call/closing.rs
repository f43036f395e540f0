//! "No, that's all, thanks": a caller who has been helped and asked whether
//! there is anything else, saying there is not. The router has no intent
//! for it (it is not a request), so without this the call would ask them to
//! clarify and finally queue them for a person they do not want.
//!
//! A reply counts only when it is short, says no / thanks / bye, and
//! carries nothing else: "no, but I also want to pay my bill" is a request.

use crate::brain::text;

/// Longest closing reply, in words; longer speech is treated as a request.
const MAX_WORDS: usize = 8;

/// Words that on their own close the conversation.
const EN_CLOSERS: &[&str] = &[
    "bye", "done", "goodbye", "nah", "no", "nope", "nothing", "thank", "thanks",
];

/// Words that may come with a closer without adding a request.
const EN_FILLERS: &[&str] = &[
    "a",
    "all",
    "alright",
    "am",
    "appreciate",
    "are",
    "be",
    "cheers",
    "day",
    "else",
    "fine",
    "for",
    "good",
    "great",
    "have",
    "i",
    "is",
    "it",
    "lot",
    "much",
    "now",
    "oh",
    "ok",
    "okay",
    "perfect",
    "right",
    "set",
    "so",
    "sorry",
    "that",
    "thats",
    "the",
    "today",
    "uh",
    "um",
    "very",
    "we",
    "well",
    "will",
    "you",
    "your",
];

/// Mandarin closers (no, no need, that's it, thanks, bye), longest first.
const ZH_CLOSERS: &[&str] = &[
    "没有别的了",
    "没别的了",
    "没有了",
    "不用了",
    "不需要",
    "就这样",
    "没事了",
    "可以了",
    "谢谢",
    "再见",
    "拜拜",
    "没有",
    "没了",
    "不用",
];

/// Mandarin particles and politeness that add nothing.
const ZH_FILLERS: &[&str] = &[
    "好的", "你", "您", "了", "吧", "啊", "嗯", "哦", "呃", "的", "好", "啦", "呀", "哈",
];

/// True when `said` only tells the engine the caller needs nothing more.
pub(crate) fn is_closing(said: &str) -> bool {
    let normal = text::normalize(said);
    if normal.chars().any(text::is_cjk) {
        return is_closing_zh(&normal);
    }
    let words: Vec<&str> = normal.split_whitespace().collect();
    !words.is_empty()
        && words.len() <= MAX_WORDS
        && words.iter().any(|w| EN_CLOSERS.contains(w))
        && words
            .iter()
            .all(|w| EN_CLOSERS.contains(w) || EN_FILLERS.contains(w))
}

fn is_closing_zh(normal: &str) -> bool {
    let mut rest: String = normal.chars().filter(|c| !c.is_whitespace()).collect();
    if rest.chars().count() > 3 * MAX_WORDS {
        return false;
    }
    let before = rest.len();
    for phrase in ZH_CLOSERS {
        rest = rest.replace(phrase, "");
    }
    if rest.len() == before {
        return false; // no closer at all
    }
    for filler in ZH_FILLERS {
        rest = rest.replace(filler, "");
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_no_and_thanks_close_the_call() {
        for said in [
            "No.",
            "No, that's all, thanks.",
            "Nope, I'm good. Thank you so much!",
            "No thank you, bye.",
            "Thanks, that's it.",
            "Uh, no, nothing else. Have a good day",
            "没有了，谢谢。",
            "不用了，再见",
            "好的，谢谢您",
        ] {
            assert!(is_closing(said), "{said}");
        }
    }

    #[test]
    fn requests_and_yes_do_not() {
        for said in [
            "",
            "Yes.",
            "Yes, I want to pay my bill.",
            "No, but my internet is down.",
            "No, I want to speak to an agent.",
            "Thanks, can you also check my balance?",
            "我还想查一下余额",
            "不用，我要转人工",
            "好的",
        ] {
            assert!(!is_closing(said), "{said}");
        }
    }
}
