//! Text normalisation shared by the router, slots and agitation: lowercase,
//! strip punctuation, expand contractions, turn number words into digits, and
//! split into words (one word per character for Chinese, which has no spaces).
//!
//! Recognised speech arrives in many spellings of the same thing ("I'm",
//! "im", "I am"; "twenty five", "25"; 帳單 and 账单), so everything that reads
//! a transcript goes through [`normalize`] first and compares like with like.

/// True for CJK ideographs (and the CJK "zero" 〇), the characters that are
/// written without spaces and are split one word per character.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'   // unified ideographs
        | '\u{3400}'..='\u{4DBF}' // extension A
        | '\u{F900}'..='\u{FAFF}' // compatibility ideographs
        | '\u{3007}'              // 〇
        | '\u{20000}'..='\u{2A6DF}')
}

/// One line of text: control characters (CR, LF, tabs) become spaces and
/// runs of spaces one space. What goes into a SIP header or a summary line.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Traditional Chinese characters mapped to simplified ones (other text is
/// kept). Whisper writes Mandarin in either script.
pub fn to_simplified(text: &str) -> String {
    if !text.chars().any(is_cjk) {
        return text.to_string();
    }
    // fast2s turns 帳 into 帐, an older simplified form; callers' 账单/账户
    // (bill/account) are written 账 in modern text.
    fast2s::convert(text).replace('帐', "账")
}

/// Canonical form of a transcript: simplified Chinese, lowercase, no
/// punctuation, contractions expanded, number words as digits, single spaces,
/// CJK runs separated from Latin words by a space.
///
/// `"I'm calling about my BILL, it's twenty-five dollars!"` becomes
/// `"i am calling about my bill it is 25 dollars"`.
pub fn normalize(text: &str) -> String {
    let spaced = split_punctuation(&to_simplified(text));
    let mut out: Vec<String> = Vec::new();
    for raw in spaced.split_whitespace() {
        for word in expand_contraction(raw) {
            out.push(word);
        }
    }
    numbers_to_digits(&out).join(" ")
}

/// Words of [`normalize`]d text; every CJK character is a word of its own.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in normalize(text).split(' ').filter(|w| !w.is_empty()) {
        if word.chars().any(is_cjk) {
            out.extend(word.chars().map(String::from));
        } else {
            out.push(word.to_string());
        }
    }
    out
}

/// True for words that carry no request of their own in any domain:
/// pronouns, articles, auxiliaries, prepositions, fillers, the verbs of
/// wanting and asking that every request starts with, and light verbs
/// ("make", "take", "look") whose meaning comes from the words around them.
/// Expects [`normalize`]d words (contractions expanded).
pub fn is_function_word(word: &str) -> bool {
    FUNCTION_WORDS.binary_search(&word).is_ok()
}

/// Chinese characters that carry no request of their own (particles,
/// pronouns, "want", "please", "help me").
pub fn is_function_han(c: char) -> bool {
    FUNCTION_HAN.contains(&c)
}

/// Sorted, for binary search.
const FUNCTION_WORDS: &[&str] = &[
    "a", "about", "actually", "after", "again", "all", "also", "am", "an", "and", "another", "any",
    "anything", "are", "as", "at", "be", "because", "been", "before", "being", "but", "by", "came",
    "can", "come", "could", "did", "do", "does", "doing", "even", "find", "for", "from", "gave",
    "get", "give", "go", "going", "got", "guess", "had", "has", "have", "he", "hello", "her",
    "here", "hey", "hi", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just",
    "keep", "kind", "know", "let", "like", "look", "lot", "made", "make", "maybe", "me", "mean",
    "might", "more", "must", "my", "need", "no", "not", "now", "of", "oh", "ok", "okay", "on",
    "one", "or", "other", "our", "out", "please", "put", "really", "right", "said", "saw", "say",
    "see", "seem", "she", "should", "so", "some", "sort", "still", "stuff", "sure", "take", "tell",
    "than", "thank", "thanks", "that", "the", "their", "them", "then", "there", "these", "they",
    "thing", "think", "this", "those", "to", "too", "took", "try", "turn", "uh", "um", "up", "us",
    "very", "want", "was", "we", "well", "went", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "would", "yeah", "yes", "you", "your",
];

const FUNCTION_HAN: &[char] = &[
    '我', '的', '了', '你', '是', '吗', '呢', '啊', '吧', '一', '下', '要', '想', '请', '帮', '喂',
    '好', '在', '个', '这', '那', '们', '么', '什', '有', '就', '也', '和', '还', '给', '把', '说',
];

/// Lowercases, folds full-width forms, turns punctuation into spaces and puts
/// spaces between CJK runs and Latin words. Keeps `'` inside words (for the
/// contractions), `.` and `,` between digits ("12.50", "1,000") and spells out
/// currency and percent signs.
fn split_punctuation(text: &str) -> String {
    let chars: Vec<char> = text.chars().map(fold_width).collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut pending_unit: Option<&str> = None;
    let mut prev_cjk = false;
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let cjk = is_cjk(c);
        if cjk != prev_cjk && c.is_alphanumeric() {
            out.push(' ');
        }
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            prev_cjk = cjk;
            continue;
        }
        // A currency sign before a number is read after it: "$25" -> "25 dollars".
        if pending_unit.is_some() && !(c == '.' || c == ',') {
            out.push(' ');
            out.push_str(pending_unit.take().unwrap_or_default());
        }
        match c {
            '\'' | '’' | '‘' if prev.is_alphabetic() && next.is_alphabetic() => out.push('\''),
            '.' | ',' if prev.is_ascii_digit() && next.is_ascii_digit() => {
                if c == '.' {
                    out.push('.');
                }
            }
            '$' | '€' | '£' | '¥' | '￥' if next.is_ascii_digit() => {
                pending_unit = Some(currency_word(c));
                out.push(' ');
            }
            '%' => out.push_str(" percent "),
            '&' => out.push_str(" and "),
            '+' if next.is_ascii_digit() => out.push(' '),
            _ => out.push(' '),
        }
        prev_cjk = false;
    }
    if let Some(unit) = pending_unit {
        out.push(' ');
        out.push_str(unit);
    }
    out
}

fn currency_word(c: char) -> &'static str {
    match c {
        '€' => "euros",
        '£' => "pounds",
        '¥' | '￥' => "yuan",
        _ => "dollars",
    }
}

/// Full-width ASCII (common in Chinese transcripts: "１２３", "？") to ASCII.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// "don't" -> "do not", "it's" -> "it is", "phone's" -> "phone"; also the
/// apostrophe-less spellings recognisers produce ("dont", "im").
fn expand_contraction(word: &str) -> Vec<String> {
    let whole: Option<&[&str]> = match word {
        "can't" | "cant" | "cannot" => Some(&["can", "not"]),
        "won't" => Some(&["will", "not"]),
        "ain't" => Some(&["is", "not"]),
        "shan't" => Some(&["shall", "not"]),
        "let's" => Some(&["let", "us"]),
        // Spoken forms the recogniser writes as they sound.
        "wanna" => Some(&["want", "to"]),
        "gonna" => Some(&["going", "to"]),
        "gotta" => Some(&["got", "to"]),
        "outta" => Some(&["out", "of"]),
        "lemme" => Some(&["let", "me"]),
        "gimme" => Some(&["give", "me"]),
        "kinda" => Some(&["kind", "of"]),
        "dunno" => Some(&["do", "not", "know"]),
        "im" => Some(&["i", "am"]),
        "ive" => Some(&["i", "have"]),
        "youre" => Some(&["you", "are"]),
        "theyre" => Some(&["they", "are"]),
        "thats" => Some(&["that", "is"]),
        "whats" => Some(&["what", "is"]),
        "wheres" => Some(&["where", "is"]),
        "hows" => Some(&["how", "is"]),
        "theres" => Some(&["there", "is"]),
        _ => None,
    };
    if let Some(parts) = whole {
        return parts.iter().map(|s| s.to_string()).collect();
    }
    // Apostrophe-less negatives: "doesnt" -> "does not".
    if !word.contains('\'') {
        if let Some(stem) = word.strip_suffix("nt")
            && matches!(
                stem,
                "do" | "does"
                    | "did"
                    | "is"
                    | "are"
                    | "was"
                    | "were"
                    | "have"
                    | "has"
                    | "had"
                    | "could"
                    | "would"
                    | "should"
            )
        {
            return vec![stem.to_string(), "not".to_string()];
        }
        return vec![word.to_string()];
    }
    let (head, tail) = match word.rfind('\'') {
        Some(i) => (&word[..i], &word[i + 1..]),
        None => (word, ""),
    };
    let expanded = match tail {
        "t" if head.ends_with('n') => Some(vec![head[..head.len() - 1].to_string(), "not".into()]),
        "m" => Some(vec![head.to_string(), "am".into()]),
        "re" => Some(vec![head.to_string(), "are".into()]),
        "ve" => Some(vec![head.to_string(), "have".into()]),
        "ll" => Some(vec![head.to_string(), "will".into()]),
        "d" => Some(vec![head.to_string(), "would".into()]),
        "s" if is_s_pronoun(head) => Some(vec![head.to_string(), "is".into()]),
        // Possessive: "phone's screen" is about the phone.
        "s" => Some(vec![head.to_string()]),
        _ => None,
    };
    expanded.unwrap_or_else(|| vec![word.replace('\'', "")])
}

fn is_s_pronoun(word: &str) -> bool {
    matches!(
        word,
        "it" | "that" | "what" | "where" | "who" | "how" | "there" | "here" | "he" | "she" | "this"
    )
}

fn small_number(word: &str) -> Option<u64> {
    Some(match word {
        "zero" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" | "fourty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

fn scale(word: &str) -> Option<u64> {
    match word {
        "hundred" => Some(100),
        "thousand" => Some(1_000),
        "million" => Some(1_000_000),
        "billion" => Some(1_000_000_000),
        _ => None,
    }
}

/// Spoken numbers to digits. Digit-by-digit strings stay separate ("four five
/// six" -> "4 5 6"); compounds combine ("twenty five" -> "25", "two hundred
/// and ten" -> "210"). A lone "one" stays a word ("this one", "no one").
fn numbers_to_digits(words: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let Some((value, used)) = parse_number(words, i) else {
            out.push(words[i].clone());
            i += 1;
            continue;
        };
        let lone_one = used == 1 && words[i] == "one" && !next_is_number(words, i + 1);
        let lone_one = lone_one && !(i > 0 && is_number_token(&words[i - 1]));
        if lone_one {
            out.push(words[i].clone());
        } else {
            out.push(value.to_string());
        }
        i += used;
    }
    out
}

fn is_number_token(word: &str) -> bool {
    word.bytes().all(|b| b.is_ascii_digit()) || small_number(word).is_some()
}

fn next_is_number(words: &[String], i: usize) -> bool {
    words
        .get(i)
        .is_some_and(|w| is_number_token(w) || scale(w).is_some())
}

/// One spoken number starting at `start`: its value and how many words it took.
fn parse_number(words: &[String], start: usize) -> Option<(u64, usize)> {
    let first = words[start].as_str();
    // "a hundred", "a thousand".
    let (mut current, mut i) =
        if first == "a" && words.get(start + 1).and_then(|w| scale(w)).is_some() {
            (1u64, start + 1)
        } else {
            (small_number(first)?, start + 1)
        };
    let mut total = 0u64;
    // Last part added: units (<10), teens, tens or a scale.
    let mut last = part_kind(current);
    while i < words.len() {
        let w = words[i].as_str();
        if let Some(s) = scale(w) {
            if current == 0 && total == 0 {
                break;
            }
            if s == 100 {
                current = current.max(1) * 100;
            } else {
                total += current.max(1) * s;
                current = 0;
            }
            last = Part::Scale;
            i += 1;
            continue;
        }
        // "two hundred and ten": "and" joins only after a scale.
        let (w, skip) = if w == "and" && last == Part::Scale {
            match words.get(i + 1) {
                Some(n) if small_number(n).is_some() => (n.as_str(), 2),
                _ => break,
            }
        } else {
            (w, 1)
        };
        let Some(n) = small_number(w) else { break };
        let joins = match (last, part_kind(n)) {
            (Part::Tens, Part::Units) => true,
            (Part::Scale, _) => current % 100 == 0,
            _ => false,
        };
        if !joins {
            break;
        }
        current += n;
        last = part_kind(n);
        i += skip;
    }
    Some((total + current, i - start))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Units,
    Teens,
    Tens,
    Scale,
}

fn part_kind(n: u64) -> Part {
    match n {
        0..=9 => Part::Units,
        10..=19 => Part::Teens,
        _ => Part::Tens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_and_strips_punctuation() {
        assert_eq!(
            normalize("Hello, WORLD!!  How are you?"),
            "hello world how are you"
        );
    }

    #[test]
    fn function_words_are_sorted_and_found() {
        assert!(FUNCTION_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_function_word("your") && is_function_word("the"));
        assert!(!is_function_word("bill") && !is_function_word("roaming"));
        assert!(is_function_han('的') && !is_function_han('费'));
    }

    #[test]
    fn expands_contractions_with_and_without_apostrophes() {
        assert_eq!(
            normalize("I'm sure it's broken, don't you think"),
            "i am sure it is broken do not you think"
        );
        assert_eq!(
            normalize("im sure it doesnt work and I can't pay"),
            "i am sure it does not work and i can not pay"
        );
        assert_eq!(normalize("my phone’s screen"), "my phone screen");
        assert_eq!(
            normalize("I wanna pay, gonna be late"),
            "i want to pay going to be late"
        );
    }

    #[test]
    fn number_words_become_digits() {
        assert_eq!(normalize("twenty-five dollars"), "25 dollars");
        assert_eq!(normalize("two hundred and ten"), "210");
        assert_eq!(normalize("four five six seven"), "4 5 6 7");
        assert_eq!(normalize("a hundred bucks"), "100 bucks");
        assert_eq!(normalize("two thousand twenty four"), "2024");
        assert_eq!(normalize("I want this one"), "i want this one");
        assert_eq!(normalize("one two three"), "1 2 3");
    }

    #[test]
    fn keeps_decimals_and_spells_currency() {
        assert_eq!(
            normalize("I paid $25.50 yesterday"),
            "i paid 25.50 dollars yesterday"
        );
        assert_eq!(normalize("1,000 minutes, 50%"), "1000 minutes 50 percent");
    }

    #[test]
    fn separates_chinese_from_latin_and_simplifies() {
        assert_eq!(normalize("我的帳單，太貴了！"), "我的账单 太贵了");
        assert_eq!(normalize("查一下SIM卡"), "查一下 sim 卡");
        assert_eq!(words("查余额ok"), vec!["查", "余", "额", "ok"]);
        assert_eq!(normalize("１２３"), "123");
    }

    #[test]
    fn is_cjk_distinguishes_scripts() {
        assert!(is_cjk('话'));
        assert!(is_cjk('〇'));
        assert!(!is_cjk('a'));
        assert!(!is_cjk('，'));
    }

    #[test]
    fn empty_and_symbol_only_input() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("?!... ---"), "");
        assert!(words("   ").is_empty());
    }
}
