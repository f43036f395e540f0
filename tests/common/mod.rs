//! Shared test harness: repository paths, loaded brains (one per language,
//! loaded once per test binary) and the fixture set.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use ivr::brain::asr::Language;
use ivr::runtime::replay::{Brain, BrainOptions};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn shared() -> PathBuf {
    repo().join("../shared")
}

/// The bundled hotline brain for a language, on the real Whisper model that
/// `make test` installs first (tiny.en for English, base for Mandarin).
pub fn brain(language: Language) -> Arc<Brain> {
    static EN: OnceLock<Arc<Brain>> = OnceLock::new();
    static ZH: OnceLock<Arc<Brain>> = OnceLock::new();
    let cell = match language {
        Language::En => &EN,
        Language::Zh => &ZH,
    };
    cell.get_or_init(|| {
        let opts = BrainOptions {
            dialplan: repo().join("dialplans/hotline.toml"),
            model: None,
            language: Some(language),
            models_dir: repo().join("models"),
            beam_size: 1,
            full_window: false,
        };
        Arc::new(
            Brain::load(&opts).unwrap_or_else(|e| {
                panic!("{e} (run `make test`, which installs the models first)")
            }),
        )
    })
    .clone()
}

pub fn fixtures() -> Vec<ivr::eval_fixtures::Fixture> {
    ivr::eval_fixtures::load_fixtures(&repo().join("audio-fixtures")).expect("fixtures load")
}
