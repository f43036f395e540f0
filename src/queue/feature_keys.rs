//! Feature codes keyed one digit at a time (RFC 4733 events or SIP INFO)
//! by an agent during a call: the digits are gathered until they end in
//! one of the codes. Sans-IO: the caller passes the time of each digit.

use crate::config::FeatureCodes;

/// A pause longer than this between two digits starts the code over.
pub const DIGIT_GAP_MS: u64 = 3000;
/// Keys kept: longer than any sensible code.
const KEPT: usize = 16;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyedCodes {
    keys: String,
    last_ms: Option<u64>,
}

impl KeyedCodes {
    /// Adds one digit; the code they complete, if any (the keys are then
    /// forgotten, so a code counts once).
    pub fn push(&mut self, now_ms: u64, digit: char, codes: &FeatureCodes) -> Option<String> {
        if self
            .last_ms
            .is_some_and(|last| now_ms.saturating_sub(last) > DIGIT_GAP_MS)
        {
            self.keys.clear();
        }
        self.last_ms = Some(now_ms);
        self.keys.push(digit);
        if self.keys.chars().count() > KEPT {
            self.keys.remove(0);
        }
        let code = codes
            .all()
            .into_iter()
            .map(|(_, code)| code.trim())
            .filter(|code| !code.is_empty() && self.keys.ends_with(code))
            .max_by_key(|code| code.len())?
            .to_string();
        self.keys.clear();
        Some(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(k: &mut KeyedCodes, at: &[(u64, char)]) -> Vec<String> {
        let codes = FeatureCodes::default();
        at.iter()
            .filter_map(|&(ms, d)| k.push(ms, d, &codes))
            .collect()
    }

    #[test]
    fn a_code_is_found_once_at_its_last_digit() {
        let mut k = KeyedCodes::default();
        assert_eq!(
            keyed(&mut k, &[(0, '5'), (100, '*'), (300, '3'), (400, '3')]),
            vec!["*3".to_string()]
        );
    }

    #[test]
    fn a_long_pause_starts_over() {
        let mut k = KeyedCodes::default();
        assert!(keyed(&mut k, &[(0, '*'), (DIGIT_GAP_MS + 1, '3')]).is_empty());
        assert_eq!(keyed(&mut k, &[(9000, '*'), (9500, '4')]), vec!["*4"]);
    }
}
