//! The router, trained at load time from a public intent dataset turned into
//! a dialplan, reaches the accuracy of a good lexical classifier on held-out
//! data, and rejects most out-of-scope queries.

use ivr::eval_datasets::{banking77, clinc150};
use std::path::Path;

#[test]
fn banking77_held_out_accuracy() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/datasets/banking77/train.csv"
    ));
    let score = banking77(path).expect("banking77 loads");
    println!("{score:?}");
    assert_eq!(score.intents, 77);
    assert!(score.top1_accuracy >= 0.85, "{score:?}");
    assert!(score.accuracy >= 0.75, "{score:?}");
}

#[test]
fn clinc150_in_scope_accuracy_and_out_of_scope_rejection() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/datasets/clinc150/train_val.json"
    ));
    let score = clinc150(path).expect("clinc150 loads");
    println!("{score:?}");
    let oos = score
        .out_of_scope
        .clone()
        .expect("clinc150 has out-of-scope queries");
    assert!(score.top1_accuracy >= 0.88, "{score:?}");
    assert!(score.accuracy >= 0.8, "{score:?}");
    assert!(oos.recall >= 0.6, "{score:?}");
}
