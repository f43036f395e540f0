//! SDP offer/answer against offers shaped like real clients' (sipp's
//! scenarios, a softphone offering Opus first, IPv6, LF-only lines, hold):
//! we pick PCMU/PCMA and telephone-event, answer one line per offered
//! stream, mirror the direction, and refuse what we cannot play.

use ivr::sip::sdp::{self, Direction, LocalMedia};
use ivr::sip::{Codec, SdpError};

const PREFS: &[Codec] = &[Codec::Pcmu, Codec::Pcma];

fn local() -> LocalMedia {
    LocalMedia {
        rtp: "127.0.0.1:20010".parse().unwrap(),
        session_id: 42,
        version: 1,
    }
}

fn crlf(s: &str) -> String {
    s.lines().map(|l| format!("{}\r\n", l.trim())).collect()
}

const SIPP_PCAP: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-11,16";

const SOFTPHONE: &str = "v=0
o=- 1234 5678 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
a=tool:softphone
m=audio 10000 RTP/AVP 96 9 0 8 101
b=AS:128
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1
a=rtpmap:9 G722/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp-mux
a=ptime:20
a=sendrecv
m=video 10002 RTP/AVP 100
a=rtpmap:100 H264/90000";

#[test]
fn sipp_pcap_offer_gets_pcma_and_its_dtmf_type() {
    let offer = sdp::parse(crlf(SIPP_PCAP).as_bytes()).unwrap();
    let chosen = sdp::negotiate(&offer, PREFS).unwrap();
    assert_eq!(chosen.media.codec, Codec::Pcma);
    assert_eq!(chosen.media.payload_type, 8);
    assert_eq!(chosen.media.dtmf_payload_type, Some(101));
    assert_eq!(
        chosen.media.remote_rtp,
        "127.0.0.1:6000".parse::<std::net::SocketAddr>().unwrap()
    );
    let answer = sdp::answer(&offer, &chosen, &local());
    assert!(
        answer.contains("m=audio 20010 RTP/AVP 8 101\r\n"),
        "{answer}"
    );
    assert!(answer.contains("a=rtpmap:8 PCMA/8000\r\n"));
}

#[test]
fn softphone_offering_opus_first_gets_pcmu_and_video_refused() {
    let offer = sdp::parse(crlf(SOFTPHONE).as_bytes()).unwrap();
    let chosen = sdp::negotiate(&offer, PREFS).unwrap();
    assert_eq!(chosen.media.codec, Codec::Pcmu);
    assert_eq!(chosen.media.payload_type, 0, "static type without rtpmap");
    let answer = sdp::parse(sdp::answer(&offer, &chosen, &local()).as_bytes()).unwrap();
    assert_eq!(answer.media.len(), 2);
    assert_eq!(answer.media[0].formats, vec!["0", "101"]);
    assert_eq!(answer.media[1].kind, "video");
    assert_eq!(answer.media[1].port, 0);
    // Our preference decides among what is offered.
    assert_eq!(
        sdp::negotiate(&offer, &[Codec::Pcma]).unwrap().media.codec,
        Codec::Pcma
    );
}

#[test]
fn lf_only_ipv6_and_media_level_connection() {
    let text = "v=0\no=- 1 1 IN IP6 ::1\ns=-\nt=0 0\nm=audio 7000 RTP/AVP 0\nc=IN IP6 ::1\n";
    let chosen = sdp::negotiate(&sdp::parse(text.as_bytes()).unwrap(), PREFS).unwrap();
    assert_eq!(
        chosen.media.remote_rtp,
        "[::1]:7000".parse::<std::net::SocketAddr>().unwrap()
    );
    assert_eq!(chosen.media.dtmf_payload_type, None);
    assert_eq!(chosen.media.ptime_ms, 20);
}

#[test]
fn directions_are_mirrored_and_hold_is_seen() {
    for (offered, answered, on_hold) in [
        ("sendrecv", Direction::SendRecv, false),
        ("sendonly", Direction::RecvOnly, true),
        ("recvonly", Direction::SendOnly, false),
        ("inactive", Direction::Inactive, true),
    ] {
        let text = crlf(&SIPP_PCAP.replace("a=fmtp:101 0-11,16", &format!("a={offered}")));
        let offer = sdp::parse(text.as_bytes()).unwrap();
        let chosen = sdp::negotiate(&offer, PREFS).unwrap();
        assert_eq!(chosen.media.on_hold, on_hold, "{offered}");
        let answer = sdp::answer(&offer, &chosen, &local());
        assert!(
            answer.contains(&format!("a={}\r\n", answered.as_str())),
            "{offered}: {answer}"
        );
    }
    // Session-level direction applies to every stream.
    let session_level = crlf(&SIPP_PCAP.replace("t=0 0", "t=0 0\na=inactive"));
    let chosen = sdp::negotiate(&sdp::parse(session_level.as_bytes()).unwrap(), PREFS).unwrap();
    assert!(chosen.media.on_hold);
}

#[test]
fn a_rejected_first_stream_is_skipped() {
    let text = crlf(
        "v=0
c=IN IP4 127.0.0.1
m=audio 0 RTP/AVP 0
m=audio 8000 RTP/SAVP 0
m=audio 9000 RTP/AVP 0",
    );
    let offer = sdp::parse(text.as_bytes()).unwrap();
    let chosen = sdp::negotiate(&offer, PREFS).unwrap();
    assert_eq!(chosen.audio_index, 2);
    let answer = sdp::parse(sdp::answer(&offer, &chosen, &local()).as_bytes()).unwrap();
    let ports: Vec<u16> = answer.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, vec![0, 0, 20010]);
}

#[test]
fn unusable_and_malformed_offers_are_told_apart() {
    let g729 = crlf("v=0\nc=IN IP4 127.0.0.1\nm=audio 4000 RTP/AVP 18\na=rtpmap:18 G729/8000");
    assert_eq!(
        sdp::negotiate(&sdp::parse(g729.as_bytes()).unwrap(), PREFS),
        Err(SdpError::NoUsableCodec)
    );
    // PCMU at another clock rate is not our PCMU.
    let wideband = crlf("v=0\nc=IN IP4 127.0.0.1\nm=audio 4000 RTP/AVP 96\na=rtpmap:96 PCMU/16000");
    assert_eq!(
        sdp::negotiate(&sdp::parse(wideband.as_bytes()).unwrap(), PREFS),
        Err(SdpError::NoUsableCodec)
    );
    let no_c = crlf("v=0\nm=audio 4000 RTP/AVP 0");
    assert_eq!(
        sdp::negotiate(&sdp::parse(no_c.as_bytes()).unwrap(), PREFS),
        Err(SdpError::NoConnection)
    );
    for bad in [
        "",
        "v=1\r\n",
        "v=0\r\nm=audio x RTP/AVP 0\r\n",
        "v=0\r\nno equals\r\n",
        "v=0\r\nc=IN IP4\r\n",
    ] {
        let err = sdp::parse(bad.as_bytes()).unwrap_err();
        assert!(!err.to_string().is_empty(), "{bad:?}");
    }
    assert_eq!(sdp::parse(&[0xff, 0xfe]), Err(SdpError::NotUtf8));
}

#[test]
fn our_offer_is_answerable_by_ourselves() {
    let offer_text = sdp::offer(&local(), PREFS, Direction::SendRecv);
    let offer = sdp::parse(offer_text.as_bytes()).unwrap();
    let chosen = sdp::negotiate(&offer, &[Codec::Pcma]).unwrap();
    let answer = sdp::answer(
        &offer,
        &chosen,
        &LocalMedia {
            rtp: "127.0.0.1:30000".parse().unwrap(),
            ..local()
        },
    );
    let back = sdp::negotiate(&sdp::parse(answer.as_bytes()).unwrap(), PREFS).unwrap();
    assert_eq!(back.media.codec, Codec::Pcma);
    assert_eq!(
        back.media.remote_rtp,
        "127.0.0.1:30000".parse::<std::net::SocketAddr>().unwrap()
    );
    assert_eq!(back.media.dtmf_payload_type, Some(sdp::OFFER_DTMF_PT));
}
