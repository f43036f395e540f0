//! Slots: the numbers a caller gives (account number, phone number, amount),
//! however the recogniser wrote them: "4567 8901", "four five six seven",
//! "double five", "oh" for zero, "twelve thirty four", "$25.50", "twenty
//! dollars and fifty cents", 一二三四, 幺三八, 一百二十块.

use crate::brain::text;
use serde::Serialize;

/// What the caller said that the agent would otherwise ask again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Slots {
    pub account_number: Option<String>,
    pub phone_number: Option<String>,
    /// Decimal amount, e.g. "25.50".
    pub amount: Option<String>,
    /// ISO code of the amount's currency when it was named.
    pub currency: Option<String>,
}

impl Slots {
    pub fn is_empty(&self) -> bool {
        self.account_number.is_none() && self.phone_number.is_none() && self.amount.is_none()
    }
}

/// Shortest digit string taken as an account number when the caller said it
/// was one, and when they did not.
const ACCOUNT_MIN_WITH_CONTEXT: usize = 4;
const ACCOUNT_MIN_BARE: usize = 6;

pub fn extract(text: &str) -> Slots {
    let items = items(&text::words(text));
    let mut slots = Slots::default();
    let mut i = 0;
    let mut context_start = 0;
    while i < items.len() {
        let Item::Number { .. } = items[i] else {
            i += 1;
            continue;
        };
        let (digits, end) = digit_run(&items, i);
        if let Some((amount, currency, after)) = amount_at(&items, i) {
            if slots.amount.is_none() {
                slots.amount = Some(amount);
                slots.currency = currency;
            }
            i = after;
            context_start = after;
            continue;
        }
        let context = words_between(&items, context_start, i);
        match number_kind(&context, &digits) {
            Some(Kind::Account) if slots.account_number.is_none() => {
                slots.account_number = Some(digits)
            }
            Some(Kind::Phone) if slots.phone_number.is_none() => slots.phone_number = Some(digits),
            _ => {}
        }
        i = end;
        context_start = end;
    }
    slots
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Number { digits: String, decimal: bool },
    Word(String),
}

/// Words with numbers made uniform: digit strings, spoken digits ("oh"),
/// repeats ("double 5") and Chinese numerals all become `Number`s.
fn items(words: &[String]) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        // A run of Chinese numerals, one character per word.
        if chinese_digit(word).is_some() || chinese_unit(word).is_some() {
            let start = i;
            while i < words.len()
                && (chinese_digit(&words[i]).is_some() || chinese_unit(&words[i]).is_some())
            {
                i += 1;
            }
            let chars: Vec<char> = words[start..i]
                .iter()
                .filter_map(|w| w.chars().next())
                .collect();
            match chinese_number(&chars) {
                Some(digits) => out.push(Item::Number {
                    digits,
                    decimal: false,
                }),
                None => out.extend(words[start..i].iter().map(|w| Item::Word(w.clone()))),
            }
            continue;
        }
        let is_digits = !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let is_number = is_digits && word.bytes().any(|b| b.is_ascii_digit());
        if is_number {
            out.push(Item::Number {
                digits: word.to_string(),
                decimal: word.contains('.'),
            });
        } else if matches!(word, "double" | "triple") {
            let times = if word == "double" { 2 } else { 3 };
            match words.get(i + 1).map(|w| spoken_digit(w)) {
                Some(Some(d)) => {
                    out.push(Item::Number {
                        digits: d.to_string().repeat(times),
                        decimal: false,
                    });
                    i += 1;
                }
                _ => out.push(Item::Word(word.to_string())),
            }
        } else {
            out.push(Item::Word(word.to_string()));
        }
        i += 1;
    }
    // "oh" and "o" are zero only between or next to digits.
    let mut fixed = out.clone();
    for (k, item) in out.iter().enumerate() {
        if let Item::Word(w) = item {
            let near_number = |j: Option<usize>| {
                j.and_then(|j| out.get(j))
                    .is_some_and(|it| matches!(it, Item::Number { decimal: false, .. }))
            };
            if matches!(w.as_str(), "oh" | "o")
                && (near_number(k.checked_sub(1)) || near_number(Some(k + 1)))
            {
                fixed[k] = Item::Number {
                    digits: "0".into(),
                    decimal: false,
                };
            }
        }
    }
    fixed
}

fn spoken_digit(word: &str) -> Option<char> {
    match word {
        "oh" | "o" => Some('0'),
        w if w.len() == 1 && w.as_bytes()[0].is_ascii_digit() => w.chars().next(),
        w => chinese_digit(w).map(|d| char::from(b'0' + d)),
    }
}

fn chinese_digit(word: &str) -> Option<u8> {
    let mut chars = word.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    Some(match c {
        '零' | '〇' => 0,
        '一' | '幺' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn chinese_unit(word: &str) -> Option<u64> {
    match word {
        "十" => Some(10),
        "百" => Some(100),
        "千" => Some(1_000),
        "万" => Some(10_000),
        _ => None,
    }
}

/// 一二三四 -> "1234" (read digit by digit); 一百二十 -> "120" (with units).
fn chinese_number(chars: &[char]) -> Option<String> {
    let words: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
    if words.iter().all(|w| chinese_digit(w).is_some()) {
        // A lone 一 or 两 is usually "a" / "two of", not a number.
        if words.len() == 1 && matches!(chars[0], '一' | '两') {
            return None;
        }
        return Some(
            words
                .iter()
                .filter_map(|w| chinese_digit(w))
                .map(|d| char::from(b'0' + d))
                .collect(),
        );
    }
    let (mut total, mut section, mut digit) = (0u64, 0u64, None::<u64>);
    for w in &words {
        if let Some(d) = chinese_digit(w) {
            digit = Some(u64::from(d));
        } else if let Some(unit) = chinese_unit(w) {
            if unit == 10_000 {
                total += (section + digit.unwrap_or(0)).max(1) * unit;
                section = 0;
            } else {
                section += digit.unwrap_or(1) * unit;
            }
            digit = None;
        }
    }
    Some((total + section + digit.unwrap_or(0)).to_string())
}

/// Consecutive whole numbers read as one digit string ("12 34 56").
fn digit_run(items: &[Item], start: usize) -> (String, usize) {
    let mut digits = String::new();
    let mut i = start;
    while let Some(Item::Number {
        digits: d,
        decimal: false,
    }) = items.get(i)
    {
        digits.push_str(d);
        i += 1;
    }
    if i == start {
        // A decimal number stands alone.
        if let Some(Item::Number { digits: d, .. }) = items.get(i) {
            return (d.clone(), i + 1);
        }
    }
    (digits, i)
}

/// An amount starting at `i`: "25 dollars", "25.50 dollars", "20 dollars
/// and 50 cents", "50 cents", "100 块". Returns the amount, its currency and
/// where it ends.
fn amount_at(items: &[Item], i: usize) -> Option<(String, Option<String>, usize)> {
    let Some(Item::Number { digits, .. }) = items.get(i) else {
        return None;
    };
    let unit = match items.get(i + 1) {
        Some(Item::Word(w)) => w.as_str(),
        _ => return None,
    };
    if matches!(unit, "cents" | "cent" | "毛" | "角") {
        let cents: u64 = digits.parse().ok()?;
        let value = if unit == "毛" || unit == "角" {
            cents * 10
        } else {
            cents
        };
        return Some((format!("0.{value:02}"), None, i + 2));
    }
    let currency = currency_code(unit)?;
    let mut amount = digits.clone();
    let mut end = i + 2;
    // "... and 50 cents"
    if let (Some(Item::Word(and)), Some(Item::Number { digits: cents, .. }), Some(Item::Word(c))) =
        (items.get(end), items.get(end + 1), items.get(end + 2))
        && and == "and"
        && matches!(c.as_str(), "cents" | "cent")
        && !amount.contains('.')
        && let Ok(cents) = cents.parse::<u64>()
    {
        amount = format!("{amount}.{cents:02}");
        end += 3;
    }
    Some((amount, Some(currency.to_string()), end))
}

fn currency_code(word: &str) -> Option<&'static str> {
    match word {
        "dollars" | "dollar" | "bucks" | "buck" => Some("USD"),
        "euros" | "euro" => Some("EUR"),
        "pounds" | "pound" | "quid" => Some("GBP"),
        "yuan" | "rmb" | "元" | "块" => Some("CNY"),
        _ => None,
    }
}

fn words_between(items: &[Item], start: usize, end: usize) -> Vec<&str> {
    items[start..end]
        .iter()
        .filter_map(|it| match it {
            Item::Word(w) => Some(w.as_str()),
            Item::Number { .. } => None,
        })
        .collect()
}

enum Kind {
    Account,
    Phone,
}

/// Whether a digit string is an account or phone number, from the words
/// said before it, or failing that from its length.
fn number_kind(context: &[&str], digits: &str) -> Option<Kind> {
    let said = |words: &[&str]| context.iter().any(|w| words.contains(w));
    let han: String = context
        .iter()
        .filter(|w| w.chars().any(text::is_cjk))
        .copied()
        .collect();
    let account = said(&["account", "acct", "customer", "reference", "membership"])
        || han.contains("账")
        || han.contains("户号");
    let phone = said(&["phone", "mobile", "cell", "telephone", "callback", "reach"])
        || han.contains("手机")
        || han.contains("电话");
    let len = digits.len();
    if digits.contains('.') {
        return None;
    }
    if account && len >= ACCOUNT_MIN_WITH_CONTEXT {
        return Some(Kind::Account);
    }
    if phone && len >= 7 {
        return Some(Kind::Phone);
    }
    if len == 10 || (len == 11 && digits.starts_with('1')) {
        return Some(Kind::Phone);
    }
    (len >= ACCOUNT_MIN_BARE).then_some(Kind::Account)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(text: &str) -> Option<String> {
        extract(text).account_number
    }

    #[test]
    fn account_numbers_in_digits_words_and_groups() {
        assert_eq!(
            account("my account number is 12345678"),
            Some("12345678".into())
        );
        assert_eq!(
            account("account number four five six seven eight nine"),
            Some("456789".into())
        );
        assert_eq!(account("it's 12 34 56 78"), Some("12345678".into()));
        assert_eq!(account("account 4 double 5 7 oh 9"), Some("455709".into()));
        assert_eq!(account("account number triple 3 1 2"), Some("33312".into()));
        assert_eq!(account("my account is 1234-5678"), Some("12345678".into()));
    }

    #[test]
    fn chinese_digits_including_yao_and_ling() {
        assert_eq!(
            account("我的账号是一二三四五六七八"),
            Some("12345678".into())
        );
        assert_eq!(account("账户 幺三五 零〇九九"), Some("1350099".into()));
        assert_eq!(
            extract("我的手机号是幺三八一二三四五六七八").phone_number,
            Some("13812345678".into())
        );
    }

    #[test]
    fn phone_numbers_by_context_or_length() {
        let s = extract("my account is 55501234 and my phone number is 415 555 0199");
        assert_eq!(s.account_number, Some("55501234".into()));
        assert_eq!(s.phone_number, Some("4155550199".into()));
        assert_eq!(
            extract("call me on 4155550199").phone_number,
            Some("4155550199".into())
        );
    }

    #[test]
    fn amounts_with_currency_and_cents() {
        let s = extract("I paid $25.50 yesterday");
        assert_eq!(s.amount, Some("25.50".into()));
        assert_eq!(s.currency, Some("USD".into()));
        assert_eq!(
            extract("twenty dollars and five cents").amount,
            Some("20.05".into())
        );
        assert_eq!(extract("a hundred bucks").amount, Some("100".into()));
        assert_eq!(extract("充一百二十块话费").amount, Some("120".into()));
        assert_eq!(
            extract("I want to pay fifty euros").currency,
            Some("EUR".into())
        );
    }

    #[test]
    fn short_or_absent_numbers_are_not_slots() {
        assert!(extract("I want to pay my bill").is_empty());
        assert!(extract("I called 3 times in 2 weeks").is_empty());
        assert!(extract("").is_empty());
        assert!(extract("我想要一个新套餐").is_empty());
    }
}
