//! Frame analysis shared by the VAD and prosody: 16 kHz input is cut to the
//! phone band (halfband decimation to 8 kHz, 200 Hz high-pass) and into
//! 10 ms frames, each with its band energy and, on request, its F0 and
//! periodicity by YIN.
//!
//! Everything runs at 8 kHz because phone speech carries nothing above
//! 4 kHz, which halves the cost. The high-pass removes hum and the
//! low-frequency rumble of brown or traffic noise, which would otherwise
//! look periodic; YIN finds F0 from the harmonics even when the fundamental
//! itself is gone (300 Hz high-passed phone lines, low voices).

/// Analysis sample rate.
pub const RATE_HZ: u32 = 8_000;
/// Samples per 10 ms frame at [`RATE_HZ`].
pub const HOP: usize = 80;
/// Frame length in milliseconds.
pub const FRAME_MS: u64 = 10;
/// Highest F0 searched (shortest period).
pub const MAX_F0_HZ: f32 = 400.0;
/// Lowest F0 searched (longest period).
pub const MIN_F0_HZ: f32 = 60.0;
const TAU_MIN: usize = (RATE_HZ as f32 / MAX_F0_HZ) as usize;
const TAU_MAX: usize = (RATE_HZ as f32 / MIN_F0_HZ) as usize + 1;
/// YIN integration window: 25 ms, enough for 1.5 periods at 60 Hz.
const INTEGRATION: usize = 200;
/// Samples one YIN estimate looks at, ending at the current frame.
const WINDOW: usize = INTEGRATION + TAU_MAX;
/// YIN's absolute threshold: the first dip below it is the period.
const DIP_THRESHOLD: f32 = 0.25;
/// Energies are floored here so silence stays finite.
pub const SILENCE_DB: f32 = -120.0;

/// F0 estimate of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pitch {
    pub f0_hz: f32,
    /// YIN's normalised difference at the chosen period: near 0 for a
    /// clean periodic signal, near 1 for noise.
    pub aperiodicity: f32,
}

/// One 10 ms frame as seen by [`FrameAnalyzer::push`].
pub struct Frame<'a> {
    /// Frame number from the start of the stream; it covers
    /// `index * 10 .. index * 10 + 10` ms.
    pub index: u64,
    /// Energy of the band-limited (200-4000 Hz) signal, dBFS.
    pub band_db: f32,
    /// Energy of the raw input over the frame, dBFS.
    pub raw_db: f32,
    /// The band-limited 8 kHz signal up to the end of this frame (at most
    /// one YIN window).
    history: &'a [f32],
}

impl Frame<'_> {
    /// YIN over the 34 ms ending at this frame; costs about 45k
    /// multiply-adds, so callers only ask for frames that could be speech.
    pub fn pitch(&self) -> Pitch {
        yin(self.history)
    }
}

/// Streaming front end: feed 16 kHz samples in any chunk size, get a
/// callback per complete 10 ms frame.
pub struct FrameAnalyzer {
    decimator: HalfbandDecimator,
    highpass: Biquad,
    /// Band-limited 8 kHz samples; the last [`WINDOW`] are kept.
    history: Vec<f32>,
    band_sum: f32,
    raw_sum: f32,
    raw_count: usize,
    in_frame: usize,
    frames: u64,
}

impl Default for FrameAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameAnalyzer {
    pub fn new() -> Self {
        FrameAnalyzer {
            decimator: HalfbandDecimator::default(),
            highpass: Biquad::highpass(200.0, RATE_HZ as f32),
            history: Vec::with_capacity(4 * WINDOW),
            band_sum: 0.0,
            raw_sum: 0.0,
            raw_count: 0,
            in_frame: 0,
            frames: 0,
        }
    }

    /// Frames completed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn push(&mut self, pcm_16k: &[f32], mut on_frame: impl FnMut(&Frame)) {
        if self.settled() && pcm_16k.iter().all(|&x| x == 0.0) {
            // Digital silence (a muted or held phone) through filters at
            // rest stays exactly zero: only the framing is left to do.
            self.push_zeros(pcm_16k.len(), &mut on_frame);
            return;
        }
        self.push_filtered(pcm_16k, &mut on_frame);
    }

    fn push_filtered(&mut self, pcm_16k: &[f32], on_frame: &mut impl FnMut(&Frame)) {
        // Filter state in locals, so it stays in registers between samples.
        let mut decimator = self.decimator;
        let mut highpass = self.highpass;
        for &x in pcm_16k {
            self.raw_sum += x * x;
            self.raw_count += 1;
            let Some(y) = decimator.push(x) else {
                continue;
            };
            self.push_band(highpass.process(y), on_frame);
        }
        self.decimator = decimator;
        self.highpass = highpass;
    }

    /// `n` zero samples into filters at rest: what [`push_filtered`] would
    /// do with them, a frame at a time instead of a sample at a time.
    fn push_zeros(&mut self, n: usize, on_frame: &mut impl FnMut(&Frame)) {
        let mut left = n;
        while left > 0 {
            // The decimator gives an output on every second input, the
            // first of them at once when it is on an odd sample.
            let odd = usize::from(self.decimator.odd);
            let to_frame_end = 2 * (HOP - self.in_frame) - odd;
            let take = to_frame_end.min(left);
            let outputs = (take + odd) / 2;
            self.decimator.odd ^= take % 2 == 1;
            self.raw_count += take;
            self.make_room(outputs);
            self.history.resize(self.history.len() + outputs, 0.0);
            self.in_frame += outputs;
            left -= take;
            if self.in_frame == HOP {
                self.complete_frame(on_frame);
            }
        }
    }

    /// Both filters hold no energy: zero input gives exactly zero output.
    fn settled(&self) -> bool {
        self.decimator.taps == [0.0; 6] && self.highpass.z == [0.0; 2]
    }

    /// One band-limited 8 kHz sample; completes a frame every [`HOP`].
    /// Inlined: it runs 8000 times a second per call, and a call per
    /// sample cost more than its work.
    #[inline(always)]
    fn push_band(&mut self, y: f32, on_frame: &mut impl FnMut(&Frame)) {
        self.band_sum += y * y;
        self.make_room(1);
        self.history.push(y);
        self.in_frame += 1;
        if self.in_frame == HOP {
            self.complete_frame(on_frame);
        }
    }

    /// Room for `n` more samples in `history` without reallocating: when
    /// full, only the last window is kept; amortised, so no per-sample shift.
    #[inline(always)]
    fn make_room(&mut self, n: usize) {
        if self.history.len() + n > self.history.capacity() {
            self.history.drain(..self.history.len() - (WINDOW - 1));
        }
    }

    #[inline(never)]
    fn complete_frame(&mut self, on_frame: &mut impl FnMut(&Frame)) {
        let start = self.history.len().saturating_sub(WINDOW);
        let frame = Frame {
            index: self.frames,
            band_db: power_db(self.band_sum / HOP as f32),
            raw_db: power_db(self.raw_sum / self.raw_count as f32),
            history: &self.history[start..],
        };
        on_frame(&frame);
        self.frames += 1;
        self.in_frame = 0;
        self.band_sum = 0.0;
        self.raw_sum = 0.0;
        self.raw_count = 0;
    }
}

/// Mean power to dBFS (a full-scale square wave is 0 dBFS).
pub fn power_db(mean_square: f32) -> f32 {
    (10.0 * mean_square.log10()).max(SILENCE_DB)
}

/// YIN (de Cheveigné & Kawahara 2002) on the last [`WINDOW`] samples of
/// `x`; shorter input is treated as aperiodic.
pub fn yin(x: &[f32]) -> Pitch {
    let unvoiced = Pitch {
        f0_hz: 0.0,
        aperiodicity: 1.0,
    };
    if x.len() < WINDOW {
        return unvoiced;
    }
    let x = &x[x.len() - WINDOW..];
    let head = &x[..INTEGRATION];
    // Cumulative mean normalised difference, d'(tau).
    let mut cmnd = [1.0f32; TAU_MAX + 1];
    let mut running = 0.0f32;
    for (tau, slot) in cmnd.iter_mut().enumerate().skip(1) {
        let d = squared_distance(head, &x[tau..tau + INTEGRATION]);
        running += d;
        *slot = if running > 0.0 {
            d * tau as f32 / running
        } else {
            1.0
        };
    }
    // First dip below the threshold, followed down to its minimum; else
    // the global minimum.
    let mut best = None;
    let mut tau = TAU_MIN;
    while tau < TAU_MAX {
        if cmnd[tau] < DIP_THRESHOLD {
            while tau + 1 < TAU_MAX && cmnd[tau + 1] < cmnd[tau] {
                tau += 1;
            }
            best = Some(tau);
            break;
        }
        tau += 1;
    }
    let tau = best.unwrap_or_else(|| {
        (TAU_MIN..TAU_MAX)
            .min_by(|&a, &b| cmnd[a].total_cmp(&cmnd[b]))
            .unwrap_or(TAU_MIN)
    });
    if cmnd[tau] >= 1.0 {
        return unvoiced;
    }
    // Parabolic interpolation around the dip for sub-sample precision.
    let (a, b, c) = (cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]);
    let denominator = a - 2.0 * b + c;
    let shift = if denominator > 1e-9 {
        (0.5 * (a - c) / denominator).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    Pitch {
        f0_hz: RATE_HZ as f32 / (tau as f32 + shift),
        aperiodicity: b.max(0.0),
    }
}

/// Sum of squared differences, in eight independent lanes so the compiler
/// can vectorise it (a plain float sum must stay sequential). This loop is
/// almost all of the analysis cost.
fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            let d = x[i] - y[i];
            lanes[i] += d * d;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// 16 kHz to 8 kHz with the 7-tap halfband [-1, 0, 9, 16, 9, 0, -1] / 32:
/// flat to 2 kHz, -3.5 dB at 3.4 kHz, which is plenty for level and
/// periodicity measurements.
#[derive(Default, Clone, Copy)]
struct HalfbandDecimator {
    /// The last six inputs, oldest first.
    taps: [f32; 6],
    odd: bool,
}

impl HalfbandDecimator {
    fn push(&mut self, x: f32) -> Option<f32> {
        let t = &self.taps;
        let out = self
            .odd
            .then(|| (16.0 * t[3] + 9.0 * (t[2] + t[4]) - (t[0] + x)) / 32.0);
        // Shifted by hand: `rotate_left` on a small array is a memmove call
        // per sample, the biggest cost of a quiet call.
        self.taps = [t[1], t[2], t[3], t[4], t[5], x];
        self.odd = !self.odd;
        out
    }
}

/// Second-order IIR section (RBJ cookbook), transposed direct form II.
#[derive(Clone, Copy)]
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

impl Biquad {
    fn highpass(cutoff_hz: f32, rate_hz: f32) -> Self {
        let w0 = 2.0 * std::f32::consts::PI * cutoff_hz / rate_hz;
        let alpha = w0.sin() / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
        let cos = w0.cos();
        let a0 = 1.0 + alpha;
        Biquad {
            b: [
                (1.0 + cos) / 2.0 / a0,
                -(1.0 + cos) / a0,
                (1.0 + cos) / 2.0 / a0,
            ],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    fn process(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        // Silence decays the state into subnormal floats, where it stays
        // forever and every sample costs ~100x more: flush it to zero.
        for z in &mut self.z {
            if z.abs() < 1e-20 {
                *z = 0.0;
            }
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    #[test]
    fn highpass_state_settles_to_zero_in_silence() {
        let mut f = Biquad::highpass(200.0, 8000.0);
        for i in 0..1000 {
            f.process((i as f32 * 0.3).sin() * 0.1);
        }
        for _ in 0..8000 {
            f.process(0.0);
        }
        assert_eq!(f.z, [0.0, 0.0], "no subnormal state left ringing");
    }

    #[test]
    fn digital_silence_shortcut_matches_the_filters() {
        let tone: Vec<f32> = (0..3200).map(|n| (n as f32 * 0.2).sin() * 0.3).collect();
        let mut signal = tone.clone();
        signal.extend(std::iter::repeat_n(0.0, 16_000));
        signal.extend(&tone);
        signal.extend(std::iter::repeat_n(0.0, 8_000));
        let mut chunked = FrameAnalyzer::new();
        let mut fast = Vec::new();
        // Odd-sized chunks, so frames end mid-chunk and on odd samples.
        for chunk in signal.chunks(317) {
            chunked.push(chunk, |f| fast.push((f.index, f.band_db, f.raw_db)));
        }
        let mut whole = FrameAnalyzer::new();
        let mut slow = Vec::new();
        whole.push_filtered(&signal, &mut |f: &Frame| {
            slow.push((f.index, f.band_db, f.raw_db))
        });
        assert_eq!(fast.len(), signal.len() / 160);
        assert_eq!(fast, slow);
        let window = |a: &FrameAnalyzer| a.history[a.history.len() - WINDOW..].to_vec();
        assert_eq!(window(&chunked), window(&whole));
        assert_eq!(chunked.decimator.odd, whole.decimator.odd);
    }

    fn frames_of(pcm_16k: &[f32]) -> Vec<(f32, f32, Pitch)> {
        let mut analyzer = FrameAnalyzer::new();
        let mut out = Vec::new();
        analyzer.push(pcm_16k, |f| out.push((f.band_db, f.raw_db, f.pitch())));
        out
    }

    /// Harmonics 2..=12 of `f0` with falling amplitude: a voice with its
    /// fundamental filtered away.
    fn harmonics(f0: f32, seconds: f32) -> Vec<f32> {
        let n = (seconds * 16000.0) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / 16000.0;
                (2..=12)
                    .filter(|k| *k as f32 * f0 < 3400.0)
                    .map(|k| 0.05 / k as f32 * (2.0 * PI * k as f32 * f0 * t).sin())
                    .sum()
            })
            .collect()
    }

    #[test]
    fn yin_finds_f0_from_harmonics_alone() {
        for f0 in [70.0, 95.0, 130.0, 210.0, 330.0] {
            let frames = frames_of(&harmonics(f0, 0.5));
            for (_, _, pitch) in &frames[10..] {
                assert!((pitch.f0_hz / f0 - 1.0).abs() < 0.02, "{f0}: {pitch:?}");
                assert!(pitch.aperiodicity < 0.1, "{f0}: {pitch:?}");
            }
        }
    }

    #[test]
    fn noise_is_aperiodic() {
        let mut seed = 7u32;
        let noise: Vec<f32> = (0..8000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
            })
            .collect();
        let frames = frames_of(&noise);
        let periodic = frames[5..]
            .iter()
            .filter(|(_, _, p)| p.aperiodicity < 0.3)
            .count();
        assert_eq!(periodic, 0);
    }

    #[test]
    fn levels_are_in_dbfs_and_chunking_does_not_matter() {
        let tone: Vec<f32> = (0..16000)
            .map(|i| 0.1 * (2.0 * PI * 1000.0 * i as f32 / 16000.0).sin())
            .collect();
        let whole = frames_of(&tone);
        assert_eq!(whole.len(), 100);
        // A sine of amplitude 0.1 has mean power 0.005: -23 dBFS.
        for (band, raw, _) in &whole[5..] {
            assert!((raw + 23.0).abs() < 0.2, "raw {raw}");
            assert!((band + 23.0).abs() < 0.5, "band {band}");
        }
        let mut analyzer = FrameAnalyzer::new();
        let mut chunked = Vec::new();
        for part in tone.chunks(37) {
            analyzer.push(part, |f| chunked.push((f.band_db, f.raw_db, f.pitch())));
        }
        assert_eq!(chunked, whole);
        let silent = frames_of(&[0.0; 1600]);
        assert!(
            silent
                .iter()
                .all(|(b, r, _)| *b == SILENCE_DB && *r == SILENCE_DB)
        );
    }

    #[test]
    fn highpass_removes_hum() {
        let hum: Vec<f32> = (0..16000)
            .map(|i| 0.3 * (2.0 * PI * 50.0 * i as f32 / 16000.0).sin())
            .collect();
        let frames = frames_of(&hum);
        // -13.5 dBFS of hum is more than 20 dB down after the filter.
        assert!(frames[20..].iter().all(|(band, _, _)| *band < -33.5));
    }
}
