//! Caller fixtures sent as 20 ms PCMU packets through a network that loses
//! 5% of them, duplicates some and delays each by 0-60 ms (so they arrive
//! reordered) come out of the receiver as one frame per 20 ms tick, every
//! received frame intact and in order (quiet ones may be shed to cut the
//! delay), lost ones concealed, the whole close to what was sent.

use std::path::PathBuf;

use ivr::media::wav::read_wav;
use ivr::rtp::{FRAME_SAMPLES, G711, MediaReceiver, MediaSender, ReceiverConfig};

/// Deterministic network behaviour.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// True with probability `percent` %.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

struct Arrival {
    at_ms: u64,
    bytes: Vec<u8>,
}

struct Outcome {
    frames: Vec<[i16; FRAME_SAMPLES]>,
    ticks: u64,
    lost: Vec<bool>,
    duplicated: u64,
    stats: ivr::rtp::RtpStats,
}

/// Send `pcm` through the lossy, jittery network into a receiver polled on
/// a 20 ms tick.
fn transmit(pcm: &[i16], seed: u64) -> Outcome {
    let mut rng = XorShift(seed);
    // Sequence numbers and timestamps close to wrapping, as random initial
    // values sometimes are.
    let mut sender = MediaSender::new(0x5EED, G711::Pcmu, 0, 65_500, u32::MAX - 4000);
    let mut arrivals = Vec::new();
    let mut lost = Vec::new();
    let mut duplicated = 0;
    for (i, chunk) in pcm.chunks_exact(FRAME_SAMPLES).enumerate() {
        let mut bytes = Vec::new();
        sender.packetize(chunk.try_into().unwrap(), &mut bytes);
        // Keep the first packet so the alignment below is unambiguous.
        let drop = i > 0 && rng.chance(5);
        lost.push(drop);
        if drop {
            continue;
        }
        let sent_ms = i as u64 * 20;
        if rng.chance(1) {
            duplicated += 1;
            arrivals.push(Arrival {
                at_ms: sent_ms + rng.next() % 61,
                bytes: bytes.clone(),
            });
        }
        arrivals.push(Arrival {
            at_ms: sent_ms + rng.next() % 61,
            bytes,
        });
    }
    arrivals.sort_by_key(|a| a.at_ms);

    let mut receiver = MediaReceiver::new(ReceiverConfig::new(G711::Pcmu));
    let end_ms = lost.len() as u64 * 20 + 200;
    let mut frames = Vec::new();
    let mut next = 0;
    let mut ticks = 0;
    for now_ms in 0..end_ms {
        // Datagrams are handed over as they arrive, frames on the tick.
        while next < arrivals.len() && arrivals[next].at_ms <= now_ms {
            receiver.push_packet(now_ms, &arrivals[next].bytes);
            next += 1;
        }
        if now_ms % 20 == 0 {
            ticks += 1;
            frames.extend(std::iter::from_fn(|| receiver.poll_frame(now_ms)));
        }
    }
    Outcome {
        frames,
        ticks,
        lost,
        duplicated,
        stats: receiver.stats(),
    }
}

fn rms(samples: &[i16]) -> f64 {
    let power: f64 = samples.iter().map(|&x| f64::from(x).powi(2)).sum();
    (power / samples.len() as f64).sqrt()
}

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("audio-fixtures");
    let mut wavs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wav"))
        .collect();
    wavs.sort();
    assert!(!wavs.is_empty(), "no fixtures in {}", dir.display());
    wavs
}

#[test]
fn fixtures_survive_loss_reordering_and_duplicates() {
    let (mut total_packets, mut total_lost) = (0, 0);
    let (mut snr_sum, mut silence_snr_sum) = (0.0, 0.0);
    let fixtures = fixtures();
    for (n, path) in fixtures.iter().enumerate() {
        let audio = read_wav(path).unwrap();
        assert_eq!(audio.sample_rate, 8000, "{}", path.display());
        let usable = audio.samples.len() / FRAME_SAMPLES * FRAME_SAMPLES;
        // What the caller's phone actually sent: the mu-law of the samples.
        let sent =
            ivr::media::g711::decode_ulaw(&ivr::media::g711::encode_ulaw(&audio.samples[..usable]));
        let outcome = transmit(&sent, 0x9E37_79B9 + n as u64);
        let name = path.file_name().unwrap().to_string_lossy();
        let packets = outcome.lost.len();
        let dropped = outcome.lost.iter().filter(|&&l| l).count();
        total_packets += packets;
        total_lost += dropped;

        // One frame per tick, no more, no less.
        assert_eq!(outcome.frames.len() as u64, outcome.ticks, "{name}");
        let stats = outcome.stats;
        // A receiver cannot know of losses after the last packet it got.
        let last_received = outcome.lost.iter().rposition(|&l| !l).unwrap();
        let detectable = outcome.lost[..last_received].iter().filter(|&&l| l).count();
        assert_eq!(stats.lost, detectable as u64, "{name}: {stats:?}");
        assert_eq!(stats.duplicate, outcome.duplicated, "{name}: {stats:?}");
        // 60 ms of jitter fits the 60 ms playout delay: nothing is late.
        assert_eq!(stats.late + stats.resyncs, 0, "{name}: {stats:?}");
        assert!(
            stats.jitter_ms > 5.0 && stats.jitter_ms < 40.0,
            "{name}: {stats:?}"
        );

        // The first packet plays after the delay, a whole number of frames
        // in: find that lead.
        let heard: Vec<i16> = outcome.frames.iter().flatten().copied().collect();
        let lead = (3..=7)
            .find(|&lead| heard[lead * FRAME_SAMPLES..][..FRAME_SAMPLES] == sent[..FRAME_SAMPLES])
            .unwrap_or_else(|| panic!("{name}: first frame not found after the delay"));
        let frame_at = |j: usize| &heard[(lead + j) * FRAME_SAMPLES..][..FRAME_SAMPLES];

        // Every received frame is there unchanged and in order, apart from
        // the few samples eased in after a concealed one. Where the link
        // allowed, the buffer shed quiet frames to cut its delay: each shed
        // frame moves the rest one frame sooner.
        let shed = stats.shed_frames as usize;
        let mut shift = 0;
        let mut after_loss = false;
        let mut realigned = Vec::with_capacity(usable);
        for (i, &was_lost) in outcome.lost.iter().enumerate() {
            let range = i * FRAME_SAMPLES..(i + 1) * FRAME_SAMPLES;
            let eased = if after_loss { 32 } else { 0 };
            let heard_here = frame_at(i - shift);
            if !was_lost && heard_here[eased..] != sent[range.start + eased..range.end] {
                // Not here: only a quiet frame may have been shed.
                let level = rms(&sent[range.clone()]);
                assert!(shift < shed && level < 1000.0, "{name}: frame {i} differs");
                shift += 1;
                realigned.extend_from_slice(&[0; FRAME_SAMPLES]);
                continue;
            }
            after_loss = was_lost;
            realigned.extend_from_slice(heard_here);
        }
        let heard = &realigned[..];

        // Each loss is concealed; the end of the call fades out over at most
        // three more frames.
        assert!(stats.concealed_frames >= 1 || dropped == 0, "{name}");
        assert!(
            stats.concealed_frames <= dropped as u64 + 3,
            "{name}: {stats:?}"
        );

        // Overall the caller is heard closely: signal-to-error ratio and
        // correlation over the whole call.
        let dot = |a: &[i16], b: &[i16]| -> f64 {
            a.iter()
                .zip(b)
                .map(|(&x, &y)| f64::from(x) * f64::from(y))
                .sum()
        };
        let snr_db = |output: &[i16]| {
            let error: f64 = output
                .iter()
                .zip(&sent)
                .map(|(&h, &s)| (f64::from(h) - f64::from(s)).powi(2))
                .sum();
            10.0 * (dot(&sent, &sent) / error.max(1.0)).log10()
        };
        let snr = snr_db(heard);
        let correlation = dot(heard, &sent) / (dot(heard, heard) * dot(&sent, &sent)).sqrt();
        assert!(
            snr > 5.0 && correlation > 0.85,
            "{name}: SNR {snr:.1} dB, correlation {correlation:.3}, {dropped} of {packets} lost"
        );
        // The same call with lost frames left silent, for comparison.
        let mut silenced = sent.clone();
        for (i, _) in outcome.lost.iter().enumerate().filter(|(_, l)| **l) {
            silenced[i * FRAME_SAMPLES..(i + 1) * FRAME_SAMPLES].fill(0);
        }
        snr_sum += snr;
        silence_snr_sum += snr_db(&silenced);
    }
    // Concealment sounds better than gaps; by the waveform error it must at
    // least not be worse on average (a wrong guess costs more than silence).
    let count = fixtures.len() as f64;
    let (snr, silence_snr) = (snr_sum / count, silence_snr_sum / count);
    assert!(
        snr > silence_snr - 1.0,
        "mean SNR {snr:.1} dB concealed, {silence_snr:.1} dB with silent gaps"
    );
    // The network really lost about 5% overall.
    let share = total_lost as f64 / total_packets as f64;
    assert!((0.03..0.07).contains(&share), "lost share {share}");
}
