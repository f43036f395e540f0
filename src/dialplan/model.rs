//! Dialplan types: what a hotline offers (intents with examples), what to do
//! for each (answer, ask a follow-up, or queue for a person) and what to say.
//!
//! The types deserialize straight from the TOML file; [`super::load_dialplan`]
//! adds the examples of CSV files and validates the result.

use crate::brain::asr::Language;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A hotline: its languages, queues, prompts and intents.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialplan {
    pub name: String,
    /// The language callers are greeted in.
    #[serde(default)]
    pub language: Language,
    /// Every language callers may use.
    #[serde(default = "all_languages")]
    pub languages: Vec<Language>,
    /// Agitation score (0..1) above which a caller skips self-service.
    #[serde(default = "default_agitation_threshold")]
    pub agitation_threshold: f32,
    /// Where callers go when nothing else applies (e.g. after `max_attempts`).
    pub default_queue: String,
    /// How many times the caller is asked again before going to `default_queue`.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Names of the queues of people that callers can be sent to.
    pub queues: Vec<String>,
    /// Settings per queue (`[[queue]]` tables); a queue without one takes
    /// [`QueueSettings::defaults`].
    #[serde(default, rename = "queue")]
    pub queue_settings: Vec<QueueSettings>,
    pub greeting: Prompt,
    #[serde(default)]
    pub prompts: Prompts,
    /// Whisper initial prompt per language; derived from the keywords if unset.
    #[serde(default)]
    pub vocabulary: Prompt,
    #[serde(default)]
    pub intents: Vec<Intent>,
    /// Labelled example files whose rows are added to intents by label.
    #[serde(default)]
    pub examples_csv: Vec<ExamplesCsv>,
    #[serde(default)]
    pub router: RouterConfig,
}

/// Something the caller wants, recognised from examples and keywords.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    pub name: String,
    /// How the intent is named to the caller ("pay a bill"), for the clarify
    /// question; derived from `name` when missing.
    #[serde(default)]
    pub label: Prompt,
    /// In TOML a table of example lists per language: `examples.en = [...]`.
    #[serde(default, deserialize_with = "examples_by_language")]
    pub examples: Vec<Example>,
    /// Words or short phrases that on their own point to this intent.
    #[serde(default)]
    pub keywords: Vec<String>,
    pub action: Action,
}

/// One way a caller may say an intent.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub language: Language,
}

/// What the engine does once an intent is recognised.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Say the prompt (self-service), then ask if there is anything else.
    Answer { prompt: Prompt },
    /// Say the prompt and listen for the caller's answer.
    FollowUp { prompt: Prompt },
    /// Put the caller in a queue for a person.
    Queue { queue: String },
}

/// How one queue hands its callers to agents (`[[queue]]` in the file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    pub name: String,
    /// `longest_idle`, `round_robin`, `fewest_calls` or `skills`; kept as
    /// text so a wrong name is reported with its queue.
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// Seconds in this queue before the caller overflows (or is offered a
    /// callback when there is no `overflow`); 0: no limit.
    #[serde(default = "default_max_wait_s")]
    pub max_wait_s: u64,
    /// The queue callers move to after `max_wait_s`.
    #[serde(default)]
    pub overflow: Option<String>,
    /// Seconds between position and expected-wait announcements; 0: never.
    #[serde(default = "default_announce_every_s")]
    pub announce_every_s: u64,
    /// Service level: callers answered within this many seconds count as
    /// answered in time.
    #[serde(default = "default_target_answer_s")]
    pub target_answer_s: u64,
    /// A wait (waited plus expected) this long gets a callback offer, and
    /// key 1 books one.
    #[serde(default = "default_callback_after_s")]
    pub callback_after_s: u64,
    /// Callers of this queue are put through to this SIP (or tel:) URI, an
    /// outside number, instead of waiting for the engine's agents: a new
    /// outbound leg bridged like an agent's, so the recording goes on. Should
    /// it fail, the caller waits in `overflow` (or the default queue).
    #[serde(default)]
    pub transfer: Option<String>,
}

impl QueueSettings {
    /// The settings of a queue that has no `[[queue]]` table.
    pub fn defaults(name: &str) -> QueueSettings {
        QueueSettings {
            name: name.to_string(),
            strategy: default_strategy(),
            max_wait_s: default_max_wait_s(),
            overflow: None,
            announce_every_s: default_announce_every_s(),
            target_answer_s: default_target_answer_s(),
            callback_after_s: default_callback_after_s(),
            transfer: None,
        }
    }
}

/// Something to say: text per language (spoken by TTS), or a recording.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    #[serde(default)]
    pub en: Option<String>,
    #[serde(default)]
    pub zh: Option<String>,
    /// A recorded WAV, resolved against the dialplan's folder when loaded.
    #[serde(default)]
    pub wav: Option<PathBuf>,
}

/// The engine's own lines. `clarify` names two intents: `{first}`, `{second}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Prompts {
    pub clarify: Prompt,
    pub no_input: Prompt,
    pub not_understood: Prompt,
    pub transfer: Prompt,
    pub anything_else: Prompt,
    pub goodbye: Prompt,
    /// Said while the caller's words wait behind other callers' for the
    /// recogniser, so the silence is not taken for a dead line.
    pub one_moment: Prompt,
}

/// A CSV file of `text,label` rows (header row first) adding examples.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExamplesCsv {
    /// Relative to the dialplan file.
    pub path: PathBuf,
    #[serde(default)]
    pub language: Language,
    #[serde(default = "default_text_column")]
    pub text_column: String,
    /// `None` accepts the usual names: label, category, intent.
    #[serde(default)]
    pub label_column: Option<String>,
}

/// Settings of the intent router.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// Below this confidence (0..1) an utterance is out of scope.
    pub threshold: f32,
    /// The intent that explicit requests for a person always go to; defaults
    /// to `human_agent` when the dialplan has one.
    pub person_intent: Option<String>,
    /// Known misrecognitions and their meaning, e.g. `build = "bill"`.
    pub aliases: BTreeMap<String, String>,
    /// Things callers say that the hotline does not handle; they teach the
    /// router what to reject.
    pub out_of_scope: Vec<String>,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            threshold: 0.5,
            person_intent: None,
            aliases: BTreeMap::new(),
            out_of_scope: Vec::new(),
        }
    }
}

impl Default for Prompts {
    fn default() -> Self {
        Prompts {
            clarify: Prompt::new(
                "Sorry, did you want to {first}, or {second}?",
                "请问您是想{first}，还是{second}？",
            ),
            no_input: Prompt::new(
                "Sorry, I didn't hear anything. How can I help you?",
                "抱歉，我没有听到您说话。请问有什么可以帮您？",
            ),
            not_understood: Prompt::new(
                "Sorry, I didn't catch that. Please tell me briefly what you are calling about.",
                "抱歉，我没有听清。请简单说一下您来电的原因。",
            ),
            transfer: Prompt::new(
                "Please hold while I connect you to someone who can help.",
                "请稍候，正在为您转接人工服务。",
            ),
            anything_else: Prompt::new(
                "Is there anything else I can help with?",
                "请问还有其他可以帮您的吗？",
            ),
            goodbye: Prompt::new("Thank you for calling. Goodbye.", "感谢您的来电，再见。"),
            one_moment: Prompt::new("One moment, please.", "请稍等。"),
        }
    }
}

impl Prompt {
    pub fn new(en: &str, zh: &str) -> Prompt {
        Prompt {
            en: Some(en.to_string()),
            zh: Some(zh.to_string()),
            wav: None,
        }
    }

    /// The text in `lang`, or in the other language when that one is missing.
    pub fn text(&self, lang: Language) -> Option<&str> {
        let (first, second) = match lang {
            Language::En => (&self.en, &self.zh),
            Language::Zh => (&self.zh, &self.en),
        };
        first.as_deref().or(second.as_deref())
    }

    /// Neither text nor recording: nothing could be played.
    pub fn is_empty(&self) -> bool {
        self.en.is_none() && self.zh.is_none() && self.wav.is_none()
    }
}

impl Intent {
    /// How the intent is named to the caller, e.g. "check your balance".
    pub fn label(&self, lang: Language) -> String {
        match self.label.text(lang) {
            Some(text) => text.to_string(),
            None => self.name.replace('_', " "),
        }
    }
}

/// Budget for the Whisper initial prompt: short prompts bias recognition
/// without eating into the 224-token context.
const VOCABULARY_MAX_CHARS: usize = 200;

impl Dialplan {
    /// A dialplan with one `general` queue, default prompts and no intents
    /// yet (datasets fill it with intents of their own).
    pub fn empty(name: &str, language: Language) -> Dialplan {
        Dialplan {
            name: name.to_string(),
            language,
            languages: all_languages(),
            agitation_threshold: default_agitation_threshold(),
            default_queue: "general".to_string(),
            max_attempts: default_max_attempts(),
            queues: vec!["general".to_string()],
            queue_settings: Vec::new(),
            greeting: Prompt::new("Hello, how can I help?", "您好，请问有什么可以帮您？"),
            prompts: Prompts::default(),
            vocabulary: Prompt::default(),
            intents: Vec::new(),
            examples_csv: Vec::new(),
            router: RouterConfig::default(),
        }
    }

    /// The `[[queue]]` settings of `name`, or the defaults.
    pub fn queue_settings(&self, name: &str) -> QueueSettings {
        self.queue_settings
            .iter()
            .find(|q| q.name == name)
            .cloned()
            .unwrap_or_else(|| QueueSettings::defaults(name))
    }

    pub fn intent(&self, name: &str) -> Option<&Intent> {
        self.intents.iter().find(|i| i.name == name)
    }

    /// The intent that explicit requests for a person go to, if any.
    pub fn person_intent(&self) -> Option<&Intent> {
        let name = self
            .router
            .person_intent
            .as_deref()
            .unwrap_or("human_agent");
        self.intent(name)
    }

    /// "Did you want to pay a bill, or check your balance?"
    pub fn clarify_question(&self, lang: Language, first: &str, second: &str) -> String {
        let label = |name: &str| {
            self.intent(name)
                .map_or_else(|| name.replace('_', " "), |i| i.label(lang))
        };
        self.prompts
            .clarify
            .text(lang)
            .unwrap_or("{first} / {second}?")
            .replace("{first}", &label(first))
            .replace("{second}", &label(second))
    }

    /// A short Whisper initial prompt of domain words that biases recognition
    /// towards this hotline's vocabulary (at most ~200 characters).
    pub fn vocabulary_prompt(&self, lang: Language) -> String {
        if let Some(text) = self.vocabulary.text(lang) {
            return truncate_chars(text, VOCABULARY_MAX_CHARS);
        }
        // Round-robin over intents so every intent gets its first keywords in.
        let wants_cjk = lang == Language::Zh;
        let lists: Vec<Vec<&str>> = self
            .intents
            .iter()
            .map(|i| {
                i.keywords
                    .iter()
                    .map(String::as_str)
                    .filter(|k| k.chars().any(crate::brain::text::is_cjk) == wants_cjk)
                    .collect()
            })
            .collect();
        let separator = if wants_cjk { "、" } else { ", " };
        let mut prompt = String::new();
        let mut seen = std::collections::BTreeSet::new();
        let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
        'fill: for round in 0..longest {
            for list in &lists {
                let Some(word) = list.get(round) else {
                    continue;
                };
                if !seen.insert(*word) {
                    continue;
                }
                let extra = if prompt.is_empty() {
                    0
                } else {
                    separator.chars().count()
                };
                if prompt.chars().count() + extra + word.chars().count() > VOCABULARY_MAX_CHARS {
                    break 'fill;
                }
                if !prompt.is_empty() {
                    prompt.push_str(separator);
                }
                prompt.push_str(word);
            }
        }
        prompt
    }
}

/// At most `max` characters, cut after a whole word or phrase.
fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let separators = [',', '、', '，', ' '];
    let boundary = cut.rfind(separators).unwrap_or(cut.len());
    cut[..boundary].trim_end_matches(separators).to_string()
}

fn all_languages() -> Vec<Language> {
    vec![Language::En, Language::Zh]
}

fn default_agitation_threshold() -> f32 {
    0.6
}

fn default_max_attempts() -> u32 {
    2
}

fn default_strategy() -> String {
    "longest_idle".to_string()
}

fn default_max_wait_s() -> u64 {
    300
}

fn default_announce_every_s() -> u64 {
    30
}

fn default_target_answer_s() -> u64 {
    30
}

fn default_callback_after_s() -> u64 {
    120
}

fn default_text_column() -> String {
    "text".to_string()
}

/// `examples = { en = ["..."], zh = ["..."] }` into a flat list.
fn examples_by_language<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Example>, D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ByLanguage {
        #[serde(default)]
        en: Vec<String>,
        #[serde(default)]
        zh: Vec<String>,
    }
    let by = ByLanguage::deserialize(deserializer)?;
    let en = by.en.into_iter().map(|text| Example {
        text,
        language: Language::En,
    });
    let zh = by.zh.into_iter().map(|text| Example {
        text,
        language: Language::Zh,
    });
    Ok(en.chain(zh).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(name: &str, keywords: &[&str]) -> Intent {
        Intent {
            name: name.to_string(),
            label: Prompt::default(),
            examples: vec![],
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
            action: Action::Queue {
                queue: "general".into(),
            },
        }
    }

    fn dialplan(intents: Vec<Intent>) -> Dialplan {
        Dialplan {
            intents,
            ..Dialplan::empty("t", Language::En)
        }
    }

    #[test]
    fn prompt_falls_back_to_the_other_language() {
        let p = Prompt {
            en: Some("hello".into()),
            ..Prompt::default()
        };
        assert_eq!(p.text(Language::Zh), Some("hello"));
        assert!(Prompt::default().is_empty());
    }

    #[test]
    fn vocabulary_prompt_takes_keywords_round_robin_within_budget() {
        let long: Vec<String> = (0..100).map(|i| format!("word{i}")).collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        let plan = dialplan(vec![
            intent("a", &["balance", "余额", "credit"]),
            intent("b", &["roaming", "漫游"]),
            intent("c", &long),
        ]);
        let en = plan.vocabulary_prompt(Language::En);
        assert!(en.starts_with("balance, roaming, word0, credit"), "{en}");
        assert!(en.chars().count() <= VOCABULARY_MAX_CHARS);
        assert_eq!(plan.vocabulary_prompt(Language::Zh), "余额、漫游");
    }

    #[test]
    fn explicit_vocabulary_is_cut_at_a_word() {
        let mut plan = dialplan(vec![intent("a", &["x"])]);
        plan.vocabulary.en = Some("balance, ".repeat(30));
        let prompt = plan.vocabulary_prompt(Language::En);
        assert!(prompt.chars().count() <= VOCABULARY_MAX_CHARS);
        assert!(prompt.ends_with("balance"), "{prompt}");
    }

    #[test]
    fn clarify_question_names_both_intents() {
        let mut plan = dialplan(vec![intent("pay_bill", &[]), intent("roaming", &[])]);
        plan.intents[0].label = Prompt::new("pay a bill", "缴费");
        let q = plan.clarify_question(Language::En, "pay_bill", "roaming");
        assert_eq!(q, "Sorry, did you want to pay a bill, or roaming?");
        assert!(
            plan.clarify_question(Language::Zh, "pay_bill", "roaming")
                .contains("缴费")
        );
    }
}
