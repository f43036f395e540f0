//! `ivr bench media`: what one call's incoming audio costs the CPU, per
//! second of call, measured in-process on the sans-IO pipeline (no sockets,
//! no Whisper). Each stage runs over every fixture as one call would receive
//! it (20 ms RTP packets), repeated, and is timed on this thread's CPU clock
//! so time stolen by other processes on a shared machine is not counted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::brain::intent::Router;
use crate::dialplan::{DialplanError, load_dialplan};
use crate::media::g711;
use crate::media::prosody;
use crate::media::resample::Upsampler;
use crate::media::vad::{Endpointer, VadConfig, VadEvent};
use crate::media::wav::{self, WavError};
use crate::rtp::{FRAME_SAMPLES, G711, MediaReceiver, MediaSender, ReceiverConfig};
use crate::runtime::load::Stats;
use crate::session::{Input, Session, SessionConfig};

#[derive(Debug, thiserror::Error)]
pub enum MediaBenchError {
    #[error("cannot list {path}: {source}")]
    Fixtures {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no 8 kHz WAV fixtures in {0}")]
    NoFixtures(PathBuf),
    #[error(transparent)]
    Wav(#[from] WavError),
    #[error(transparent)]
    Dialplan(#[from] DialplanError),
}

#[derive(Debug, Clone)]
pub struct MediaBenchOptions {
    pub fixtures_dir: PathBuf,
    pub dialplan: PathBuf,
    /// Passes over every fixture; each gives one sample per stage.
    pub repeats: usize,
    /// A stage is rerun until it has used this much CPU, so the CPU clock's
    /// granularity (a scheduler tick, ~4 ms) stays under a few percent.
    pub min_stage_ms: u64,
}

/// CPU µs per second of call for each stage, one sample per pass.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaBenchReport {
    pub calls: usize,
    pub audio_s: f64,
    pub repeats: usize,
    /// `thread_cpu` when this thread's CPU clock was readable, else `wall`.
    pub clock: String,
    /// RTP parse, jitter buffer, G.711 decode: `MediaReceiver`.
    pub receive: Stats,
    /// G.711 decode alone.
    pub decode: Stats,
    /// 8 to 16 kHz.
    pub resample: Stats,
    /// Voice activity and endpointing.
    pub vad: Stats,
    /// Pitch, loudness and rate of each utterance.
    pub prosody: Stats,
    /// receive + resample + VAD + prosody, pass by pass.
    pub sum: Stats,
    /// The real per-call path in one go: `MediaReceiver` feeding a
    /// `Session` (resample, VAD, early-recognition pauses, prosody).
    pub pipeline: Stats,
}

/// One fixture prepared as a call receives it.
struct Call {
    packets: Vec<Vec<u8>>,
    /// The 20 ms payloads (mu-law).
    payloads: Vec<Vec<u8>>,
    frames_8k: Vec<[i16; FRAME_SAMPLES]>,
    frames_16k: Vec<Vec<f32>>,
    utterances: Vec<Vec<f32>>,
}

pub fn run_media_bench(opts: &MediaBenchOptions) -> Result<MediaBenchReport, MediaBenchError> {
    let calls = prepare(&fixture_wavs(&opts.fixtures_dir)?)?;
    let dialplan = Arc::new(load_dialplan(&opts.dialplan)?);
    let router = Arc::new(Router::new(&dialplan));
    let audio_s = calls.iter().map(|c| c.frames_8k.len()).sum::<usize>() as f64 * 0.02;
    let per_second = |ns: f64| ns / 1000.0 / audio_s;
    let clock = CpuClock::new();
    let min_ns = opts.min_stage_ms * 1_000_000;

    let mut samples: [Vec<f64>; 6] = Default::default();
    // One untimed pass first: page faults, caches, FFT plans.
    for pass in 0..=opts.repeats.max(1) {
        let ns = [
            clock.per_pass(min_ns, || receive(&calls)),
            clock.per_pass(min_ns, || decode(&calls)),
            clock.per_pass(min_ns, || resample(&calls)),
            clock.per_pass(min_ns, || vad(&calls)),
            clock.per_pass(min_ns, || prosody_of(&calls)),
            clock.per_pass(min_ns, || pipeline(&calls, &dialplan, &router)),
        ];
        if pass > 0 {
            for (s, ns) in samples.iter_mut().zip(ns) {
                s.push(per_second(ns));
            }
        }
    }
    let sum: Vec<f64> = (0..samples[0].len())
        .map(|i| samples[0][i] + samples[2][i] + samples[3][i] + samples[4][i])
        .collect();
    Ok(MediaBenchReport {
        calls: calls.len(),
        audio_s,
        repeats: opts.repeats.max(1),
        clock: clock.name().to_string(),
        receive: Stats::of(&samples[0]),
        decode: Stats::of(&samples[1]),
        resample: Stats::of(&samples[2]),
        vad: Stats::of(&samples[3]),
        prosody: Stats::of(&samples[4]),
        sum: Stats::of(&sum),
        pipeline: Stats::of(&samples[5]),
    })
}

/// Every 8 kHz WAV in `dir`, sorted.
fn fixture_wavs(dir: &Path) -> Result<Vec<PathBuf>, MediaBenchError> {
    let listing = std::fs::read_dir(dir).map_err(|source| MediaBenchError::Fixtures {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut wavs: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    wavs.sort();
    if wavs.is_empty() {
        return Err(MediaBenchError::NoFixtures(dir.to_path_buf()));
    }
    Ok(wavs)
}

fn prepare(wavs: &[PathBuf]) -> Result<Vec<Call>, MediaBenchError> {
    let mut calls = Vec::new();
    for path in wavs {
        let audio = wav::read_wav(path)?;
        if audio.sample_rate != 8000 {
            continue;
        }
        let mut sender = MediaSender::new(0x5eed, G711::Pcmu, 0, 1, 0);
        let mut upsampler = Upsampler::new();
        let mut endpointer = Endpointer::new(VadConfig::default());
        let mut call = Call {
            packets: Vec::new(),
            payloads: Vec::new(),
            frames_8k: Vec::new(),
            frames_16k: Vec::new(),
            utterances: Vec::new(),
        };
        for chunk in audio.samples.chunks(FRAME_SAMPLES) {
            let mut frame = [0i16; FRAME_SAMPLES];
            frame[..chunk.len()].copy_from_slice(chunk);
            let mut packet = Vec::new();
            sender.packetize(&frame, &mut packet);
            call.payloads.push(packet[12..].to_vec());
            call.packets.push(packet);
            let wide = upsampler.process(&frame);
            for event in endpointer.push(&wide) {
                if let VadEvent::Utterance(u) = event {
                    call.utterances.push(u.pcm_16k);
                }
            }
            call.frames_8k.push(frame);
            call.frames_16k.push(wide);
        }
        for event in endpointer.finish() {
            if let VadEvent::Utterance(u) = event {
                call.utterances.push(u.pcm_16k);
            }
        }
        calls.push(call);
    }
    if calls.is_empty() {
        return Err(MediaBenchError::NoFixtures(
            wavs.first().cloned().unwrap_or_default(),
        ));
    }
    Ok(calls)
}

/// Packets arrive on time, 20 ms apart; one frame is taken per packet.
fn receive(calls: &[Call]) -> u64 {
    let mut checksum = 0u64;
    for call in calls {
        let mut receiver = MediaReceiver::new(ReceiverConfig::new(G711::Pcmu));
        for (i, packet) in call.packets.iter().enumerate() {
            let now_ms = i as u64 * 20;
            receiver.push_packet(now_ms, packet);
            if let Some(frame) = receiver.poll_frame(now_ms) {
                checksum = checksum.wrapping_add(frame[0] as u64);
            }
        }
    }
    checksum
}

fn decode(calls: &[Call]) -> u64 {
    let mut checksum = 0u64;
    let mut out = [0i16; FRAME_SAMPLES];
    for call in calls {
        for payload in &call.payloads {
            g711::decode_ulaw_into(payload, &mut out);
            checksum = checksum.wrapping_add(out[0] as u64);
        }
    }
    checksum
}

fn resample(calls: &[Call]) -> u64 {
    let mut out = Vec::with_capacity(4 * FRAME_SAMPLES);
    let mut checksum = 0u64;
    for call in calls {
        let mut upsampler = Upsampler::new();
        for frame in &call.frames_8k {
            out.clear();
            upsampler.process_into(frame, &mut out);
            checksum = checksum.wrapping_add(out.len() as u64);
        }
    }
    checksum
}

fn vad(calls: &[Call]) -> u64 {
    let mut checksum = 0u64;
    for call in calls {
        let mut endpointer = Endpointer::new(VadConfig::default());
        for frame in &call.frames_16k {
            checksum = checksum.wrapping_add(endpointer.push(frame).len() as u64);
            if endpointer.take_pause().is_some() {
                checksum += 1;
            }
        }
    }
    checksum
}

fn prosody_of(calls: &[Call]) -> u64 {
    let mut checksum = 0u64;
    for call in calls {
        for u in &call.utterances {
            checksum = checksum.wrapping_add(prosody::analyze(u).duration_s as u64);
        }
    }
    checksum
}

fn pipeline(
    calls: &[Call],
    dialplan: &Arc<crate::dialplan::Dialplan>,
    router: &Arc<Router>,
) -> u64 {
    let mut checksum = 0u64;
    for call in calls {
        let mut config = SessionConfig::new(dialplan.language);
        config.early_recognition = true;
        let mut session = Session::new(dialplan.clone(), router.clone(), config);
        let mut receiver = MediaReceiver::new(ReceiverConfig::new(G711::Pcmu));
        for (i, packet) in call.packets.iter().enumerate() {
            let now_ms = i as u64 * 20;
            receiver.push_packet(now_ms, packet);
            if let Some(frame) = receiver.poll_frame(now_ms) {
                session.handle_input(now_ms, Input::Audio8k(&frame));
            }
            // Transcription requests are dropped: no Whisper here.
            while session.poll_output().is_some() {
                checksum += 1;
            }
        }
    }
    checksum
}

/// This thread's CPU time (Linux `schedstat`, ns; std has no CPU clock),
/// or wall time where it cannot be read.
struct CpuClock {
    thread_cpu: bool,
}

impl CpuClock {
    fn new() -> CpuClock {
        CpuClock {
            thread_cpu: thread_cpu_ns().is_some(),
        }
    }

    fn name(&self) -> &'static str {
        if self.thread_cpu {
            "thread_cpu"
        } else {
            "wall"
        }
    }

    fn now_ns(&self, wall: Instant) -> u64 {
        match self.thread_cpu.then(thread_cpu_ns).flatten() {
            Some(ns) => ns,
            None => wall.elapsed().as_nanos() as u64,
        }
    }

    /// Runs `work` until it has used `min_ns`; the time of one run.
    fn per_pass(&self, min_ns: u64, mut work: impl FnMut() -> u64) -> f64 {
        let wall = Instant::now();
        let start = self.now_ns(wall);
        let mut runs = 0u32;
        loop {
            std::hint::black_box(work());
            runs += 1;
            let used = self.now_ns(wall).saturating_sub(start);
            if used >= min_ns {
                return used as f64 / f64::from(runs);
            }
        }
    }
}

fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ivr-bench-media-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn an_empty_folder_is_a_clear_error() {
        let d = dir("empty");
        let err = fixture_wavs(&d).unwrap_err();
        assert!(matches!(err, MediaBenchError::NoFixtures(_)));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn every_stage_is_measured_on_a_tone_call() {
        let d = dir("tone");
        // One second of a 200 Hz tone between silences: one utterance.
        let mut samples = vec![0i16; 8000];
        samples.extend((0..8000).map(|i| {
            let t = i as f32 / 8000.0;
            (8000.0 * (2.0 * std::f32::consts::PI * 200.0 * t).sin()) as i16
        }));
        samples.extend(vec![0i16; 8000]);
        wav::write_wav_pcm16(&d.join("tone.wav"), 8000, &samples).unwrap();
        let report = run_media_bench(&MediaBenchOptions {
            fixtures_dir: d.clone(),
            dialplan: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/dialplans/hotline.toml"
            )),
            repeats: 2,
            min_stage_ms: 10,
        })
        .unwrap();
        std::fs::remove_dir_all(d).unwrap();
        assert_eq!(report.calls, 1);
        assert!((report.audio_s - 3.0).abs() < 0.03, "{}", report.audio_s);
        assert_eq!(report.pipeline.n, 2);
        assert!(report.pipeline.min > 0.0 && report.sum.min > 0.0);
    }

    #[test]
    fn thread_cpu_clock_advances_with_work() {
        let clock = CpuClock::new();
        let ns = clock.per_pass(5_000_000, || {
            (0..100_000u64).map(std::hint::black_box).sum()
        });
        assert!(ns > 0.0);
    }
}
