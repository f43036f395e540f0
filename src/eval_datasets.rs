//! Router accuracy on public intent datasets, each turned into a dialplan in
//! memory: BANKING77 (77 intents, a fixed held-out split of its training
//! file) and CLINC150 (150 intents plus out-of-scope queries).

use crate::brain::asr::Language;
use crate::brain::intent::Router;
use crate::dialplan::{DialplanError, dialplan_from_examples};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// How well the router did on one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetScore {
    pub dataset: String,
    pub intents: usize,
    pub train_examples: usize,
    pub test_examples: usize,
    /// In-scope test utterances routed to the right intent (a rejection counts
    /// as wrong).
    pub accuracy: f32,
    /// In-scope test utterances whose best-ranked intent is right, whatever
    /// the confidence.
    pub top1_accuracy: f32,
    /// In-scope test utterances wrongly rejected as out of scope.
    pub rejected: f32,
    /// Present when the dataset has out-of-scope test utterances.
    pub out_of_scope: Option<OutOfScopeScore>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutOfScopeScore {
    pub test_examples: usize,
    /// Out-of-scope utterances rejected.
    pub recall: f32,
    /// Rejections that were really out of scope.
    pub precision: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: no column {column:?}")]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("{path}: no split {split:?}")]
    MissingSplit { path: PathBuf, split: &'static str },
    #[error(transparent)]
    Dialplan(#[from] DialplanError),
}

type Rows = Vec<(String, String)>;

/// BANKING77 `train.csv` (`text,category`): every fifth example of each
/// intent is held out for testing, the rest trains the router.
pub fn banking77(path: &Path) -> Result<DatasetScore, DatasetError> {
    let rows = read_csv(path)?;
    let (train, test) = hold_out_every_fifth(rows);
    score("banking77", train, Vec::new(), &test, &[])
}

/// CLINC150 `train_val.json`: trains on `train` (with `oos_train` as the
/// examples of what to reject), tests on `val` and `oos_val`.
pub fn clinc150(path: &Path) -> Result<DatasetScore, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut splits: HashMap<String, Rows> =
        serde_json::from_str(&text).map_err(|source| DatasetError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    let mut split = |name: &'static str| {
        splits.remove(name).ok_or(DatasetError::MissingSplit {
            path: path.to_path_buf(),
            split: name,
        })
    };
    let train = split("train")?;
    let oos_train: Vec<String> = split("oos_train")?.into_iter().map(|(t, _)| t).collect();
    let test = split("val")?;
    let oos_test: Vec<String> = split("oos_val")?.into_iter().map(|(t, _)| t).collect();
    score("clinc150", train, oos_train, &test, &oos_test)
}

fn read_csv(path: &Path) -> Result<Rows, DatasetError> {
    let csv_error = |source| DatasetError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::Reader::from_path(path).map_err(csv_error)?;
    let headers = reader.headers().map_err(csv_error)?.clone();
    let column = |names: &[&str], column: &'static str| {
        headers
            .iter()
            .position(|h| names.contains(&h.trim()))
            .ok_or(DatasetError::MissingColumn {
                path: path.to_path_buf(),
                column,
            })
    };
    let text = column(&["text"], "text")?;
    let label = column(&["label", "category", "intent"], "label")?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        rows.push((field(text), field(label)));
    }
    Ok(rows)
}

/// Deterministic split: the 5th, 10th, ... example of each label is test.
fn hold_out_every_fifth(rows: Rows) -> (Rows, Rows) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (text, label) in rows {
        let n = seen.entry(label.clone()).or_default();
        *n += 1;
        if n.is_multiple_of(5) {
            test.push((text, label));
        } else {
            train.push((text, label));
        }
    }
    (train, test)
}

fn score(
    name: &str,
    train: Rows,
    oos_train: Vec<String>,
    test: &Rows,
    oos_test: &[String],
) -> Result<DatasetScore, DatasetError> {
    let train_examples = train.len() + oos_train.len();
    let mut plan = dialplan_from_examples(name, Language::En, train)?;
    plan.router.out_of_scope = oos_train;
    let router = Router::new(&plan);
    let (mut correct, mut top1, mut rejected) = (0usize, 0usize, 0usize);
    for (text, label) in test {
        let c = router.classify(text);
        correct += usize::from(c.intent.as_deref() == Some(label.as_str()));
        top1 += usize::from(c.ranked.first().is_some_and(|(best, _)| best == label));
        rejected += usize::from(c.intent.is_none());
    }
    let out_of_scope = (!oos_test.is_empty()).then(|| {
        let caught = oos_test
            .iter()
            .filter(|t| router.classify(t).intent.is_none())
            .count();
        OutOfScopeScore {
            test_examples: oos_test.len(),
            recall: ratio(caught, oos_test.len()),
            precision: ratio(caught, caught + rejected),
        }
    });
    Ok(DatasetScore {
        dataset: name.to_string(),
        intents: plan.intents.len(),
        train_examples,
        test_examples: test.len() + oos_test.len(),
        accuracy: ratio(correct, test.len()),
        top1_accuracy: ratio(top1, test.len()),
        rejected: ratio(rejected, test.len()),
        out_of_scope,
    })
}

fn ratio(part: usize, whole: usize) -> f32 {
    if whole == 0 {
        0.0
    } else {
        part as f32 / whole as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_out_every_fifth_example_per_label() {
        let rows: Rows = (0..12)
            .map(|i| {
                (
                    format!("text {i}"),
                    if i % 2 == 0 { "a" } else { "b" }.to_string(),
                )
            })
            .collect();
        let (train, test) = hold_out_every_fifth(rows);
        assert_eq!(test.len(), 2);
        assert_eq!(train.len(), 10);
        assert!(test.iter().any(|(_, l)| l == "a") && test.iter().any(|(_, l)| l == "b"));
    }
}
