//! Hands out RTP ports from the configured range, even numbers only
//! (RFC 3550: RTCP would take the odd one above).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};

use crate::runtime::rtp_socket::RtpSocket;

pub struct RtpPorts {
    ip: IpAddr,
    min: u16,
    max: u16,
    next: AtomicU16,
}

impl RtpPorts {
    pub fn new(ip: IpAddr, (min, max): (u16, u16)) -> RtpPorts {
        let min = min + (min % 2);
        RtpPorts {
            ip,
            min,
            max: max.max(min),
            next: AtomicU16::new(min),
        }
    }

    /// Binds the next free even port, trying each port of the range at most
    /// once (another process may hold some of them).
    pub fn bind(&self) -> Option<RtpSocket> {
        let slots = usize::from((self.max - self.min) / 2 + 1);
        for _ in 0..slots {
            let port = self.take();
            if let Ok(socket) = RtpSocket::bind(SocketAddr::new(self.ip, port)) {
                return Some(socket);
            }
        }
        None
    }

    fn take(&self) -> u16 {
        let port = self.next.fetch_add(2, Ordering::Relaxed);
        if port > self.max || port < self.min {
            self.next.store(self.min + 2, Ordering::Relaxed);
            self.min
        } else {
            port
        }
    }
}
