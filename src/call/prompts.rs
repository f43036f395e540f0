//! What the engine says, with the stable keys prompt audio is cached under:
//! `<lang>:<name>` for the dialplan's own lines, `<lang>:answer:<intent>`
//! for self-service answers and `<lang>:clarify:<first>|<second>` for the
//! clarify question.

use std::path::PathBuf;

use crate::brain::asr::Language;
use crate::dialplan::{Action, Dialplan, Prompt};

/// One line to say.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub key: String,
    pub text: String,
    pub wav: Option<PathBuf>,
    /// Whether the caller may cut it off by speaking.
    pub interruptible: bool,
}

/// The dialplan's fixed lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fixed {
    Greeting,
    NoInput,
    NotUnderstood,
    Transfer,
    AnythingElse,
    Goodbye,
    OneMoment,
}

impl Fixed {
    const ALL: [Fixed; 7] = [
        Fixed::Greeting,
        Fixed::NoInput,
        Fixed::NotUnderstood,
        Fixed::Transfer,
        Fixed::AnythingElse,
        Fixed::Goodbye,
        Fixed::OneMoment,
    ];

    fn name(self) -> &'static str {
        match self {
            Fixed::Greeting => "greeting",
            Fixed::NoInput => "no_input",
            Fixed::NotUnderstood => "not_understood",
            Fixed::Transfer => "transfer",
            Fixed::AnythingElse => "anything_else",
            Fixed::Goodbye => "goodbye",
            Fixed::OneMoment => "one_moment",
        }
    }

    fn prompt(self, dialplan: &Dialplan) -> &Prompt {
        let p = &dialplan.prompts;
        match self {
            Fixed::Greeting => &dialplan.greeting,
            Fixed::NoInput => &p.no_input,
            Fixed::NotUnderstood => &p.not_understood,
            Fixed::Transfer => &p.transfer,
            Fixed::AnythingElse => &p.anything_else,
            Fixed::Goodbye => &p.goodbye,
            Fixed::OneMoment => &p.one_moment,
        }
    }

    /// The transfer notice and the goodbye are short and announce what
    /// happens next: the caller hears them out.
    fn interruptible(self) -> bool {
        !matches!(self, Fixed::Transfer | Fixed::Goodbye)
    }
}

/// A fixed line, or `None` when the dialplan has neither text nor recording for it.
pub(crate) fn fixed(dialplan: &Dialplan, language: Language, which: Fixed) -> Option<Line> {
    line(
        format!("{}:{}", language.code(), which.name()),
        which.prompt(dialplan),
        language,
        which.interruptible(),
    )
}

/// The answer of a self-service or follow-up intent.
pub(crate) fn answer(dialplan: &Dialplan, language: Language, intent: &str) -> Option<Line> {
    let prompt = match &dialplan.intent(intent)?.action {
        Action::Answer { prompt } | Action::FollowUp { prompt } => prompt,
        Action::Queue { .. } => return None,
    };
    line(
        format!("{}:answer:{intent}", language.code()),
        prompt,
        language,
        true,
    )
}

/// "Did you want to pay a bill, or check your balance?"
pub(crate) fn clarify(dialplan: &Dialplan, language: Language, first: &str, second: &str) -> Line {
    Line {
        key: format!("{}:clarify:{first}|{second}", language.code()),
        text: dialplan.clarify_question(language, first, second),
        wav: None,
        interruptible: true,
    }
}

fn line(key: String, prompt: &Prompt, language: Language, interruptible: bool) -> Option<Line> {
    if prompt.is_empty() {
        return None;
    }
    Some(Line {
        key,
        text: prompt.text(language).unwrap_or_default().to_string(),
        wav: prompt.wav.clone(),
        interruptible,
    })
}

/// Every prompt a call may need that does not depend on what the caller
/// said: the fixed lines and the intents' answers, as `(key, text, wav)`,
/// for rendering at startup.
pub fn static_prompts(
    dialplan: &Dialplan,
    language: Language,
) -> Vec<(String, String, Option<PathBuf>)> {
    let fixed = Fixed::ALL
        .iter()
        .filter_map(|&f| fixed(dialplan, language, f));
    let answers = dialplan
        .intents
        .iter()
        .filter_map(|i| answer(dialplan, language, &i.name));
    fixed
        .chain(answers)
        .map(|l| (l.key, l.text, l.wav))
        .collect()
}

/// Every clarify question (each ordered pair of intents), as `(key, text,
/// wav)`. There are n·(n-1) of them, so the runtime may warm them in the
/// background; one not yet rendered when needed is rendered then.
pub fn clarify_prompts(
    dialplan: &Dialplan,
    language: Language,
) -> Vec<(String, String, Option<PathBuf>)> {
    let names: Vec<&str> = dialplan.intents.iter().map(|i| i.name.as_str()).collect();
    let mut out = Vec::new();
    for first in &names {
        for second in names.iter().filter(|s| *s != first) {
            let l = clarify(dialplan, language, first, second);
            out.push((l.key, l.text, l.wav));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::Intent;

    fn plan() -> Dialplan {
        let intent = |name: &str, action: Action| Intent {
            name: name.to_string(),
            label: Prompt::default(),
            examples: vec![],
            keywords: vec![],
            action,
        };
        Dialplan {
            intents: vec![
                intent(
                    "store_hours",
                    Action::Answer {
                        prompt: Prompt::new("We open at nine.", "九点开门。"),
                    },
                ),
                intent(
                    "complaint",
                    Action::Queue {
                        queue: "general".into(),
                    },
                ),
            ],
            ..Dialplan::empty("t", Language::En)
        }
    }

    #[test]
    fn keys_name_language_and_line() {
        let plan = plan();
        let greeting = fixed(&plan, Language::Zh, Fixed::Greeting).unwrap();
        assert_eq!(greeting.key, "zh:greeting");
        assert_eq!(greeting.text, "您好，请问有什么可以帮您？");
        let answer = answer(&plan, Language::En, "store_hours").unwrap();
        assert_eq!(answer.key, "en:answer:store_hours");
        assert_eq!(answer.text, "We open at nine.");
        let q = clarify(&plan, Language::En, "store_hours", "complaint");
        assert_eq!(q.key, "en:clarify:store_hours|complaint");
        assert!(q.text.contains("store hours") && q.text.contains("complaint"));
    }

    #[test]
    fn static_prompts_cover_fixed_lines_and_answers_only() {
        let keys: Vec<String> = static_prompts(&plan(), Language::En)
            .into_iter()
            .map(|(k, _, _)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "en:greeting",
                "en:no_input",
                "en:not_understood",
                "en:transfer",
                "en:anything_else",
                "en:goodbye",
                "en:one_moment",
                "en:answer:store_hours"
            ]
        );
        assert_eq!(clarify_prompts(&plan(), Language::En).len(), 2);
    }

    #[test]
    fn empty_prompts_are_not_said() {
        let mut plan = plan();
        plan.prompts.anything_else = Prompt::default();
        assert!(fixed(&plan, Language::En, Fixed::AnythingElse).is_none());
        assert!(answer(&plan, Language::En, "complaint").is_none());
    }
}
