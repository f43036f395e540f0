//! The RFC 4733 digits that sipp plays from its shipped captures come out of
//! the receiver once each, whatever the retransmitted end packets.

#[path = "common/pcap.rs"]
mod pcap;

use std::path::PathBuf;

use ivr::rtp::{G711, MediaReceiver, ReceiverConfig};

/// Where the Debian `sip-tester` package (installed by `make test`) puts
/// the captures sipp's `play_pcap_audio` sends.
fn sipp_capture(name: &str) -> PathBuf {
    let path = PathBuf::from("/usr/share/sip-tester").join(name);
    assert!(
        path.exists(),
        "{} is missing: install the sip-tester package (make test does)",
        path.display()
    );
    path
}

/// Replay a capture's datagrams into a receiver on their capture times and
/// collect the digits it reports.
fn digits_in(capture: &str) -> (String, ivr::rtp::RtpStats) {
    let datagrams = pcap::read_udp(&sipp_capture(capture)).unwrap();
    assert!(!datagrams.is_empty(), "{capture} holds no UDP");
    let mut receiver = MediaReceiver::new(ReceiverConfig {
        // The captures carry telephone-event on payload type 101 (the SDP
        // of sipp's scenarios says so); audio is PCMU.
        dtmf_payload_type: Some(101),
        ..ReceiverConfig::new(G711::Pcmu)
    });
    let start_us = datagrams[0].time_us;
    let mut digits = String::new();
    for datagram in &datagrams {
        let now_ms = (datagram.time_us - start_us) / 1000;
        receiver.push_packet(now_ms, &datagram.payload);
        while receiver.poll_frame(now_ms).is_some() {}
        digits.extend(std::iter::from_fn(|| receiver.poll_dtmf()));
    }
    (digits, receiver.stats())
}

#[test]
fn each_sipp_dtmf_capture_gives_its_digit_once() {
    let captures = [
        ("dtmf_2833_0.pcap", "0"),
        ("dtmf_2833_1.pcap", "1"),
        ("dtmf_2833_2.pcap", "2"),
        ("dtmf_2833_3.pcap", "3"),
        ("dtmf_2833_4.pcap", "4"),
        ("dtmf_2833_5.pcap", "5"),
        ("dtmf_2833_6.pcap", "6"),
        ("dtmf_2833_7.pcap", "7"),
        ("dtmf_2833_8.pcap", "8"),
        ("dtmf_2833_9.pcap", "9"),
        ("dtmf_2833_star.pcap", "*"),
        ("dtmf_2833_pound.pcap", "#"),
    ];
    for (capture, expected) in captures {
        let (digits, stats) = digits_in(capture);
        assert_eq!(digits, expected, "{capture}");
        // The end packet is repeated with the same sequence number.
        assert!(stats.duplicate >= 1, "{capture}: {stats:?}");
        assert_eq!(stats.malformed + stats.wrong_payload_type, 0, "{capture}");
    }
}
