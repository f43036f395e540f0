//! Prosody measured through a phone line moves with the speaker: a higher
//! voice has a higher median pitch, faster speech a higher syllable rate,
//! a louder voice a higher loudness.
//!
//! Speech is rendered on the fly with espeak-ng (`-p` pitch, `-s` speed,
//! `-a` amplitude), band-limited to 300-3400 Hz at 8 kHz with sox, sent
//! through mu-law and upsampled back to 16 kHz as the engine would.

#[path = "common/phone.rs"]
mod phone;

use phone::Scratch;

use ivr::media::g711::{ulaw_decode, ulaw_encode};
use ivr::media::prosody::{ProsodyFeatures, analyze};
use ivr::media::resample::upsample_8k_to_16k;
use ivr::media::wav::read_wav;

const TEXT: &str = "Hello, I am calling because my card was declined at the shop today.";

/// Prosody of `TEXT` spoken with the given espeak-ng options, over a phone
/// line.
fn prosody(scratch: &Scratch, voice: &str, options: &[&str]) -> ProsodyFeatures {
    let name = format!("{voice}{}", options.join("")).replace(['-', '+'], "_");
    let phone = phone::phone_wav(scratch, &name, voice, options, TEXT);
    let audio = read_wav(&phone).unwrap();
    let line: Vec<i16> = audio
        .samples
        .iter()
        .map(|&s| ulaw_decode(ulaw_encode(s)))
        .collect();
    analyze(&upsample_8k_to_16k(&line))
}

/// Each value at least `min_step` (relative) above the one before.
fn rises(values: &[f32], min_step: f32) -> bool {
    values.windows(2).all(|w| w[1] > w[0] * (1.0 + min_step))
}

#[test]
fn median_pitch_rises_with_espeak_pitch() {
    let scratch = Scratch::new("prosody-pitch");
    for voice in ["en-us", "en-gb+f3"] {
        let medians: Vec<f32> = ["20", "50", "80"]
            .iter()
            .map(|p| {
                let features = prosody(&scratch, voice, &["-p", p]);
                features.pitch_median_hz.expect("voiced speech has a pitch")
            })
            .collect();
        assert!(rises(&medians, 0.05), "{voice}: {medians:?}");
        assert!(
            medians.iter().all(|hz| (60.0..=400.0).contains(hz)),
            "{voice}: {medians:?}"
        );
    }
}

#[test]
fn a_female_voice_is_higher_than_a_male_one() {
    let scratch = Scratch::new("prosody-gender");
    let male = prosody(&scratch, "en-us+m3", &[]).pitch_median_hz.unwrap();
    let female = prosody(&scratch, "en-us+f3", &[]).pitch_median_hz.unwrap();
    assert!(female > male * 1.3, "male {male} Hz, female {female} Hz");
}

#[test]
fn syllable_rate_rises_with_espeak_speed() {
    let scratch = Scratch::new("prosody-speed");
    for voice in ["en-us", "en-gb+f3"] {
        let features: Vec<ProsodyFeatures> = ["110", "170", "250"]
            .iter()
            .map(|s| prosody(&scratch, voice, &["-s", s]))
            .collect();
        let rates: Vec<f32> = features.iter().map(|f| f.syllable_rate).collect();
        assert!(rises(&rates, 0.1), "{voice}: {rates:?}");
        // Plausible speech: 2 to 10 syllables a second.
        assert!(rates.iter().all(|r| (2.0..=10.0).contains(r)), "{rates:?}");
        let durations: Vec<f32> = features.iter().map(|f| f.duration_s).collect();
        assert!(durations.windows(2).all(|w| w[1] < w[0]), "{durations:?}");
    }
}

#[test]
fn loudness_rises_with_espeak_amplitude() {
    let scratch = Scratch::new("prosody-amplitude");
    let levels: Vec<f32> = ["40", "100", "190"]
        .iter()
        .map(|a| prosody(&scratch, "en-us", &["-a", a]).loudness_dbfs)
        .collect();
    // Amplitude is linear: 40 -> 100 is about 8 dB, 100 -> 190 about 5.6.
    assert!(levels.windows(2).all(|w| w[1] > w[0] + 3.0), "{levels:?}");
}
