//! Test helpers for the intent router on the bundled hotline dialplan.
#![allow(dead_code)] // each test crate uses only some helpers

use ivr::brain::intent::Router;
use ivr::dialplan::load_dialplan;

pub fn hotline_router() -> Router {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/dialplans/hotline.toml");
    Router::new(&load_dialplan(path.as_ref()).expect("hotline dialplan loads"))
}

/// Asserts that at least `min_accuracy` of `cases` route to their intent,
/// printing every miss either way.
pub fn assert_routes(router: &Router, cases: &[(&str, &str)], min_accuracy: f32) {
    let mut misses = Vec::new();
    for (text, expected) in cases {
        let got = router.classify(text);
        if got.intent.as_deref() != Some(*expected) {
            misses.push(format!(
                "{text:?}: expected {expected}, got {:?} ({:.2})",
                got.intent, got.confidence
            ));
        }
    }
    let accuracy = 1.0 - misses.len() as f32 / cases.len() as f32;
    let misses = misses.join("\n");
    println!(
        "accuracy {accuracy:.3} over {}; misses:\n{misses}",
        cases.len()
    );
    assert!(
        accuracy >= min_accuracy,
        "accuracy {accuracy:.3}; misses:\n{misses}"
    );
}
