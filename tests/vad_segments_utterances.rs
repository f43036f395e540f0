//! The endpointer turns phone-line audio into one utterance per spoken
//! sentence: nothing from silence, line noise, clicks or coughs, and
//! sentence boundaries within 150 ms of the truth for quiet and loud
//! speakers, in clean and 15 dB SNR noise.
//!
//! Speech is rendered on the fly with espeak-ng and sox the way it reaches
//! the engine: 8 kHz, 300-3400 Hz, G.711, then upsampled to 16 kHz.

use std::path::Path;

#[path = "common/phone.rs"]
mod phone;

use phone::{Scratch, run};

use ivr::media::g711::{ulaw_decode, ulaw_encode};
use ivr::media::resample::Upsampler;
use ivr::media::vad::{Endpointer, Utterance, VadConfig, VadEvent};
use ivr::media::wav::{read_wav, to_16k_f32, write_wav_pcm16};

const RATE: usize = 8000;
const TOLERANCE_MS: u64 = 150;

fn read_8k(path: &Path) -> Vec<f32> {
    let audio = read_wav(path).unwrap();
    assert_eq!(audio.sample_rate, RATE as u32);
    audio
        .samples
        .iter()
        .map(|&s| f32::from(s) / 32768.0)
        .collect()
}

/// One sentence as a phone line carries it (8 kHz, 300-3400 Hz), trimmed to
/// where the speech is.
fn speak(scratch: &Scratch, name: &str, voice: &str, text: &str) -> Vec<f32> {
    let phone = phone::phone_wav(scratch, name, voice, &["-s", "165"], text);
    let pcm = read_8k(&phone);
    let (start, end) = audible_bounds(&pcm, 0.0);
    pcm[start..end].to_vec()
}

/// Line noise of a sox colour, band-limited like the line.
fn line_noise(scratch: &Scratch, colour: &str, seconds: f32) -> Vec<f32> {
    let path = scratch.path(&format!("{colour}.wav"));
    run(
        "sox",
        &[
            "-R",
            "-n",
            "-r",
            "8000",
            "-b",
            "16",
            "-c",
            "1",
            path.to_str().unwrap(),
            "synth",
            &seconds.to_string(),
            colour,
            "vol",
            "0.5",
            "sinc",
            "300-3400",
        ],
    );
    read_8k(&path)
}

/// Several talkers at once, for background babble.
fn babble(scratch: &Scratch, seconds: f32) -> Vec<f32> {
    let talkers = [
        (
            "en-us+m3",
            "The weather today is expected to be cloudy with some rain.",
        ),
        (
            "en-gb+f2",
            "Please remember to bring the documents to the meeting.",
        ),
        (
            "en+m5",
            "We went to the market and bought apples, pears and bread.",
        ),
        (
            "en-us+f4",
            "My brother is moving to a new apartment next month.",
        ),
    ];
    let len = (seconds * RATE as f32) as usize;
    let mut mix = vec![0.0; len];
    for (i, (voice, text)) in talkers.iter().enumerate() {
        let speech = speak(scratch, &format!("babble{i}"), voice, text);
        let offset = i * 1700;
        for (n, sample) in mix.iter_mut().enumerate() {
            *sample += speech[(n + offset) % speech.len()];
        }
    }
    mix
}

/// First and last sample of the 10 ms frames that are within 35 dB of the
/// loudest and above `floor_power`: where speech can be heard.
fn audible_bounds(pcm: &[f32], floor_power: f32) -> (usize, usize) {
    let energies: Vec<f32> = pcm.chunks(80).map(mean_square).collect();
    let peak = energies.iter().cloned().fold(0.0, f32::max);
    let threshold = (peak * 10f32.powf(-3.5)).max(floor_power);
    let first = energies.iter().position(|e| *e > threshold).unwrap();
    let last = energies.iter().rposition(|e| *e > threshold).unwrap();
    (first * 80, ((last + 1) * 80).min(pcm.len()))
}

fn mean_square(x: &[f32]) -> f32 {
    x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32
}

/// Mean power of the frames within 35 dB of the loudest: the active speech
/// level, which SNR and speaker level refer to.
fn active_power(pcm: &[f32]) -> f32 {
    let energies: Vec<f32> = pcm.chunks(80).map(mean_square).collect();
    let peak = energies.iter().cloned().fold(0.0, f32::max);
    let active: Vec<f32> = energies
        .into_iter()
        .filter(|e| *e > peak * 10f32.powf(-3.5))
        .collect();
    active.iter().sum::<f32>() / active.len() as f32
}

fn scale(pcm: &mut [f32], gain: f32) {
    pcm.iter_mut().for_each(|s| *s *= gain);
}

/// The call as the engine gets it: mu-law over the line (clipping loud
/// callers), then upsampled in 20 ms packets and endpointed.
fn endpoint_call(pcm_8k: &[f32]) -> Vec<VadEvent> {
    let codes: Vec<u8> = pcm_8k
        .iter()
        .map(|&s| ulaw_encode((s * 32768.0).clamp(-32768.0, 32767.0) as i16))
        .collect();
    let mut upsampler = Upsampler::new();
    let mut vad = Endpointer::new(VadConfig::default());
    let mut events = Vec::new();
    let mut packet = [0i16; 160];
    for chunk in codes.chunks(160) {
        for (out, &code) in packet.iter_mut().zip(chunk) {
            *out = ulaw_decode(code);
        }
        let pcm_16k = upsampler.process(&packet[..chunk.len()]);
        events.extend(vad.push(&pcm_16k));
    }
    events.extend(vad.push(&upsampler.flush()));
    events.extend(vad.finish());
    events
}

fn utterances(events: &[VadEvent]) -> Vec<&Utterance> {
    events
        .iter()
        .filter_map(|e| match e {
            VadEvent::Utterance(u) => Some(u),
            VadEvent::SpeechStarted { .. } => None,
        })
        .collect()
}

/// A call: sentences with silences between them.
struct Call {
    pcm: Vec<f32>,
    /// Sample range of each sentence.
    sentences: Vec<std::ops::Range<usize>>,
}

impl Call {
    fn new(lead_s: f32, parts: &[(&[f32], f32)]) -> Self {
        let mut pcm = vec![0.0; (lead_s * RATE as f32) as usize];
        let mut sentences = Vec::new();
        for (speech, pause_after_s) in parts {
            let start = pcm.len();
            pcm.extend_from_slice(speech);
            sentences.push(start..pcm.len());
            pcm.extend(std::iter::repeat_n(
                0.0,
                (pause_after_s * RATE as f32) as usize,
            ));
        }
        Call { pcm, sentences }
    }

    /// The call with the speech at `level_db` (active speech level, dBFS).
    fn at_level(&self, level_db: f32) -> Call {
        let power = self
            .sentences
            .iter()
            .map(|range| active_power(&self.pcm[range.clone()]))
            .fold(f32::INFINITY, f32::min);
        let mut pcm = self.pcm.clone();
        scale(&mut pcm, (10f32.powf(level_db / 10.0) / power).sqrt());
        Call {
            pcm,
            sentences: self.sentences.clone(),
        }
    }

    /// Where each sentence can be heard over noise of `noise_power`, in ms.
    fn truth(&self, noise_power: f32) -> Vec<(u64, u64)> {
        self.sentences
            .iter()
            .map(|range| {
                let (start, end) = audible_bounds(&self.pcm[range.clone()], noise_power);
                (
                    ((range.start + start) / 8) as u64,
                    ((range.start + end) / 8) as u64,
                )
            })
            .collect()
    }

    /// The call with `noise` mixed in `snr_db` below the speech level
    /// `level_db`; returns the audio and the noise power.
    fn with_noise(&self, noise: &[f32], level_db: f32, snr_db: f32) -> (Vec<f32>, f32) {
        let noise_power = 10f32.powf((level_db - snr_db) / 10.0);
        let gain = (noise_power / mean_square(noise)).sqrt();
        let mut pcm = self.pcm.clone();
        for (s, n) in pcm.iter_mut().zip(noise) {
            *s += gain * n;
        }
        (pcm, noise_power)
    }
}

/// Checks the events against the true sentence spans; `Err` says how they
/// differ.
fn compare_with_truth(case: &str, events: &[VadEvent], truth: &[(u64, u64)]) -> Result<(), String> {
    let found = utterances(events);
    let spans: Vec<(u64, u64)> = found.iter().map(|u| (u.start_ms, u.end_ms)).collect();
    let fail = |why: &str| Err(format!("{case}: {why}; found {spans:?}, truth {truth:?}"));
    if found.len() != truth.len() {
        return fail("wrong number of utterances");
    }
    for (u, &(start, end)) in found.iter().zip(truth) {
        if u.start_ms.abs_diff(start) > TOLERANCE_MS || u.end_ms.abs_diff(end) > TOLERANCE_MS {
            return fail("boundary off");
        }
        // The audio covers the speech with a little margin either side.
        if (u.pcm_16k.len() as u64 / 16) < u.end_ms - u.start_ms + 200 {
            return fail("audio shorter than speech plus margins");
        }
    }
    let started = events
        .iter()
        .filter(|e| matches!(e, VadEvent::SpeechStarted { .. }))
        .count();
    if started != truth.len() {
        return fail("one SpeechStarted per utterance expected");
    }
    Ok(())
}

#[test]
fn silence_gives_no_utterance() {
    assert!(endpoint_call(&vec![0.0; 5 * RATE]).is_empty());
}

#[test]
fn line_noise_alone_gives_no_utterance() {
    let scratch = Scratch::new("vad-noise");
    for colour in ["whitenoise", "pinknoise", "brownnoise"] {
        let noise = line_noise(&scratch, colour, 6.0);
        for level_db in [-60.0f32, -40.0, -20.0] {
            let mut pcm = noise.clone();
            scale(
                &mut pcm,
                (10f32.powf(level_db / 10.0) / mean_square(&noise)).sqrt(),
            );
            let events = endpoint_call(&pcm);
            assert!(events.is_empty(), "{colour} at {level_db} dBFS: {events:?}");
        }
    }
}

#[test]
fn clicks_and_coughs_give_no_utterance() {
    let scratch = Scratch::new("vad-cough");
    let hiss = line_noise(&scratch, "whitenoise", 8.0);
    let burst_source = line_noise(&scratch, "pinknoise", 1.0);
    let mut pcm = hiss.clone();
    scale(&mut pcm, (1e-5 / mean_square(&hiss)).sqrt());
    // Cough-like bursts: 150 ms of noise with a sharp attack and a decay,
    // from quiet to very loud; and single-sample clicks.
    for (i, peak) in [0.05f32, 0.3, 0.9].iter().enumerate() {
        let at = (1 + i * 2) * RATE;
        let burst_len = 150 * RATE / 1000;
        for n in 0..burst_len {
            let envelope = (1.0 - n as f32 / burst_len as f32).powi(2);
            pcm[at + n] += peak * envelope * burst_source[n] / 0.5;
        }
        pcm[at + RATE] = *peak;
    }
    let events = endpoint_call(&pcm);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn two_sentences_give_two_utterances_for_any_speaker_and_line() {
    let scratch = Scratch::new("vad-speech");
    let noises = [
        ("white", line_noise(&scratch, "whitenoise", 12.0)),
        ("brown", line_noise(&scratch, "brownnoise", 12.0)),
        ("babble", babble(&scratch, 12.0)),
    ];
    let mut failures = Vec::new();
    for voice in ["en-us", "en-us+f3"] {
        let first = speak(
            &scratch,
            "first",
            voice,
            "I would like to check the balance on my account.",
        );
        let second = speak(
            &scratch,
            "second",
            voice,
            "Can you tell me when the next payment is due?",
        );
        let call = Call::new(1.0, &[(&first, 1.5), (&second, 1.0)]);
        for level_db in [-35.0f32, -22.0, -10.0] {
            let call = call.at_level(level_db);
            let case = format!("{voice} at {level_db} dBFS, clean line");
            let events = endpoint_call(&call.pcm);
            failures.extend(compare_with_truth(&case, &events, &call.truth(0.0)).err());
            for (name, noise) in &noises {
                let (noisy, noise_power) = call.with_noise(noise, level_db, 15.0);
                let case = format!("{voice} at {level_db} dBFS, {name} noise at 15 dB SNR");
                let events = endpoint_call(&noisy);
                failures.extend(compare_with_truth(&case, &events, &call.truth(noise_power)).err());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn short_answers_are_utterances_of_their_own() {
    let scratch = Scratch::new("vad-answers");
    let noise = line_noise(&scratch, "whitenoise", 8.0);
    let yes = speak(&scratch, "yes", "en-us", "Yes.");
    let no = speak(&scratch, "no", "en-gb+f2", "No, thanks.");
    let five = speak(&scratch, "five", "en-us+m3", "Five.");
    let call = Call::new(0.8, &[(&yes, 1.2), (&no, 1.2), (&five, 1.0)]).at_level(-25.0);
    let (noisy, noise_power) = call.with_noise(&noise, -25.0, 15.0);
    compare_with_truth(
        "short answers",
        &endpoint_call(&noisy),
        &call.truth(noise_power),
    )
    .unwrap();
}

#[test]
fn a_mu_law_wav_file_segments_the_same_way() {
    let scratch = Scratch::new("vad-wav");
    let first = speak(
        &scratch,
        "first",
        "en-gb",
        "Hello, I need some help with my bill.",
    );
    let second = speak(
        &scratch,
        "second",
        "en-gb",
        "It was charged twice this month.",
    );
    let call = Call::new(0.6, &[(&first, 1.6), (&second, 0.8)]).at_level(-26.0);
    let linear = scratch.path("call.wav");
    let ulaw = scratch.path("call-ulaw.wav");
    let samples: Vec<i16> = call.pcm.iter().map(|s| (s * 32768.0) as i16).collect();
    write_wav_pcm16(&linear, RATE as u32, &samples).unwrap();
    run(
        "sox",
        &[
            linear.to_str().unwrap(),
            "-e",
            "u-law",
            ulaw.to_str().unwrap(),
        ],
    );
    let audio = read_wav(&ulaw).unwrap();
    let mut vad = Endpointer::new(VadConfig::default());
    let mut events = Vec::new();
    for chunk in to_16k_f32(&audio).chunks(320) {
        events.extend(vad.push(chunk));
    }
    events.extend(vad.finish());
    compare_with_truth("mu-law WAV", &events, &call.truth(0.0)).unwrap();
}
