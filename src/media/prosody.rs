//! Prosody of one utterance: pitch, loudness and speaking rate, the acoustic
//! half of the agitation score.

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProsodyFeatures {
    pub duration_s: f32,
    /// Median F0 over voiced frames; `None` when nothing was voiced.
    pub pitch_median_hz: Option<f32>,
    /// Spread of F0 (10th to 90th percentile) in semitones.
    pub pitch_range_st: f32,
    /// RMS level of the voiced frames in dBFS.
    pub loudness_dbfs: f32,
    /// Estimated syllables per second (energy-envelope peaks).
    pub syllable_rate: f32,
    /// Share of frames that are voiced.
    pub voiced_ratio: f32,
}

/// Analyse 16 kHz mono samples in -1..1.
pub fn analyze(_pcm_16k: &[f32]) -> ProsodyFeatures {
    ProsodyFeatures::default()
}
