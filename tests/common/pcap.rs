//! A small reader for classic pcap captures (not pcapng): the UDP datagrams
//! of Ethernet (with or without a VLAN tag), Linux cooked or raw IPv4
//! captures, with their capture times. Enough to replay RTP from the
//! captures shipped with sipp; IPv4 fragments and IPv6 are skipped.
#![allow(dead_code)] // each test crate uses only some helpers

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

/// One captured UDP datagram.
#[derive(Debug, Clone)]
pub struct UdpDatagram {
    /// Capture time, microseconds since the Unix epoch.
    pub time_us: u64,
    pub source: SocketAddrV4,
    pub destination: SocketAddrV4,
    pub payload: Vec<u8>,
}

const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LINUX_SLL: u32 = 113;
const LINKTYPE_IPV4: u32 = 228;

/// Every UDP-over-IPv4 datagram of a classic pcap file, in file order.
pub fn read_udp(path: &Path) -> Result<Vec<UdpDatagram>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_udp(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse_udp(bytes: &[u8]) -> Result<Vec<UdpDatagram>, String> {
    let header = bytes.get(..24).ok_or("shorter than a pcap file header")?;
    let magic = [header[0], header[1], header[2], header[3]];
    let (big_endian, nanoseconds) = match magic {
        [0xD4, 0xC3, 0xB2, 0xA1] => (false, false),
        [0xA1, 0xB2, 0xC3, 0xD4] => (true, false),
        [0x4D, 0x3C, 0xB2, 0xA1] => (false, true),
        [0xA1, 0xB2, 0x3C, 0x4D] => (true, true),
        _ => return Err(format!("not a classic pcap file (magic {magic:02x?})")),
    };
    let u32_at = |b: &[u8], at: usize| {
        let word = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if big_endian {
            u32::from_be_bytes(word)
        } else {
            u32::from_le_bytes(word)
        }
    };
    let linktype = u32_at(header, 20);
    let mut datagrams = Vec::new();
    let mut offset = 24;
    while offset < bytes.len() {
        let record = bytes
            .get(offset..offset + 16)
            .ok_or(format!("truncated record header at byte {offset}"))?;
        let seconds = u64::from(u32_at(record, 0));
        let fraction = u64::from(u32_at(record, 4));
        let captured = u32_at(record, 8) as usize;
        let frame = bytes
            .get(offset + 16..offset + 16 + captured)
            .ok_or(format!("truncated packet at byte {offset}"))?;
        offset += 16 + captured;
        let time_us = seconds * 1_000_000
            + if nanoseconds {
                fraction / 1000
            } else {
                fraction
            };
        if let Some(ip) = ipv4_of(linktype, frame)?
            && let Some(datagram) = udp_of(ip, time_us)
        {
            datagrams.push(datagram);
        }
    }
    Ok(datagrams)
}

/// The IPv4 packet inside a link-layer frame, `None` for other protocols.
fn ipv4_of(linktype: u32, frame: &[u8]) -> Result<Option<&[u8]>, String> {
    let (ethertype, rest) = match linktype {
        LINKTYPE_ETHERNET => {
            let Some(mut ethertype) = frame.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]]))
            else {
                return Ok(None);
            };
            let mut start = 14;
            if ethertype == 0x8100 {
                let Some(inner) = frame.get(16..18) else {
                    return Ok(None);
                };
                ethertype = u16::from_be_bytes([inner[0], inner[1]]);
                start = 18;
            }
            (ethertype, &frame[start.min(frame.len())..])
        }
        LINKTYPE_LINUX_SLL => {
            let Some(b) = frame.get(14..16) else {
                return Ok(None);
            };
            (
                u16::from_be_bytes([b[0], b[1]]),
                &frame[16.min(frame.len())..],
            )
        }
        LINKTYPE_RAW | LINKTYPE_IPV4 => (0x0800, frame),
        other => return Err(format!("unsupported pcap link type {other}")),
    };
    Ok((ethertype == 0x0800).then_some(rest))
}

/// The UDP datagram inside an IPv4 packet, `None` for other protocols,
/// fragments and truncated captures.
fn udp_of(ip: &[u8], time_us: u64) -> Option<UdpDatagram> {
    if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 17 {
        return None;
    }
    let more_fragments = ip[6] & 0x20 != 0;
    let fragment_offset = u16::from_be_bytes([ip[6] & 0x1F, ip[7]]);
    if more_fragments || fragment_offset != 0 {
        return None;
    }
    let header_len = usize::from(ip[0] & 0x0F) * 4;
    let total_len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let udp = ip.get(header_len..total_len.min(ip.len()))?;
    let udp_len = usize::from(u16::from_be_bytes([*udp.get(4)?, *udp.get(5)?]));
    let payload = udp.get(8..udp_len)?;
    let address = |at: usize, port_at: usize| {
        SocketAddrV4::new(
            Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]),
            u16::from_be_bytes([udp[port_at], udp[port_at + 1]]),
        )
    };
    Some(UdpDatagram {
        time_us,
        source: address(12, 0),
        destination: address(16, 2),
        payload: payload.to_vec(),
    })
}
