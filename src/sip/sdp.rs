//! SDP (RFC 4566) as far as audio calls need it, and RFC 3264 offer/answer
//! for PCMU/PCMA at 8 kHz plus telephone-event (RFC 4733).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::error::SdpError;
use super::types::{Codec, MediaOffer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn parse(attr: &str) -> Option<Direction> {
        match attr {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// What the answerer says to this direction (RFC 3264 6.1).
    pub fn mirrored(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            other => other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub kind: String,
    pub port: u16,
    pub proto: String,
    pub formats: Vec<String>,
    pub connection: Option<IpAddr>,
    pub rtpmaps: Vec<RtpMap>,
    pub ptime: Option<u32>,
    pub direction: Option<Direction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub connection: Option<IpAddr>,
    pub direction: Option<Direction>,
    pub media: Vec<MediaDescription>,
}

pub fn parse(bytes: &[u8]) -> Result<SessionDescription, SdpError> {
    let text = std::str::from_utf8(bytes).map_err(|_| SdpError::NotUtf8)?;
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .filter(|(_, l)| !l.is_empty());
    match lines.next() {
        Some((_, "v=0")) => {}
        _ => return Err(SdpError::NoVersion),
    }
    let mut sdp = SessionDescription {
        connection: None,
        direction: None,
        media: Vec::new(),
    };
    for (index, line) in lines {
        let bad = |reason: String| SdpError::BadLine {
            line: index + 1,
            reason,
        };
        let Some((kind, value)) = line.split_once('=') else {
            return Err(bad(format!("{line:?} is not type=value")));
        };
        if kind.len() != 1 || !kind.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(bad(format!("{kind:?} is not a one-letter type")));
        }
        match (kind, sdp.media.last_mut()) {
            ("c", None) => sdp.connection = Some(parse_connection(value).map_err(bad)?),
            ("c", Some(m)) => m.connection = Some(parse_connection(value).map_err(bad)?),
            ("m", _) => sdp.media.push(parse_media(value).map_err(bad)?),
            ("a", media) => apply_attribute(&mut sdp.direction, media, value).map_err(bad)?,
            _ => {}
        }
    }
    Ok(sdp)
}

fn parse_connection(value: &str) -> Result<IpAddr, String> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [net, family, addr] = parts[..] else {
        return Err(format!("c={value:?} is not 'IN IP4 address'"));
    };
    if net != "IN" || !(family == "IP4" || family == "IP6") {
        return Err(format!("c={value:?} is not IN IP4/IP6"));
    }
    // Multicast TTL / count suffixes.
    let addr = addr.split('/').next().unwrap_or(addr);
    addr.parse()
        .map_err(|_| format!("connection address {addr:?} is not an IP address"))
}

fn parse_media(value: &str) -> Result<MediaDescription, String> {
    let mut parts = value.split_whitespace();
    let (Some(kind), Some(port), Some(proto)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("m={value:?} is not 'media port proto formats'"));
    };
    let port = port.split('/').next().unwrap_or(port);
    let port: u16 = port
        .parse()
        .map_err(|_| format!("bad media port {port:?}"))?;
    let formats: Vec<String> = parts.map(str::to_string).collect();
    if formats.is_empty() {
        return Err(format!("m={value:?} lists no formats"));
    }
    Ok(MediaDescription {
        kind: kind.to_string(),
        port,
        proto: proto.to_string(),
        formats,
        connection: None,
        rtpmaps: Vec::new(),
        ptime: None,
        direction: None,
    })
}

fn apply_attribute(
    session_direction: &mut Option<Direction>,
    media: Option<&mut MediaDescription>,
    value: &str,
) -> Result<(), String> {
    let (name, arg) = value.split_once(':').unwrap_or((value, ""));
    if let Some(d) = Direction::parse(name) {
        match media {
            Some(m) => m.direction = Some(d),
            None => *session_direction = Some(d),
        }
        return Ok(());
    }
    let Some(m) = media else { return Ok(()) };
    match name {
        "rtpmap" => {
            // Attributes of streams we do not use may be sloppy (RFC 4475
            // messages carry "a=rtpmap:31 LPC"): skip what does not parse.
            if let Some(map) = parse_rtpmap(arg) {
                m.rtpmaps.push(map);
            }
        }
        "ptime" => {
            let ms: u32 = arg
                .trim()
                .parse()
                .map_err(|_| format!("bad ptime {arg:?}"))?;
            m.ptime = Some(ms);
        }
        _ => {}
    }
    Ok(())
}

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`.
fn parse_rtpmap(arg: &str) -> Option<RtpMap> {
    let (pt, encoding) = arg.split_once(' ')?;
    let mut enc = encoding.trim().split('/');
    Some(RtpMap {
        payload_type: pt.trim().parse().ok()?,
        encoding: enc.next()?.to_string(),
        clock_rate: enc.next()?.parse().ok()?,
    })
}

impl MediaDescription {
    /// The codec a payload type stands for: its rtpmap, else RFC 3551 static.
    fn codec_of(&self, pt: u8) -> Option<Codec> {
        match self.rtpmaps.iter().find(|m| m.payload_type == pt) {
            Some(m) if m.clock_rate == 8000 && m.encoding.eq_ignore_ascii_case("PCMU") => {
                Some(Codec::Pcmu)
            }
            Some(m) if m.clock_rate == 8000 && m.encoding.eq_ignore_ascii_case("PCMA") => {
                Some(Codec::Pcma)
            }
            Some(_) => None,
            None if pt == 0 => Some(Codec::Pcmu),
            None if pt == 8 => Some(Codec::Pcma),
            None => None,
        }
    }

    fn telephone_event(&self) -> Option<u8> {
        self.rtpmaps
            .iter()
            .find(|m| m.encoding.eq_ignore_ascii_case("telephone-event") && m.clock_rate == 8000)
            .map(|m| m.payload_type)
            .filter(|pt| self.formats.iter().any(|f| f == &pt.to_string()))
    }

    fn is_rtp_audio(&self) -> bool {
        self.kind == "audio"
            && (self.proto == "RTP/AVP" || self.proto == "RTP/AVPF")
            && self.port != 0
    }
}

/// What we chose from a remote description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub media: MediaOffer,
    /// Index of the audio m= line we use.
    pub audio_index: usize,
    /// The peer's direction for that stream.
    pub direction: Direction,
}

/// Picks the audio stream and codec (our preference order) from an offer or
/// answer.
pub fn negotiate(sdp: &SessionDescription, codecs: &[Codec]) -> Result<Negotiated, SdpError> {
    let mut saw_audio = false;
    for (index, m) in sdp.media.iter().enumerate() {
        if !m.is_rtp_audio() {
            continue;
        }
        saw_audio = true;
        let offered: Vec<(u8, Codec)> = m
            .formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter_map(|pt| m.codec_of(pt).map(|c| (pt, c)))
            .collect();
        let Some((payload_type, codec)) = codecs
            .iter()
            .find_map(|want| offered.iter().find(|(_, c)| c == want).copied())
        else {
            continue;
        };
        let ip = m
            .connection
            .or(sdp.connection)
            .ok_or(SdpError::NoConnection)?;
        let direction = m.direction.or(sdp.direction).unwrap_or(Direction::SendRecv);
        let on_hold =
            ip.is_unspecified() || matches!(direction, Direction::SendOnly | Direction::Inactive);
        return Ok(Negotiated {
            media: MediaOffer {
                remote_rtp: SocketAddr::new(ip, m.port),
                codec,
                payload_type,
                dtmf_payload_type: m.telephone_event(),
                ptime_ms: m.ptime.filter(|p| (10..=200).contains(p)).unwrap_or(20),
                on_hold,
            },
            audio_index: index,
            direction,
        });
    }
    Err(if saw_audio {
        SdpError::NoUsableCodec
    } else {
        SdpError::NoAudio
    })
}

/// Our side of the session: where we receive RTP and the o= line numbers.
#[derive(Debug, Clone, Copy)]
pub struct LocalMedia {
    pub rtp: SocketAddr,
    pub session_id: u64,
    pub version: u64,
}

fn header_lines(local: &LocalMedia) -> String {
    let family = if local.rtp.is_ipv4() { "IP4" } else { "IP6" };
    let ip = local.rtp.ip();
    format!(
        "v=0\r\no=ivr {} {} IN {family} {ip}\r\ns=ivr\r\nc=IN {family} {ip}\r\nt=0 0\r\n",
        local.session_id, local.version
    )
}

fn audio_lines(
    out: &mut String,
    port: u16,
    formats: &[(u8, &str)],
    dtmf: Option<u8>,
    direction: Direction,
) {
    let mut pts: Vec<String> = formats.iter().map(|(pt, _)| pt.to_string()).collect();
    pts.extend(dtmf.map(|pt| pt.to_string()));
    out.push_str(&format!("m=audio {port} RTP/AVP {}\r\n", pts.join(" ")));
    for (pt, name) in formats {
        out.push_str(&format!("a=rtpmap:{pt} {name}/8000\r\n"));
    }
    if let Some(pt) = dtmf {
        out.push_str(&format!(
            "a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-16\r\n"
        ));
    }
    out.push_str(&format!("a=ptime:20\r\na={}\r\n", direction.as_str()));
}

/// The answer to `offer`: one m= line per offered one, ours on the chosen
/// audio stream and the others refused with port 0.
pub fn answer(offer: &SessionDescription, chosen: &Negotiated, local: &LocalMedia) -> String {
    let mut out = header_lines(local);
    for (index, m) in offer.media.iter().enumerate() {
        if index == chosen.audio_index {
            let formats = [(
                chosen.media.payload_type,
                chosen.media.codec.encoding_name(),
            )];
            audio_lines(
                &mut out,
                local.rtp.port(),
                &formats,
                chosen.media.dtmf_payload_type,
                chosen.direction.mirrored(),
            );
        } else {
            let first = m.formats.first().map(String::as_str).unwrap_or("0");
            out.push_str(&format!("m={} 0 {} {first}\r\n", m.kind, m.proto));
        }
    }
    out
}

/// The payload type we offer telephone-event on.
pub const OFFER_DTMF_PT: u8 = 101;

/// An offer of our codecs plus telephone-event.
pub fn offer(local: &LocalMedia, codecs: &[Codec], direction: Direction) -> String {
    let mut out = header_lines(local);
    let formats: Vec<(u8, &str)> = codecs
        .iter()
        .map(|c| (c.payload_type(), c.encoding_name()))
        .collect();
    audio_lines(
        &mut out,
        local.rtp.port(),
        &formats,
        Some(OFFER_DTMF_PT),
        direction,
    );
    out
}

/// The unspecified address, for a MediaOffer when nothing better is known.
pub fn unspecified() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
m=audio 49217 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:30\r\n\
m=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC/8000\r\n";

    fn local() -> LocalMedia {
        LocalMedia {
            rtp: "127.0.0.1:20000".parse::<SocketAddr>().unwrap(),
            session_id: 7,
            version: 1,
        }
    }

    #[test]
    fn picks_our_preferred_codec_and_dtmf() {
        let sdp = parse(OFFER.as_bytes()).unwrap();
        let n = negotiate(&sdp, &[Codec::Pcmu, Codec::Pcma]).unwrap();
        assert_eq!(n.media.codec, Codec::Pcmu);
        assert_eq!(n.media.dtmf_payload_type, Some(101));
        assert_eq!(n.media.ptime_ms, 30);
        assert_eq!(
            n.media.remote_rtp,
            "192.0.2.5:49217".parse::<SocketAddr>().unwrap()
        );
        let n = negotiate(&sdp, &[Codec::Pcma]).unwrap();
        assert_eq!(n.media.payload_type, 8);
    }

    #[test]
    fn answer_keeps_one_line_per_offered_stream() {
        let sdp = parse(OFFER.as_bytes()).unwrap();
        let n = negotiate(&sdp, &[Codec::Pcmu]).unwrap();
        let text = answer(&sdp, &n, &local());
        let back = parse(text.as_bytes()).unwrap();
        assert_eq!(back.media.len(), 2);
        assert_eq!(back.media[1].port, 0);
        let again = negotiate(&back, &[Codec::Pcmu]).unwrap();
        assert_eq!(
            again.media.remote_rtp,
            "127.0.0.1:20000".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(again.media.dtmf_payload_type, Some(101));
    }

    #[test]
    fn hold_is_seen_and_mirrored() {
        let held = OFFER.replace("a=ptime:30", "a=sendonly");
        let sdp = parse(held.as_bytes()).unwrap();
        let n = negotiate(&sdp, &[Codec::Pcmu]).unwrap();
        assert!(n.media.on_hold);
        assert!(answer(&sdp, &n, &local()).contains("a=recvonly"));
        let old_style = OFFER.replace("c=IN IP4 192.0.2.5", "c=IN IP4 0.0.0.0");
        assert!(
            negotiate(&parse(old_style.as_bytes()).unwrap(), &[Codec::Pcmu])
                .unwrap()
                .media
                .on_hold
        );
    }

    #[test]
    fn no_usable_codec_and_no_audio() {
        let g729 = OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 18");
        assert_eq!(
            negotiate(&parse(g729.as_bytes()).unwrap(), &[Codec::Pcmu]),
            Err(SdpError::NoUsableCodec)
        );
        let video_only = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=video 3227 RTP/AVP 31\r\n";
        assert_eq!(
            negotiate(&parse(video_only.as_bytes()).unwrap(), &[Codec::Pcmu]),
            Err(SdpError::NoAudio)
        );
    }

    #[test]
    fn malformed_sdp_says_which_line() {
        assert_eq!(parse(b"hello"), Err(SdpError::NoVersion));
        let bad = OFFER.replace("m=audio 49217", "m=audio port");
        assert!(matches!(
            parse(bad.as_bytes()),
            Err(SdpError::BadLine { line: 6, .. })
        ));
        let bad_c = OFFER.replace("c=IN IP4 192.0.2.5", "c=IN IP4 not-an-ip");
        assert!(matches!(
            parse(bad_c.as_bytes()),
            Err(SdpError::BadLine { line: 4, .. })
        ));
    }

    #[test]
    fn offer_round_trips() {
        let text = offer(&local(), &[Codec::Pcma, Codec::Pcmu], Direction::SendRecv);
        let n = negotiate(
            &parse(text.as_bytes()).unwrap(),
            &[Codec::Pcmu, Codec::Pcma],
        )
        .unwrap();
        assert_eq!(n.media.codec, Codec::Pcmu);
        assert_eq!(n.media.dtmf_payload_type, Some(OFFER_DTMF_PT));
    }
}
