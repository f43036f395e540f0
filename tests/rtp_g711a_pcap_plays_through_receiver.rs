//! The A-law speech capture sipp ships (30 ms packets) plays out of the
//! receiver as audio, one 20 ms frame per tick, nothing lost or late.

#[path = "common/pcap.rs"]
mod pcap;

use std::path::Path;

use ivr::rtp::{FRAME_SAMPLES, G711, MediaReceiver, ReceiverConfig};

#[test]
fn sipp_g711a_capture_decodes_to_audible_frames() {
    let path = Path::new("/usr/share/sip-tester/g711a.pcap");
    assert!(
        path.exists(),
        "{} is missing: install the sip-tester package (make test does)",
        path.display()
    );
    let datagrams = pcap::read_udp(path).unwrap();
    let mut receiver = MediaReceiver::new(ReceiverConfig::new(G711::Pcma));
    let start_us = datagrams[0].time_us;
    let end_ms = (datagrams.last().unwrap().time_us - start_us) / 1000;
    let mut frames: Vec<[i16; FRAME_SAMPLES]> = Vec::new();
    let mut next = 0;
    // The runtime's 20 ms tick: packets that arrived since, then the frame.
    for now_ms in (0..=end_ms + 200).step_by(20) {
        while next < datagrams.len() && (datagrams[next].time_us - start_us) / 1000 <= now_ms {
            receiver.push_packet(now_ms, &datagrams[next].payload);
            next += 1;
        }
        frames.extend(std::iter::from_fn(|| receiver.poll_frame(now_ms)));
    }
    let stats = receiver.stats();
    assert_eq!(stats.received, datagrams.len() as u64);
    assert_eq!(
        stats.lost + stats.late + stats.malformed + stats.wrong_payload_type,
        0,
        "{stats:?}"
    );
    assert_eq!(frames.len() as u64, (end_ms + 200) / 20 + 1);

    // Every sample sent is heard: 240 per packet.
    let rms = |frame: &[i16]| {
        (frame.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / frame.len() as f64).sqrt()
    };
    let audible = frames.iter().filter(|f| rms(&f[..]) > 100.0).count();
    let sent_frames = datagrams.len() * 240 / FRAME_SAMPLES;
    assert!(
        audible * 4 > sent_frames * 3,
        "only {audible} of {sent_frames} frames carry sound"
    );
}
