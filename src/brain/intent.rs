//! The intent router: what a caller wants, from one recognised utterance.
//!
//! Trained at load time from the dialplan's examples, pure Rust, no model
//! download. Transcripts of 8 kHz phone speech are noisy ("pay my build",
//! "roming", "a gent"), so an utterance is seen through several overlapping
//! views, each forgiving a different kind of error:
//! - stemmed words and word pairs (synonyms, paraphrase),
//! - character 3- and 4-grams inside words (misspellings, dropped letters),
//! - for Chinese, characters, character pairs and pinyin pairs (homophones:
//!   Whisper writes 花费 for 话费),
//! - unknown words corrected to the nearest known word by a sound-aware edit
//!   distance, and dialplan aliases for known misrecognitions.
//!
//! A multinomial logistic regression over TF-IDF of these features gives the
//! class probabilities; with the similarity to the nearest training example
//! and the evidence (how much of the utterance's informative content words
//! speak for the class, rather than being generic or unknown) they are
//! mapped to a confidence, the chance that the routing is right, learnt at
//! load time from cross-fitted predictions (including on intents held out
//! entirely, which is what an out-of-scope request looks like, and on garbled
//! copies of the examples, which is what a badly misrecognised one looks
//! like).
//! Below the dialplan's threshold the utterance gets no intent. Explicit
//! requests for a person bypass the model: they always go to the dialplan's
//! person intent.

use crate::brain::text;
use crate::dialplan::Dialplan;
use rust_stemmers::{Algorithm, Stemmer};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The router's answer for one utterance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// The recognised intent, or `None` when the utterance is out of scope or
    /// too unclear to act on.
    pub intent: Option<String>,
    /// The chance (0..1) that the best in-scope intent is right, reported
    /// even when it is rejected.
    pub confidence: f32,
    /// Up to three best intents with their confidences, best first.
    pub ranked: Vec<(String, f32)>,
}

/// Confidence given to explicit requests for a person.
const PERSON_CONFIDENCE: f32 = 0.97;

/// Intent router trained from a dialplan.
pub struct Router {
    analyzer: Analyzer,
    space: FeatureSpace,
    model: LogisticRegression,
    neighbours: Neighbours,
    evidence: Evidence,
    calibrator: Calibrator,
    /// Class names; the out-of-scope class (if any) is last.
    classes: Vec<String>,
    out_of_scope_class: Option<usize>,
    person_class: Option<usize>,
    threshold: f32,
    tuning: Tuning,
}

/// Hyper-parameters, chosen on held-out splits of public intent datasets
/// (BANKING77, CLINC150, and CLINC150 cut down to 30 intents of 25 examples
/// to look like a hand-written hotline).
#[derive(Debug, Clone)]
struct Tuning {
    word: f32,
    bigram: f32,
    chars: f32,
    han: f32,
    han_bigram: f32,
    pinyin: f32,
    /// Share of unknown words' weight kept in the vector norm: utterances
    /// mostly made of words the hotline never saw get weaker scores.
    unknown_mass: f32,
    /// Weight of a word recovered by fuzzy correction.
    corrected: f32,
    epochs: usize,
    learning_rate: f32,
    l2: f32,
    /// Folds of the cross-fitting that calibrates confidences.
    folds: usize,
    /// Assumed share of out-of-scope callers (relative to in-scope ones).
    unseen_share: f32,
    /// Assumed share of badly garbled transcripts.
    garbled_share: f32,
    longest_char_gram: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            word: 1.0,
            bigram: 0.6,
            chars: 0.8,
            han: 0.6,
            han_bigram: 1.0,
            pinyin: 0.6,
            unknown_mass: 0.5,
            corrected: 0.8,
            epochs: 8,
            learning_rate: 1.0,
            l2: 1e-5,
            folds: 3,
            unseen_share: 0.2,
            garbled_share: 0.1,
            longest_char_gram: 4,
        }
    }
}

impl Router {
    pub fn new(dialplan: &Dialplan) -> Router {
        let tuning = Tuning::default();
        let mut analyzer = Analyzer::new(&dialplan.router.aliases, tuning.longest_char_gram);
        let mut classes: Vec<String> = dialplan.intents.iter().map(|i| i.name.clone()).collect();
        let mut docs: Vec<(Tokens, usize)> = Vec::new();
        for (class, intent) in dialplan.intents.iter().enumerate() {
            let texts = intent.examples.iter().map(|e| e.text.as_str());
            for text in texts.chain(intent.keywords.iter().map(String::as_str)) {
                docs.push((analyzer.tokens(text), class));
            }
        }
        let out_of_scope_class = if dialplan.router.out_of_scope.is_empty() {
            None
        } else {
            classes.push(String::new());
            let class = classes.len() - 1;
            for text in &dialplan.router.out_of_scope {
                docs.push((analyzer.tokens(text), class));
            }
            Some(class)
        };
        analyzer.learn_vocabulary(docs.iter().map(|(t, _)| t));
        let raw: Vec<RawFeatures> = docs.iter().map(|(t, _)| analyzer.features(t)).collect();
        let space = FeatureSpace::fit(&raw);
        let vectors: Vec<SparseVec> = raw.iter().map(|r| space.vectorize(r, &tuning)).collect();
        let terms: Vec<Vec<Term>> = raw.iter().map(|r| space.terms(r)).collect();
        let labels: Vec<usize> = docs.iter().map(|(_, c)| *c).collect();
        let garbled = |every: usize| -> Vec<Option<(SparseVec, Vec<Term>)>> {
            docs.iter()
                .map(|(t, _)| {
                    let raw = analyzer.features(&analyzer.garble(t, every)?);
                    Some((space.vectorize(&raw, &tuning), space.terms(&raw)))
                })
                .collect()
        };
        let garbled = Garbled {
            fully: garbled(1),
            half: garbled(2),
        };
        let examples = Examples {
            vectors: &vectors,
            terms: &terms,
            labels: &labels,
        };
        let calibrator = Calibrator::cross_fit(
            &examples,
            &garbled,
            space.unseen_idf,
            classes.len(),
            out_of_scope_class,
            &tuning,
        );
        let model =
            LogisticRegression::train(&vectors, &labels, classes.len(), space.len(), &tuning);
        let neighbours = Neighbours::new(&vectors, &labels, space.len());
        let evidence = Evidence::new(&terms, &labels, space.unseen_idf);
        let person_class = dialplan
            .person_intent()
            .and_then(|p| classes.iter().position(|c| *c == p.name));
        Router {
            analyzer,
            space,
            model,
            neighbours,
            evidence,
            calibrator,
            classes,
            out_of_scope_class,
            person_class,
            threshold: dialplan.router.threshold,
            tuning,
        }
    }

    pub fn classify(&self, text: &str) -> Classification {
        let tokens = self
            .analyzer
            .correct(self.analyzer.tokens(text), self.tuning.corrected);
        if tokens.is_empty() {
            return Classification {
                intent: None,
                confidence: 0.0,
                ranked: Vec::new(),
            };
        }
        let (probabilities, confidences) = self.scores(&tokens);
        let mut order: Vec<usize> = (0..self.classes.len())
            .filter(|c| Some(*c) != self.out_of_scope_class)
            .collect();
        order.sort_by(|a, b| {
            probabilities[*b]
                .total_cmp(&probabilities[*a])
                .then(a.cmp(b))
        });
        let out_of_scope_wins = self.out_of_scope_class.is_some_and(|oos| {
            order
                .first()
                .is_some_and(|&best| probabilities[oos] > probabilities[best])
        });
        // Best first by probability; confidences never rise down the list.
        let mut ranked: Vec<(usize, f32)> = Vec::with_capacity(3);
        for &class in &order {
            let ceiling = ranked.last().map_or(1.0, |&(_, c)| c);
            ranked.push((class, confidences[class].min(ceiling)));
        }
        let person = self.person_class.filter(|_| asks_for_person(&tokens));
        if let Some(person) = person {
            let confidence = PERSON_CONFIDENCE.max(confidences[person]);
            ranked.retain(|(c, _)| *c != person);
            ranked.iter_mut().for_each(|(_, c)| *c = c.min(confidence));
            ranked.insert(0, (person, confidence));
        }
        ranked.truncate(3);
        let (best, confidence) = ranked.first().copied().unwrap_or((0, 0.0));
        let accepted = person.is_some() || (confidence >= self.threshold && !out_of_scope_wins);
        Classification {
            intent: accepted.then(|| self.classes[best].clone()),
            confidence,
            ranked: ranked
                .into_iter()
                .map(|(c, s)| (self.classes[c].clone(), s))
                .collect(),
        }
    }

    /// Per-class probabilities, and confidences: the probability, the
    /// similarity to the class's nearest example and the share of the
    /// utterance's evidence that speaks for the class, mapped to the chance
    /// of being right.
    fn scores(&self, tokens: &Tokens) -> (Vec<f32>, Vec<f32>) {
        let raw = self.analyzer.features(tokens);
        let vector = self.space.vectorize(&raw, &self.tuning);
        let terms = self.space.terms(&raw);
        let probabilities = self.model.probabilities(&vector);
        let similarity = self.neighbours.best_per_class(&vector, self.classes.len());
        let support = self.evidence.support(&terms, self.classes.len());
        let confidences = (0..self.classes.len())
            .map(|c| {
                self.calibrator
                    .confidence(probabilities[c], similarity[c], support[c])
            })
            .collect();
        (probabilities, confidences)
    }
}

// ---------------------------------------------------------------------------
// Tokens: normalised words after aliases and correction, plus Chinese text.

/// An utterance as the router sees it.
#[derive(Debug, Clone, Default)]
struct Tokens {
    /// Latin-script words (and digits as `<num>`).
    words: Vec<Word>,
    /// All Chinese characters of the utterance, in order.
    han: Vec<char>,
}

#[derive(Debug, Clone)]
struct Word {
    text: String,
    /// Less than 1 for words guessed by fuzzy correction.
    weight: f32,
}

impl Tokens {
    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.han.is_empty()
    }

    fn texts(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(|w| w.text.as_str())
    }
}

struct Analyzer {
    stemmer: Stemmer,
    /// Phrase -> replacement, both as word lists.
    aliases: Vec<(Vec<String>, Vec<String>)>,
    /// Words seen in training, with how often (ties in correction go to the
    /// more common word).
    known: HashMap<String, u32>,
    known_by_len: HashMap<usize, Vec<String>>,
    longest_char_gram: usize,
}

impl Analyzer {
    fn new(aliases: &BTreeMap<String, String>, longest_char_gram: usize) -> Analyzer {
        let mut aliases: Vec<(Vec<String>, Vec<String>)> = aliases
            .iter()
            .map(|(from, to)| (text::words(from), text::words(to)))
            .filter(|(from, _)| !from.is_empty())
            .collect();
        // Longest phrases first so "pay my build" beats "build".
        aliases.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        Analyzer {
            stemmer: Stemmer::create(Algorithm::English),
            aliases,
            known: HashMap::new(),
            known_by_len: HashMap::new(),
            longest_char_gram,
        }
    }

    fn learn_vocabulary<'a>(&mut self, docs: impl Iterator<Item = &'a Tokens>) {
        for doc in docs {
            for word in doc.texts() {
                *self.known.entry(word.to_string()).or_default() += 1;
            }
        }
        for word in self.known.keys() {
            self.known_by_len
                .entry(word.chars().count())
                .or_default()
                .push(word.clone());
        }
        for list in self.known_by_len.values_mut() {
            list.sort();
        }
    }

    fn tokens(&self, text: &str) -> Tokens {
        let mut words = Vec::new();
        let mut han = Vec::new();
        for word in text::normalize(text).split(' ').filter(|w| !w.is_empty()) {
            if word.chars().any(text::is_cjk) {
                han.extend(word.chars().filter(|c| text::is_cjk(*c)));
            } else if word.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                words.push("<num>".to_string());
            } else {
                words.push(word.to_string());
            }
        }
        let words = self.apply_aliases(words);
        Tokens {
            words: words
                .into_iter()
                .map(|text| Word { text, weight: 1.0 })
                .collect(),
            han,
        }
    }

    fn apply_aliases(&self, words: Vec<String>) -> Vec<String> {
        if self.aliases.is_empty() {
            return words;
        }
        let mut out = Vec::with_capacity(words.len());
        let mut i = 0;
        'outer: while i < words.len() {
            for (from, to) in &self.aliases {
                if words[i..].starts_with(from) {
                    out.extend(to.iter().cloned());
                    i += from.len();
                    continue 'outer;
                }
            }
            out.push(words[i].clone());
            i += 1;
        }
        out
    }

    /// Unknown words replaced by the known word they were most likely meant
    /// to be: split words joined ("a gent" -> "agent"), misspellings fixed
    /// ("roming" -> "roaming").
    fn correct(&self, tokens: Tokens, corrected_weight: f32) -> Tokens {
        let mut words: Vec<Word> = Vec::with_capacity(tokens.words.len());
        let mut i = 0;
        let input = &tokens.words;
        while i < input.len() {
            let here = &input[i].text;
            if let Some(next) = input.get(i + 1) {
                let joined = format!("{here}{}", next.text);
                let either_unknown =
                    !self.known.contains_key(here) || !self.known.contains_key(&next.text);
                if either_unknown && self.known.contains_key(&joined) {
                    words.push(Word {
                        text: joined,
                        weight: 1.0,
                    });
                    i += 2;
                    continue;
                }
            }
            match self.nearest_known(here) {
                Some(fixed) => words.push(Word {
                    text: fixed,
                    weight: corrected_weight,
                }),
                None => words.push(input[i].clone()),
            }
            i += 1;
        }
        Tokens {
            words,
            han: tokens.han,
        }
    }

    fn nearest_known(&self, word: &str) -> Option<String> {
        let len = word.chars().count();
        if self.known.contains_key(word)
            || len < 4
            || !word.chars().all(|c| c.is_ascii_alphabetic())
        {
            return None;
        }
        let budget = correction_budget(len);
        let mut best: Option<(u32, u32, &String)> = None;
        let spread = if len < 7 { 1 } else { 2 };
        for candidate_len in len.saturating_sub(spread)..=len + spread {
            for candidate in self.known_by_len.get(&candidate_len).into_iter().flatten() {
                if candidate_len < 3 {
                    continue;
                }
                let Some(cost) = sound_distance(word, candidate, budget) else {
                    continue;
                };
                let count = self.known[candidate];
                let better = match best {
                    None => true,
                    Some((c, n, _)) => cost < c || (cost == c && count > n),
                };
                if better {
                    best = Some((cost, count, candidate));
                }
            }
        }
        best.map(|(_, _, w)| w.clone())
    }

    /// The example as a garbled transcript: every `every`-th content word
    /// (1: all of them) replaced by a word no intent uses, function words
    /// ("I want to") kept. Fully garbled examples have no right intent and
    /// show the calibrator what too little evidence looks like; half-garbled
    /// ones show what a damaged but recognisable request looks like.
    fn garble(&self, tokens: &Tokens, every: usize) -> Option<Tokens> {
        let content = |w: &Word| !text::is_function_word(&w.text) && !w.text.starts_with('<');
        if tokens.words.iter().filter(|w| content(w)).count() < every {
            return None;
        }
        let mut seen = 0;
        let words = tokens
            .words
            .iter()
            .map(|word| {
                if !content(word) {
                    return word.clone();
                }
                seen += 1;
                if seen % every != 0 {
                    return word.clone();
                }
                // Reversed, a word keeps its length and letters but (nearly
                // always) leaves the vocabulary.
                Word {
                    text: word.text.chars().rev().collect(),
                    weight: word.weight,
                }
            })
            .collect();
        Some(Tokens {
            words,
            han: Vec::new(),
        })
    }

    fn stem(&self, word: &str) -> String {
        if word.starts_with('<') {
            return word.to_string();
        }
        self.stemmer.stem(word).into_owned()
    }

    /// Feature counts of an utterance, by feature group.
    fn features(&self, tokens: &Tokens) -> RawFeatures {
        let mut raw = RawFeatures::default();
        let stems: Vec<String> = tokens.texts().map(|w| self.stem(w)).collect();
        for (word, stem) in tokens.words.iter().zip(&stems) {
            raw.add(Group::Word, stem, word.weight);
            if text::is_function_word(&word.text) || word.text.starts_with('<') {
                raw.generic.insert(stem.clone());
            }
            if word.text.starts_with('<') {
                continue;
            }
            let padded: Vec<char> = format!("<{}>", word.text).chars().collect();
            for n in 3..=self.longest_char_gram {
                for gram in padded.windows(n) {
                    raw.add(Group::Chars, &gram.iter().collect::<String>(), word.weight);
                }
            }
        }
        for (pair, weights) in stems.windows(2).zip(tokens.words.windows(2)) {
            let weight = weights[0].weight.min(weights[1].weight);
            raw.add(Group::Bigram, &format!("{} {}", pair[0], pair[1]), weight);
        }
        let han = &tokens.han;
        for c in han {
            raw.add(Group::Han, &c.to_string(), 1.0);
        }
        for pair in han.windows(2) {
            raw.add(Group::HanBigram, &pair.iter().collect::<String>(), 1.0);
        }
        let sounds: Vec<&str> = han.iter().map(|c| pinyin_of(*c)).collect();
        for pair in sounds.windows(2) {
            raw.add(Group::Pinyin, &format!("{} {}", pair[0], pair[1]), 1.0);
        }
        raw
    }
}

fn pinyin_of(c: char) -> &'static str {
    use pinyin::ToPinyin;
    c.to_pinyin().map_or("?", |p| p.plain())
}

/// Most edit cost (in half-steps) a correction may take, by word length:
/// short words only get a vowel or doubled letter wrong, long ones more.
fn correction_budget(len: usize) -> u32 {
    match len {
        0..=4 => 1,
        5..=6 => 2,
        7..=9 => 3,
        _ => 4,
    }
}

/// Damerau-Levenshtein distance in half-steps where the edits a recogniser
/// makes most (vowel swaps, similar consonants, doubled letters, dropped h)
/// cost half. `None` once it exceeds `budget`.
fn sound_distance(a: &str, b: &str, budget: u32) -> Option<u32> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Recognisers rarely get the first sound wrong; skipping those keeps
    // "bill" from becoming "will".
    match (a.first(), b.first()) {
        (Some(x), Some(y)) if x == y || (is_vowel(*x) && is_vowel(*y)) => {}
        _ => return None,
    }
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0u32; m + 1]; n + 1];
    for i in 1..=n {
        d[i][0] = d[i - 1][0] + indel_cost(&a, i - 1);
    }
    for j in 1..=m {
        d[0][j] = d[0][j - 1] + indel_cost(&b, j - 1);
    }
    for i in 1..=n {
        let mut row_min = u32::MAX;
        for j in 1..=m {
            let sub = d[i - 1][j - 1] + substitution_cost(a[i - 1], b[j - 1]);
            let del = d[i - 1][j] + indel_cost(&a, i - 1);
            let ins = d[i][j - 1] + indel_cost(&b, j - 1);
            let mut best = sub.min(del).min(ins);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 2);
            }
            d[i][j] = best;
            row_min = row_min.min(best);
        }
        if row_min > budget {
            return None;
        }
    }
    (d[n][m] <= budget).then_some(d[n][m])
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

fn substitution_cost(x: char, y: char) -> u32 {
    if x == y {
        return 0;
    }
    let similar = |p: char, q: char| (x == p && y == q) || (x == q && y == p);
    let alike = (is_vowel(x) && is_vowel(y))
        || similar('c', 'k')
        || similar('c', 's')
        || similar('s', 'z')
        || similar('f', 'v')
        || similar('m', 'n')
        || similar('b', 'p')
        || similar('d', 't')
        || similar('g', 'j')
        || similar('g', 'k');
    if alike { 1 } else { 2 }
}

/// Inserting or dropping a letter: half for vowels, `h` and doubled letters.
fn indel_cost(word: &[char], i: usize) -> u32 {
    let c = word[i];
    let doubled = (i > 0 && word[i - 1] == c) || word.get(i + 1) == Some(&c);
    if is_vowel(c) || c == 'h' || doubled {
        1
    } else {
        2
    }
}

// ---------------------------------------------------------------------------
// Explicit requests for a person.

/// Words that on their own ask for a person, with the edit budget (half
/// steps) a misrecognised form may take.
const PERSON_WORDS: &[(&str, u32)] = &[
    ("agent", 1),
    ("agents", 1),
    ("representative", 6),
    ("representatives", 6),
    ("rep", 0),
    ("reps", 0),
    ("operator", 2),
    ("human", 1),
    ("humans", 1),
    ("receptionist", 2),
    ("attendant", 3),
];

/// Words that ask for a person only with a verb of talking ("speak to
/// someone") or a qualifier ("a real person").
const PERSON_NOUNS: &[&str] = &[
    "person",
    "someone",
    "somebody",
    "anyone",
    "anybody",
    "staff",
    "manager",
    "supervisor",
    "associate",
    "advisor",
    "adviser",
    "consultant",
    "service",
    "support",
    "care",
];
/// Present-tense requests only: "I talked to someone yesterday" is a story,
/// not a request.
const TALK_VERBS: &[&str] = &[
    "speak", "talk", "chat", "transfer", "connect", "reach", "patch",
];
/// Verbs that ask for a person only when followed by "me": "get me someone",
/// "put me through to a person".
const ME_VERBS: &[&str] = &["get", "put", "give"];
const QUALIFIERS: &[&str] = &["real", "live", "actual", "living"];

/// Chinese ways of asking for a person, and their sounds for misrecognised
/// characters (人工 heard as 人公).
const PERSON_HAN: &[&str] = &[
    "人工",
    "转人",
    "真人",
    "客服",
    "接线员",
    "话务员",
    "坐席",
    "座席",
    "工作人员",
    "服务人员",
    "活人",
];
const PERSON_PINYIN: &[&[&str]] = &[
    &["ren", "gong"],
    &["zhuan", "ren"],
    &["zhen", "ren"],
    &["ke", "fu"],
];

fn asks_for_person(tokens: &Tokens) -> bool {
    let words: Vec<&str> = tokens.texts().collect();
    let is_person_word = |w: &str, budget_cap: u32| {
        PERSON_WORDS.iter().any(|(p, budget)| {
            let budget = (*budget).min(budget_cap);
            w == *p || (budget > 0 && w.len() >= 4 && sound_distance(w, p, budget).is_some())
        }) || (w.starts_with("repre") && w.len() >= 10)
    };
    if words.iter().any(|w| is_person_word(w, u32::MAX)) {
        return true;
    }
    // Split by the recogniser: "a gent", "rep resentative". Only near-exact
    // joins count, or "reception at" would become "receptionist".
    if words
        .windows(2)
        .any(|p| is_person_word(&format!("{}{}", p[0], p[1]), 1))
    {
        return true;
    }
    // "customer service", "someone please": nothing but the person asked for.
    let content: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| {
            !matches!(
                *w,
                "please" | "um" | "uh" | "a" | "an" | "the" | "some" | "just"
            )
        })
        .collect();
    if matches!(
        content.as_slice(),
        ["customer", "service" | "support" | "care"] | ["someone" | "somebody" | "person"]
    ) {
        return true;
    }
    for (i, word) in words.iter().enumerate() {
        if !PERSON_NOUNS.contains(word) {
            continue;
        }
        let from = i.saturating_sub(4);
        let before = &words[from..i];
        if i > 0 && QUALIFIERS.contains(&words[i - 1]) {
            return true;
        }
        let service_word = matches!(*word, "service" | "support" | "care");
        if service_word && (i == 0 || words[i - 1] != "customer") {
            continue;
        }
        let asks = before.iter().enumerate().any(|(k, w)| {
            TALK_VERBS.contains(w)
                || (ME_VERBS.contains(w) && matches!(words.get(from + k + 1), Some(&("me" | "us"))))
        });
        if asks {
            return true;
        }
        // "I need someone", "I want a person": the wish ends the sentence.
        let near_end = i + 2 >= words.len();
        let wish = before
            .iter()
            .rev()
            .take(3)
            .any(|w| matches!(*w, "want" | "need" | "like"));
        if near_end && wish {
            return true;
        }
    }
    let han: String = tokens.han.iter().collect();
    if PERSON_HAN.iter().any(|p| han.contains(p)) {
        return true;
    }
    let sounds: Vec<&str> = tokens.han.iter().map(|c| pinyin_of(*c)).collect();
    PERSON_PINYIN
        .iter()
        .any(|p| sounds.windows(p.len()).any(|w| w == *p))
}

// ---------------------------------------------------------------------------
// Features: TF-IDF over groups of raw feature counts.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Group {
    Word,
    Bigram,
    Chars,
    Han,
    HanBigram,
    Pinyin,
}

const GROUPS: [Group; 6] = [
    Group::Word,
    Group::Bigram,
    Group::Chars,
    Group::Han,
    Group::HanBigram,
    Group::Pinyin,
];

impl Group {
    fn weight(self, t: &Tuning) -> f32 {
        match self {
            Group::Word => t.word,
            Group::Bigram => t.bigram,
            Group::Chars => t.chars,
            Group::Han => t.han,
            Group::HanBigram => t.han_bigram,
            Group::Pinyin => t.pinyin,
        }
    }
}

/// Ordered so that sums over it (the vector norms) come out bit-identical
/// on every run.
#[derive(Debug, Default)]
struct RawFeatures {
    counts: BTreeMap<(Group, String), f32>,
    /// Stems of words that carry no request of their own ("the", "want").
    generic: BTreeSet<String>,
}

impl RawFeatures {
    fn add(&mut self, group: Group, feature: &str, weight: f32) {
        *self.counts.entry((group, feature.to_string())).or_default() += weight;
    }
}

type SparseVec = Vec<(u32, f32)>;

struct FeatureSpace {
    index: HashMap<(Group, String), u32>,
    idf: Vec<f32>,
    /// IDF of a feature seen in no training example.
    unseen_idf: f32,
}

impl FeatureSpace {
    fn fit(docs: &[RawFeatures]) -> FeatureSpace {
        let mut index = HashMap::new();
        let mut df: Vec<u32> = Vec::new();
        for doc in docs {
            for key in doc.counts.keys() {
                let next = index.len() as u32;
                let id = *index.entry(key.clone()).or_insert(next);
                if id as usize == df.len() {
                    df.push(0);
                }
                df[id as usize] += 1;
            }
        }
        let n = docs.len() as f32;
        let idf = df
            .iter()
            .map(|&d| ((n + 1.0) / (d as f32 + 1.0)).ln() + 1.0)
            .collect();
        FeatureSpace {
            index,
            idf,
            unseen_idf: (n + 1.0).ln() + 1.0,
        }
    }

    fn len(&self) -> usize {
        self.idf.len()
    }

    /// The content words (and Chinese characters) of an utterance with
    /// their informativeness (sub-linear TF times IDF); words never seen in
    /// training are the most informative of all, and speak for no intent.
    fn terms(&self, raw: &RawFeatures) -> Vec<Term> {
        raw.counts
            .iter()
            .filter(|((group, feature), _)| match group {
                Group::Word => !raw.generic.contains(feature),
                Group::Han => !feature.chars().all(text::is_function_han),
                _ => false,
            })
            .map(|((group, feature), &count)| {
                let tf = if count <= 1.0 {
                    count
                } else {
                    1.0 + count.ln()
                };
                let id = self.index.get(&(*group, feature.clone())).copied();
                let idf = id.map_or(self.unseen_idf, |id| self.idf[id as usize]);
                Term {
                    id,
                    weight: tf * idf,
                }
            })
            .collect()
    }

    /// Sub-linear TF-IDF, each group scaled to unit length times its weight,
    /// then the whole to unit length. Unknown features count (partly) in the
    /// norms so that mostly-unknown utterances give weak vectors.
    fn vectorize(&self, raw: &RawFeatures, t: &Tuning) -> SparseVec {
        let mut known: HashMap<Group, Vec<(u32, f32)>> = HashMap::new();
        let mut norms: HashMap<Group, f32> = HashMap::new();
        for ((group, feature), &count) in &raw.counts {
            let tf = if count <= 1.0 {
                count
            } else {
                1.0 + count.ln()
            };
            match self.index.get(&(*group, feature.clone())) {
                Some(&id) => {
                    let w = tf * self.idf[id as usize];
                    *norms.entry(*group).or_default() += w * w;
                    known.entry(*group).or_default().push((id, w));
                }
                None => {
                    let w = tf * self.unseen_idf * t.unknown_mass;
                    *norms.entry(*group).or_default() += w * w;
                }
            }
        }
        let mut out: SparseVec = Vec::new();
        let mut total = 0.0f32;
        for group in GROUPS {
            let Some(norm) = norms.get(&group) else {
                continue;
            };
            let weight = group.weight(t);
            total += weight * weight;
            let scale = weight / norm.sqrt().max(1e-9);
            for &(id, w) in known.get(&group).into_iter().flatten() {
                out.push((id, w * scale));
            }
        }
        let scale = 1.0 / total.sqrt().max(1e-9);
        for (_, w) in &mut out {
            *w *= scale;
        }
        out.sort_by_key(|(id, _)| *id);
        out
    }
}

/// One feature of an utterance, for weighing the evidence.
#[derive(Debug, Clone, Copy)]
struct Term {
    /// `None` for a feature no training example has.
    id: Option<u32>,
    weight: f32,
}

// ---------------------------------------------------------------------------
// Evidence: how much of what was said speaks for an intent.

/// For every feature, the share of the training examples holding it that
/// belong to each class. A garbled transcript ("tell me I'm your") is made of
/// generic words every intent uses and of words no intent knows; the model
/// still picks a winner, often with a high probability, but only a small part
/// of the utterance's informative weight speaks for it. That share is what
/// the calibrator reads as evidence.
struct Evidence {
    shares: HashMap<u32, Vec<(usize, f32)>>,
    unseen_idf: f32,
}

impl Evidence {
    /// Prior weight of the smoothing: a word seen once in one class speaks
    /// for it only half.
    const SMOOTHING: f32 = 2.0;

    fn new(docs: &[Vec<Term>], labels: &[usize], unseen_idf: f32) -> Evidence {
        let mut counts: HashMap<u32, BTreeMap<usize, f32>> = HashMap::new();
        for (doc, &label) in docs.iter().zip(labels) {
            for term in doc {
                if let Some(id) = term.id {
                    *counts.entry(id).or_default().entry(label).or_default() += 1.0;
                }
            }
        }
        let shares = counts
            .into_iter()
            .map(|(id, by_class)| {
                let total: f32 = by_class.values().sum::<f32>() + Self::SMOOTHING;
                (
                    id,
                    by_class.into_iter().map(|(c, n)| (c, n / total)).collect(),
                )
            })
            .collect();
        Evidence { shares, unseen_idf }
    }

    /// Per class, the share (0..1) of the utterance's informative weight that
    /// speaks for it, and that weight itself in units of a never-seen word's
    /// (how many clear content words speak for it).
    fn support(&self, terms: &[Term], classes: usize) -> Vec<(f32, f32)> {
        let total: f32 = terms.iter().map(|t| t.weight).sum();
        let mut for_class = vec![0.0f32; classes];
        for term in terms {
            let shares = term.id.and_then(|id| self.shares.get(&id));
            for &(c, share) in shares.into_iter().flatten() {
                for_class[c] += term.weight * share;
            }
        }
        for_class
            .into_iter()
            .map(|v| (v / total.max(1e-9), v / self.unseen_idf))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Classifiers.

/// Multinomial logistic regression trained by SGD with L2 decay; weights are
/// stored feature-major so one sparse feature touches one contiguous row.
struct LogisticRegression {
    weights: Vec<f32>,
    bias: Vec<f32>,
    classes: usize,
}

impl LogisticRegression {
    fn train(
        docs: &[SparseVec],
        labels: &[usize],
        classes: usize,
        features: usize,
        t: &Tuning,
    ) -> Self {
        let mut weights = vec![0.0f32; features * classes];
        let mut bias = vec![0.0f32; classes];
        // W = scale * V makes the L2 decay O(1) per step.
        let mut scale = 1.0f32;
        let mut order: Vec<usize> = (0..docs.len()).collect();
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut scores = vec![0.0f32; classes];
        let mut active: Vec<usize> = Vec::with_capacity(classes);
        let mut step = 0u32;
        for _ in 0..t.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let lr = t.learning_rate / (1.0 + t.learning_rate * t.l2 * step as f32);
                step += 1;
                scores.copy_from_slice(&bias);
                for &(f, x) in &docs[i] {
                    let row = &weights[f as usize * classes..][..classes];
                    for (s, w) in scores.iter_mut().zip(row) {
                        *s += scale * x * w;
                    }
                }
                softmax(&mut scores);
                scores[labels[i]] -= 1.0;
                scale *= 1.0 - lr * t.l2;
                // Most classes get a negligible gradient once training is
                // under way; skipping them makes large dialplans train fast.
                active.clear();
                active.extend((0..classes).filter(|&c| scores[c].abs() > 1e-3));
                for &(f, x) in &docs[i] {
                    let row = &mut weights[f as usize * classes..][..classes];
                    let g = lr * x / scale;
                    for &c in &active {
                        row[c] -= g * scores[c];
                    }
                }
                for (b, s) in bias.iter_mut().zip(&scores) {
                    *b -= lr * s;
                }
                if scale < 1e-3 {
                    weights.iter_mut().for_each(|w| *w *= scale);
                    scale = 1.0;
                }
            }
        }
        weights.iter_mut().for_each(|w| *w *= scale);
        LogisticRegression {
            weights,
            bias,
            classes,
        }
    }

    fn probabilities(&self, doc: &SparseVec) -> Vec<f32> {
        let mut scores = self.bias.clone();
        for &(f, x) in doc {
            let row = &self.weights[f as usize * self.classes..][..self.classes];
            for (s, w) in scores.iter_mut().zip(row) {
                *s += x * w;
            }
        }
        softmax(&mut scores);
        scores
    }
}

fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}

/// Cosine similarity to the training examples through an inverted index.
struct Neighbours {
    postings: Vec<Vec<(u32, f32)>>,
    labels: Vec<usize>,
}

impl Neighbours {
    fn new(docs: &[SparseVec], labels: &[usize], features: usize) -> Neighbours {
        let mut postings = vec![Vec::new(); features];
        for (d, doc) in docs.iter().enumerate() {
            for &(f, w) in doc {
                postings[f as usize].push((d as u32, w));
            }
        }
        Neighbours {
            postings,
            labels: labels.to_vec(),
        }
    }

    /// For each class, the similarity of its most similar example.
    fn best_per_class(&self, query: &SparseVec, classes: usize) -> Vec<f32> {
        let mut dots = vec![0.0f32; self.labels.len()];
        for &(f, q) in query {
            for &(d, w) in &self.postings[f as usize] {
                dots[d as usize] += q * w;
            }
        }
        let mut best = vec![0.0f32; classes];
        for (dot, &label) in dots.iter().zip(&self.labels) {
            best[label] = best[label].max(*dot);
        }
        best
    }
}

/// The training examples as the calibrator sees them.
#[derive(Clone, Copy)]
struct Examples<'a> {
    vectors: &'a [SparseVec],
    terms: &'a [Vec<Term>],
    labels: &'a [usize],
}

/// Garbled versions of the training examples (none where an example has too
/// few content words), as vectors and evidence terms.
struct Garbled {
    fully: Vec<Option<(SparseVec, Vec<Term>)>>,
    half: Vec<Option<(SparseVec, Vec<Term>)>>,
}

/// Maps a class's probability and nearest-example similarity to the chance
/// that routing there is right (Platt scaling on two signals). Fitted at load
/// time on out-of-fold predictions, so it adapts to the dialplan: 13 intents
/// with 30 examples each and 150 intents with 100 each give very different
/// raw probabilities for the same certainty.
struct Calibrator {
    /// Weights of logit(p), similarity, evidence share, evidence amount and
    /// the intercept.
    w: [f32; INPUTS],
}

const INPUTS: usize = 5;

impl Calibrator {
    fn confidence(&self, p: f32, similarity: f32, support: (f32, f32)) -> f32 {
        let x = Self::inputs(p, similarity, support);
        let z: f32 = self.w.iter().zip(&x).map(|(w, x)| w * x).sum();
        1.0 / (1.0 + (-z).exp())
    }

    fn inputs(p: f32, similarity: f32, (share, amount): (f32, f32)) -> [f32; INPUTS] {
        let p = p.clamp(1e-4, 1.0 - 1e-4);
        [(p / (1.0 - p)).ln(), similarity, share, amount.ln_1p(), 1.0]
    }

    /// Trains `folds` models, each without one fold of the examples and
    /// without one group of classes, and learns from their best in-scope
    /// guesses on what they did not see: left-out examples of known classes
    /// show what right and wrong guesses look like, examples of left-out
    /// classes show what out-of-scope requests look like.
    fn cross_fit(
        examples: &Examples,
        garbled: &Garbled,
        unseen_idf: f32,
        classes: usize,
        out_of_scope: Option<usize>,
        t: &Tuning,
    ) -> Self {
        let Examples {
            vectors: docs,
            terms,
            labels,
        } = *examples;
        let features = docs
            .iter()
            .flatten()
            .map(|(f, _)| *f as usize + 1)
            .max()
            .unwrap_or(0);
        let folds = t.folds.max(2);
        let hidden_class = |c: usize, fold: usize| Some(c) != out_of_scope && c % folds == fold;
        let mut samples: Vec<Sample> = Vec::new();
        let mut unseen: Vec<Sample> = Vec::new();
        let mut nonsense: Vec<Sample> = Vec::new();
        for fold in 0..folds {
            let train: Vec<usize> = (0..docs.len())
                .filter(|&i| i % folds != fold && !hidden_class(labels[i], fold))
                .collect();
            let train_docs: Vec<SparseVec> = train.iter().map(|&i| docs[i].clone()).collect();
            let train_labels: Vec<usize> = train.iter().map(|&i| labels[i]).collect();
            let model = LogisticRegression::train(&train_docs, &train_labels, classes, features, t);
            let neighbours = Neighbours::new(&train_docs, &train_labels, features);
            let train_terms: Vec<Vec<Term>> = train.iter().map(|&i| terms[i].clone()).collect();
            let evidence = Evidence::new(&train_terms, &train_labels, unseen_idf);
            let known = |c: usize| Some(c) != out_of_scope && !hidden_class(c, fold);
            for i in (0..docs.len()).filter(|i| i % folds == fold) {
                let p = model.probabilities(&docs[i]);
                let s = neighbours.best_per_class(&docs[i], classes);
                let e = evidence.support(&terms[i], classes);
                let versions = [(&garbled.fully[i], false), (&garbled.half[i], true)];
                for (version, recognisable) in versions {
                    let Some((vector, terms)) = version else {
                        continue;
                    };
                    let p = model.probabilities(vector);
                    let s = neighbours.best_per_class(vector, classes);
                    let e = evidence.support(terms, classes);
                    if let Some(best) = (0..classes)
                        .filter(|&c| known(c))
                        .max_by(|a, b| p[*a].total_cmp(&p[*b]))
                    {
                        nonsense.push(Sample {
                            x: Self::inputs(p[best], s[best], e[best]),
                            right: recognisable && labels[i] == best,
                            weight: 1.0,
                        });
                    }
                }
                let Some(best) = (0..classes)
                    .filter(|&c| known(c))
                    .max_by(|a, b| p[*a].total_cmp(&p[*b]))
                else {
                    continue;
                };
                let sample = Sample {
                    x: Self::inputs(p[best], s[best], e[best]),
                    right: labels[i] == best,
                    weight: 1.0,
                };
                if known(labels[i]) || Some(labels[i]) == out_of_scope {
                    samples.push(sample);
                } else {
                    unseen.push(sample);
                }
            }
        }
        // Unseen-class examples stand for out-of-scope callers; weigh them as
        // a share of the traffic rather than a third of it.
        let share = t.unseen_share * samples.len() as f32 / unseen.len().max(1) as f32;
        let garbled_share = t.garbled_share * samples.len() as f32 / nonsense.len().max(1) as f32;
        samples.extend(unseen.into_iter().map(|s| Sample { weight: share, ..s }));
        samples.extend(nonsense.into_iter().map(|s| Sample {
            weight: garbled_share,
            ..s
        }));
        // Anchors keep the fit sane when examples are few or all correct:
        // nothing alike is wrong, an exact match with certainty is right.
        let uniform = 1.0 / classes.max(2) as f32;
        for (p, s, e, right) in [
            (uniform, 0.0, (0.0, 0.0), false),
            (uniform, 0.1, (0.1, 0.1), false),
            (0.99, 1.0, (1.0, 2.0), true),
        ] {
            samples.push(Sample {
                x: Self::inputs(p, s, e),
                right,
                weight: 1.0,
            });
        }
        Calibrator {
            w: fit_logistic(&samples),
        }
    }
}

/// Plain gradient descent on a 3-weight logistic regression with a little
/// L2 decay; the slopes are kept non-negative (more probability or more
/// similarity never lowers confidence).
struct Sample {
    x: [f32; INPUTS],
    right: bool,
    weight: f32,
}

fn fit_logistic(samples: &[Sample]) -> [f32; INPUTS] {
    let mut w = [1.0f32, 1.0, 1.0, 1.0, 0.0];
    let n: f32 = samples.iter().map(|s| s.weight).sum();
    for _ in 0..2000 {
        let mut grad = [0.0f32; INPUTS];
        for sample in samples {
            let z: f32 = w.iter().zip(&sample.x).map(|(w, x)| w * x).sum();
            let err = 1.0 / (1.0 + (-z).exp()) - f32::from(u8::from(sample.right));
            for (g, x) in grad.iter_mut().zip(&sample.x) {
                *g += sample.weight * err * x / n;
            }
        }
        for k in 0..INPUTS {
            let slope = k + 1 < INPUTS;
            let decay = if slope { 1e-3 * w[k] } else { 0.0 };
            w[k] -= 0.5 * (grad[k] + decay);
            if slope {
                w[k] = w[k].max(0.0);
            }
        }
    }
    w
}

/// Deterministic shuffling without a dependency on a random-number crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::parse_dialplan;
    use std::path::Path;

    const PLAN: &str = r#"
name = "t"
default_queue = "general"
queues = ["general", "billing"]
greeting = { en = "Hello" }
[router]
out_of_scope = ["what is the weather", "tell me a joke", "order a pizza"]
[[intents]]
name = "human_agent"
keywords = ["agent", "representative"]
examples.en = ["talk to a person"]
action = { type = "queue", queue = "general" }
[[intents]]
name = "pay_bill"
examples.en = ["pay my bill", "I want to make a payment", "pay the bill by card", "settle my bill"]
examples.zh = ["交话费", "我要缴费"]
action = { type = "queue", queue = "billing" }
[[intents]]
name = "roaming"
examples.en = ["roaming abroad", "using my phone overseas", "international roaming charges", "travel abroad"]
examples.zh = ["国际漫游", "出国漫游"]
action = { type = "queue", queue = "general" }
"#;

    fn router() -> Router {
        Router::new(&parse_dialplan(PLAN, Path::new("t.toml")).unwrap())
    }

    fn words(text: &str) -> Tokens {
        let analyzer = Analyzer::new(&BTreeMap::new(), 4);
        analyzer.tokens(text)
    }

    #[test]
    fn routes_examples_misspellings_and_chinese() {
        let r = router();
        assert_eq!(
            r.classify("I'd like to pay my bill").intent.as_deref(),
            Some("pay_bill")
        );
        assert_eq!(
            r.classify("roming charges overseas").intent.as_deref(),
            Some("roaming")
        );
        assert_eq!(r.classify("我想交話費").intent.as_deref(), Some("pay_bill"));
    }

    #[test]
    fn confidences_are_probabilities_and_ranked_best_first() {
        let r = router();
        for text in [
            "pay my bill",
            "what's the weather",
            "roaming",
            "交话费",
            "xyzzy",
        ] {
            let c = r.classify(text);
            assert!((0.0..=1.0).contains(&c.confidence), "{text}: {c:?}");
            assert!(c.ranked.len() <= 3);
            assert!(
                c.ranked.windows(2).all(|w| w[0].1 >= w[1].1),
                "{text}: {c:?}"
            );
            assert_eq!(c.ranked.first().map(|r| r.1), Some(c.confidence));
        }
    }

    #[test]
    fn empty_and_unknown_input_is_rejected() {
        let r = router();
        let empty = r.classify("  ... ");
        assert_eq!(empty.intent, None);
        assert_eq!(empty.confidence, 0.0);
        assert_eq!(r.classify("tell me a joke please").intent, None);
    }

    #[test]
    fn same_dialplan_gives_same_answers() {
        let (a, b) = (router(), router());
        for text in ["pay my bill", "roaming", "what", "转人工"] {
            assert_eq!(a.classify(text), b.classify(text));
        }
    }

    #[test]
    fn person_requests_override_the_model() {
        let r = router();
        for text in [
            "can I talk to a real person about my bill",
            "a gent",
            "representitive",
            "转人工",
            "人公服务",
        ] {
            let c = r.classify(text);
            assert_eq!(c.intent.as_deref(), Some("human_agent"), "{text}: {c:?}");
            assert!(c.confidence >= PERSON_CONFIDENCE);
        }
    }

    #[test]
    fn person_detection_ignores_look_alikes() {
        for text in [
            "really bad reception at my house",
            "hours of operation",
            "someone stole my phone",
            "I need someone to fix my internet",
            "my agenda is full",
            "I get charged when people call me",
            "I talked to someone yesterday about my refund",
        ] {
            assert!(!asks_for_person(&words(text)), "{text}");
        }
        for text in [
            "let me speak to someone",
            "customer service",
            "live agent",
            "I want a person",
        ] {
            assert!(asks_for_person(&words(text)), "{text}");
        }
    }

    #[test]
    fn sound_distance_forgives_recogniser_errors_only() {
        assert!(sound_distance("roming", "roaming", 2).is_some());
        assert!(sound_distance("representitive", "representative", 2).is_some());
        assert!(sound_distance("bill", "will", 4).is_none());
        assert!(sound_distance("puppy", "pay", 2).is_none());
        assert_eq!(sound_distance("agent", "agent", 0), Some(0));
        assert_eq!(sound_distance("", "agent", 9), None);
    }

    #[test]
    fn evidence_comes_from_content_words_only() {
        let r = router();
        let support = |text: &str| {
            let raw = r.analyzer.features(&r.analyzer.tokens(text));
            r.evidence.support(&r.space.terms(&raw), r.classes.len())
        };
        let roaming = r.classes.iter().position(|c| c == "roaming").unwrap();
        assert!(
            support("the my to you and")
                .iter()
                .all(|&(share, amount)| share == 0.0 && amount == 0.0)
        );
        let (share, amount) = support("roaming abroad")[roaming];
        assert!(share > 0.4 && amount > 0.5, "{share} {amount}");
        let (diluted, _) = support("roaming zorblax quintic")[roaming];
        assert!(diluted < share, "{diluted} {share}");
    }

    #[test]
    fn unknown_words_are_corrected_to_known_ones() {
        let r = router();
        let fixed = r
            .analyzer
            .correct(r.analyzer.tokens("roming and paymint"), 1.0);
        let texts: Vec<&str> = fixed.texts().collect();
        assert_eq!(texts, vec!["roaming", "and", "payment"]);
    }
}
