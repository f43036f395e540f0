//! Prosody of one utterance: pitch, loudness and speaking rate, the acoustic
//! half of the agitation score.
//!
//! One pass of the shared 10 ms frame analysis (8 kHz phone band, YIN) over
//! the utterance. Pitch comes from clearly voiced frames only, with octave
//! jumps folded back towards the utterance's median; the syllable rate counts
//! peaks of the band-energy envelope that sit in voiced speech, per second
//! of speaking time (pauses longer than a quarter second left out).

use serde::Serialize;

use super::pitch::{FRAME_MS, FrameAnalyzer, MAX_F0_HZ, MIN_F0_HZ, SILENCE_DB};

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

/// Frames this far below the loudest are not looked at (breaths, line).
const DYNAMIC_RANGE_DB: f32 = 30.0;
/// Nothing quieter than this is speech.
const MIN_LEVEL_DBFS: f32 = -60.0;
/// Stricter than the VAD's voicing check: pitch must be trustworthy.
const MAX_APERIODICITY: f32 = 0.3;
/// A syllable is an envelope peak at least this far above the dips on
/// both sides.
const SYLLABLE_DIP_DB: f32 = 3.0;
/// Unvoiced stretches longer than this are pauses, not speaking time.
const PAUSE_MS: u64 = 250;
/// Envelope smoothing: frames either side of the centre.
const SMOOTH_FRAMES: usize = 2;

struct FrameStats {
    band_db: f32,
    raw_db: f32,
    /// F0 when the frame is clearly voiced.
    f0_hz: Option<f32>,
}

/// Analyse 16 kHz mono samples in -1..1.
pub fn analyze(pcm_16k: &[f32]) -> ProsodyFeatures {
    let frames = analyse_frames(pcm_16k);
    let duration_s = pcm_16k.len() as f32 / 16_000.0;
    let Some(loudest) = frames.iter().map(|f| f.band_db).reduce(f32::max) else {
        return ProsodyFeatures {
            duration_s,
            loudness_dbfs: SILENCE_DB,
            ..ProsodyFeatures::default()
        };
    };
    let gate = (loudest - DYNAMIC_RANGE_DB).max(MIN_LEVEL_DBFS);
    let voiced: Vec<bool> = frames
        .iter()
        .map(|f| f.f0_hz.is_some() && f.band_db > gate)
        .collect();
    let voiced_count = voiced.iter().filter(|v| **v).count();

    let f0s: Vec<f32> = frames
        .iter()
        .zip(&voiced)
        .filter(|(_, v)| **v)
        .filter_map(|(f, _)| f.f0_hz)
        .collect();
    let f0s = fold_octave_jumps(f0s);
    let pitch_median_hz = percentile(&f0s, 0.5);
    let pitch_range_st = match (percentile(&f0s, 0.1), percentile(&f0s, 0.9)) {
        (Some(low), Some(high)) => 12.0 * (high / low).log2(),
        _ => 0.0,
    };

    let loudness_dbfs = if voiced_count > 0 {
        mean_db(
            frames
                .iter()
                .zip(&voiced)
                .filter(|(_, v)| **v)
                .map(|(f, _)| f.raw_db),
        )
    } else {
        mean_db(frames.iter().map(|f| f.raw_db))
    };

    let speaking_frames = speaking_frames(&voiced);
    let syllable_rate = if speaking_frames > 0 {
        let syllables = count_syllables(&frames, &voiced, gate);
        syllables as f32 / (speaking_frames as f32 * FRAME_MS as f32 / 1000.0)
    } else {
        0.0
    };

    ProsodyFeatures {
        duration_s,
        pitch_median_hz,
        pitch_range_st,
        loudness_dbfs,
        syllable_rate,
        voiced_ratio: voiced_count as f32 / frames.len() as f32,
    }
}

fn analyse_frames(pcm_16k: &[f32]) -> Vec<FrameStats> {
    let mut analyzer = FrameAnalyzer::new();
    let mut frames = Vec::with_capacity(pcm_16k.len() / 160 + 1);
    // YIN only on frames that can pass the final gate: the loudest frame
    // so far only grows, so this never skips one that would.
    let mut loudest = SILENCE_DB;
    analyzer.push(pcm_16k, |frame| {
        loudest = loudest.max(frame.band_db);
        let candidate = frame.band_db > (loudest - DYNAMIC_RANGE_DB).max(MIN_LEVEL_DBFS);
        let f0_hz = candidate
            .then(|| frame.pitch())
            .filter(|p| p.aperiodicity < MAX_APERIODICITY)
            .map(|p| p.f0_hz)
            .filter(|f0| (MIN_F0_HZ..=MAX_F0_HZ).contains(f0));
        frames.push(FrameStats {
            band_db: frame.band_db,
            raw_db: frame.raw_db,
            f0_hz,
        });
    });
    frames
}

/// Halve or double estimates that sit about an octave from the median,
/// the typical YIN slip on a weak fundamental.
fn fold_octave_jumps(mut f0s: Vec<f32>) -> Vec<f32> {
    let Some(median) = percentile(&f0s, 0.5) else {
        return f0s;
    };
    for f0 in &mut f0s {
        let octaves = (*f0 / median).log2();
        if octaves > 0.75 {
            *f0 /= 2f32.powf(octaves.round());
        } else if octaves < -0.75 {
            *f0 *= 2f32.powf(-octaves.round());
        }
    }
    f0s
}

fn percentile(values: &[f32], q: f32) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let position = q * (sorted.len() - 1) as f32;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    let weight = position - low as f32;
    Some(sorted[low] * (1.0 - weight) + sorted[high] * weight)
}

/// Power average of levels in dB.
fn mean_db(levels: impl Iterator<Item = f32>) -> f32 {
    let (sum, count) = levels.fold((0.0f64, 0usize), |(sum, count), db| {
        (sum + 10f64.powf(f64::from(db) / 10.0), count + 1)
    });
    if count == 0 {
        return SILENCE_DB;
    }
    ((10.0 * (sum / count as f64).log10()) as f32).max(SILENCE_DB)
}

/// Frames from the first to the last voiced one, less unvoiced stretches
/// longer than [`PAUSE_MS`].
fn speaking_frames(voiced: &[bool]) -> usize {
    let pause_frames = (PAUSE_MS / FRAME_MS) as usize;
    let (Some(first), Some(last)) = (
        voiced.iter().position(|v| *v),
        voiced.iter().rposition(|v| *v),
    ) else {
        return 0;
    };
    let mut speaking = 0;
    let mut gap = 0;
    for &v in &voiced[first..=last] {
        if v {
            // Short gaps are consonants and closures inside speech.
            if gap <= pause_frames {
                speaking += gap;
            }
            speaking += 1;
            gap = 0;
        } else {
            gap += 1;
        }
    }
    speaking
}

/// Peaks of the smoothed band-energy envelope with a dip of at least
/// [`SYLLABLE_DIP_DB`] on both sides, counted when the peak is voiced.
fn count_syllables(frames: &[FrameStats], voiced: &[bool], gate: f32) -> usize {
    let power: Vec<f32> = frames
        .iter()
        .map(|f| 10f32.powf(f.band_db / 10.0))
        .collect();
    let envelope: Vec<f32> = (0..power.len())
        .map(|i| {
            let window =
                &power[i.saturating_sub(SMOOTH_FRAMES)..(i + SMOOTH_FRAMES + 1).min(power.len())];
            10.0 * (window.iter().sum::<f32>() / window.len() as f32)
                .max(1e-12)
                .log10()
        })
        .collect();

    let mut syllables = 0;
    // Hysteresis: climb to a peak, confirm it once the envelope has fallen
    // SYLLABLE_DIP_DB below it, then wait for a rise of as much from the
    // next dip.
    let mut valley = f32::INFINITY;
    let mut peak: Option<(usize, f32)> = None;
    for (i, &level) in envelope.iter().enumerate() {
        match peak {
            None => {
                valley = valley.min(level);
                if level > valley + SYLLABLE_DIP_DB {
                    peak = Some((i, level));
                }
            }
            Some((at, top)) => {
                if level > top {
                    peak = Some((i, level));
                } else if level < top - SYLLABLE_DIP_DB {
                    if is_voiced_near(voiced, at) && top > gate {
                        syllables += 1;
                    }
                    peak = None;
                    valley = level;
                }
            }
        }
    }
    // An utterance that ends on a peak (cut off mid-vowel) still counts it.
    if let Some((at, top)) = peak
        && is_voiced_near(voiced, at)
        && top > gate
    {
        syllables += 1;
    }
    syllables
}

fn is_voiced_near(voiced: &[bool], at: usize) -> bool {
    voiced[at.saturating_sub(SMOOTH_FRAMES)..(at + SMOOTH_FRAMES + 1).min(voiced.len())]
        .iter()
        .any(|v| *v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    const RATE: f32 = 16_000.0;

    /// A voice-like buzz through a phone line: harmonics 2..=20 of an F0
    /// contour (the fundamental itself high-passed away), with amplitude
    /// envelope `envelope(t)`.
    fn voice(seconds: f32, f0: impl Fn(f32) -> f32, envelope: impl Fn(f32) -> f32) -> Vec<f32> {
        let mut phase = 0.0f32;
        (0..(seconds * RATE) as usize)
            .map(|i| {
                let t = i as f32 / RATE;
                let f = f0(t);
                phase = (phase + 2.0 * PI * f / RATE) % (2.0 * PI);
                let buzz: f32 = (2..=20)
                    .filter(|k| *k as f32 * f < 3400.0)
                    .map(|k| (k as f32 * phase).sin() / k as f32)
                    .sum();
                envelope(t) * buzz
            })
            .collect()
    }

    fn power_db(x: &[f32]) -> f32 {
        10.0 * (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).log10()
    }

    #[test]
    fn steady_voice_has_its_f0_and_no_range() {
        for f0 in [85.0, 120.0, 210.0, 320.0] {
            let pcm = voice(1.0, |_| f0, |_| 0.1);
            let p = analyze(&pcm);
            let median = p.pitch_median_hz.unwrap();
            assert!((median / f0 - 1.0).abs() < 0.02, "{f0}: {median}");
            assert!(p.pitch_range_st < 0.5, "{f0}: {}", p.pitch_range_st);
            assert!(p.voiced_ratio > 0.9, "{f0}: {}", p.voiced_ratio);
            assert!((p.loudness_dbfs - power_db(&pcm)).abs() < 0.5);
            assert!((p.duration_s - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn pulse_train_without_fundamental_gives_its_rate() {
        // Glottal-like pulses at 100 Hz, high-passed with a first difference
        // twice, which leaves little of the 100 Hz component.
        let pulses: Vec<f32> = (0..16000)
            .map(|i| if i % 160 == 0 { 0.5 } else { 0.0 })
            .collect();
        let diff = |x: &[f32]| -> Vec<f32> {
            std::iter::once(x[0])
                .chain(x.windows(2).map(|w| w[1] - w[0]))
                .collect()
        };
        let pcm = diff(&diff(&pulses));
        let median = analyze(&pcm).pitch_median_hz.unwrap();
        assert!((median - 100.0).abs() < 2.0, "{median}");
    }

    #[test]
    fn a_glide_spans_its_range_in_semitones() {
        // 100 Hz to 200 Hz, exponentially: one octave in 1.5 s.
        let pcm = voice(1.5, |t| 100.0 * 2f32.powf(t / 1.5), |_| 0.1);
        let p = analyze(&pcm);
        // The 10th to 90th percentile of a uniform glide in semitones.
        let expected = 0.8 * 12.0;
        assert!(
            (p.pitch_range_st - expected).abs() < 1.0,
            "{}",
            p.pitch_range_st
        );
        let median = p.pitch_median_hz.unwrap();
        assert!((median / 141.4 - 1.0).abs() < 0.05, "{median}");
    }

    #[test]
    fn syllable_rate_follows_the_rhythm() {
        let mut rates = Vec::new();
        for per_second in [2.0f32, 4.0, 6.0] {
            // Voiced syllables with near silence between them.
            let pcm = voice(
                3.0,
                |t| 130.0 + 15.0 * (2.0 * PI * 0.7 * t).sin(),
                |t| 0.1 * (PI * per_second * t).sin().powi(2).powf(1.5),
            );
            let p = analyze(&pcm);
            assert!(
                (p.syllable_rate / per_second - 1.0).abs() < 0.25,
                "{per_second}/s: {}",
                p.syllable_rate
            );
            rates.push(p.syllable_rate);
        }
        assert!(rates.windows(2).all(|w| w[0] < w[1]), "{rates:?}");
    }

    #[test]
    fn loudness_tracks_gain() {
        let quiet = voice(1.0, |_| 150.0, |_| 0.01);
        let loud: Vec<f32> = quiet.iter().map(|s| s * 10.0).collect();
        let (q, l) = (analyze(&quiet), analyze(&loud));
        assert!((l.loudness_dbfs - q.loudness_dbfs - 20.0).abs() < 0.5);
        assert_eq!(q.pitch_median_hz.is_some(), l.pitch_median_hz.is_some());
    }

    #[test]
    fn silence_and_noise_have_no_pitch() {
        let silence = analyze(&[0.0; 16000]);
        assert_eq!(silence.pitch_median_hz, None);
        assert_eq!(silence.voiced_ratio, 0.0);
        assert_eq!(silence.syllable_rate, 0.0);
        assert!(silence.loudness_dbfs.is_finite());

        let mut seed = 99u32;
        let noise: Vec<f32> = (0..16000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((seed >> 8) as f32 / (1 << 24) as f32 - 0.5) * 0.2
            })
            .collect();
        let p = analyze(&noise);
        assert!(p.voiced_ratio < 0.05, "{}", p.voiced_ratio);

        let empty = analyze(&[]);
        assert_eq!(empty.pitch_median_hz, None);
        assert_eq!(empty.duration_s, 0.0);
    }
}
