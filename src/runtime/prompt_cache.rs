//! Prompt audio ready to play, by the call core's prompt key. Lookups are
//! synchronous so a cached answer starts on the very next 20 ms tick; misses
//! are rendered (espeak-ng or a WAV file) on a blocking thread.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::brain::asr::Language;
use crate::runtime::tts::{PromptRenderer, TtsError};

pub struct PromptCache {
    renderer: PromptRenderer,
    ready: RwLock<HashMap<String, Arc<[i16]>>>,
}

impl PromptCache {
    pub fn new(renderer: PromptRenderer) -> PromptCache {
        PromptCache {
            renderer,
            ready: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &str) -> Option<Arc<[i16]>> {
        self.ready.read().ok()?.get(key).cloned()
    }

    /// Renders (or loads) a prompt and keeps it under `key`. Blocking.
    pub fn render(
        &self,
        key: &str,
        text: &str,
        language: Language,
        wav: Option<&Path>,
    ) -> Result<Arc<[i16]>, TtsError> {
        if let Some(pcm) = self.get(key) {
            return Ok(pcm);
        }
        let pcm = match wav {
            Some(path) => self.renderer.load_wav(path)?,
            None => self.renderer.render(text, language)?,
        };
        if let Ok(mut ready) = self.ready.write() {
            ready.insert(key.to_string(), pcm.clone());
        }
        Ok(pcm)
    }
}
