//! The order of waiting callers, and the words that explain it.
//!
//! Callers are ordered by priority class first, then by when they first
//! queued (an overflowed caller keeps their arrival time). Within a class
//! the order is strictly first come, first served, so any position can be
//! explained in one sentence.

/// Why a caller stands where they stand: lower goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Sent to the front by the engine or a supervisor ([`super::Input::ToFront`]).
    Front,
    /// The caller sounded agitated.
    Agitated,
    /// The same number called within the repeat window.
    Repeat,
    /// Everyone else, in order of arrival.
    Normal,
}

impl Priority {
    pub fn of(front: bool, agitated: bool, repeat: bool) -> Priority {
        if front {
            Priority::Front
        } else if agitated {
            Priority::Agitated
        } else if repeat {
            Priority::Repeat
        } else {
            Priority::Normal
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Priority::Front => "front",
            Priority::Agitated => "agitated",
            Priority::Repeat => "repeat",
            Priority::Normal => "normal",
        }
    }
}

/// What is known about one waiting caller when explaining their place.
#[derive(Debug, Clone, PartialEq)]
pub struct Reasons<'a> {
    pub front: bool,
    pub agitated: bool,
    pub agitation: f32,
    pub repeat: bool,
    pub repeat_window_h: u64,
    /// Callers who arrived earlier but stand behind this one.
    pub ahead_of_earlier: usize,
    /// Callers who arrived later but stand ahead of this one.
    pub behind_later: usize,
    pub waited_ms: u64,
    pub overflowed_from: Option<&'a str>,
    pub callback: bool,
    pub ringing: Option<&'a str>,
}

/// One line in plain words, e.g. "agitated caller (agitation 0.82), moved
/// ahead of 2 callers who arrived earlier; waiting 1 min 5 s".
pub fn explain(r: &Reasons) -> String {
    let mut special = Vec::new();
    if r.front {
        special.push("sent to the front".to_string());
    }
    if r.agitated {
        special.push(format!("agitated caller (agitation {:.2})", r.agitation));
    }
    if r.repeat {
        special.push(format!("called before within {} h", r.repeat_window_h));
    }
    let mut why = if special.is_empty() {
        "in order of arrival".to_string()
    } else {
        format!("{}, moved ahead", special.join(" and "))
    };
    if r.ahead_of_earlier > 0 {
        why.push_str(&format!(
            " of {} caller{} who arrived earlier",
            r.ahead_of_earlier,
            plural(r.ahead_of_earlier)
        ));
    }
    if r.behind_later > 0 {
        why.push_str(&format!(
            ", behind {} prioritised caller{} who arrived later",
            r.behind_later,
            plural(r.behind_later)
        ));
    }
    why.push_str(&format!("; waiting {}", duration_words(r.waited_ms)));
    if let Some(from) = r.overflowed_from {
        why.push_str(&format!("; overflowed from {from}"));
    }
    if r.callback {
        why.push_str("; callback booked, caller is not on the line");
    }
    if let Some(agent) = r.ringing {
        why.push_str(&format!("; ringing {agent}"));
    }
    why
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "45 s", "2 min 5 s", "1 h 3 min".
pub fn duration_words(ms: u64) -> String {
    let s = ms / 1000;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec} s"),
        (0, min, 0) => format!("{min} min"),
        (0, min, sec) => format!("{min} min {sec} s"),
        (h, 0, _) => format!("{h} h"),
        (h, min, _) => format!("{h} h {min} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Reasons<'static> {
        Reasons {
            front: false,
            agitated: false,
            agitation: 0.0,
            repeat: false,
            repeat_window_h: 24,
            ahead_of_earlier: 0,
            behind_later: 0,
            waited_ms: 65_000,
            overflowed_from: None,
            callback: false,
            ringing: None,
        }
    }

    #[test]
    fn classes_order_front_agitated_repeat_normal() {
        assert!(Priority::of(true, true, true) < Priority::of(false, true, true));
        assert!(Priority::of(false, true, false) < Priority::of(false, false, true));
        assert!(Priority::of(false, false, true) < Priority::of(false, false, false));
    }

    #[test]
    fn explains_in_words() {
        assert_eq!(explain(&plain()), "in order of arrival; waiting 1 min 5 s");
        let agitated = Reasons {
            agitated: true,
            agitation: 0.823,
            repeat: true,
            ahead_of_earlier: 2,
            ..plain()
        };
        assert_eq!(
            explain(&agitated),
            "agitated caller (agitation 0.82) and called before within 24 h, \
             moved ahead of 2 callers who arrived earlier; waiting 1 min 5 s"
        );
        let behind = Reasons {
            behind_later: 1,
            overflowed_from: Some("billing"),
            ..plain()
        };
        assert!(explain(&behind).contains("behind 1 prioritised caller who arrived later"));
        assert!(explain(&behind).ends_with("overflowed from billing"));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(999), "0 s");
        assert_eq!(duration_words(120_000), "2 min");
        assert_eq!(duration_words(3_780_000), "1 h 3 min");
    }
}
