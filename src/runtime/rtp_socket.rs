//! A call's RTP port, read on its 20 ms media tick rather than on each
//! packet's arrival.
//!
//! Why: a packet only matters when the tick plays it, and waking a call's
//! task for every arrival (50 times a second per leg, through tokio's
//! reactor) cost more than the media itself at a thousand calls. So the
//! socket stays outside the reactor and the tick drains it. The kernel
//! stamps each datagram as it arrives (`SO_TIMESTAMPNS`), so the jitter
//! buffer still sees when it really came: a tick that runs late must not
//! look like network jitter.

use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use nix::sys::time::TimeSpec;

/// At most this many datagrams are read per drain: a flood on one port
/// waits in (and overflows) its own kernel buffer instead of stalling
/// other calls' ticks.
const MAX_PER_DRAIN: usize = 32;

pub struct RtpSocket {
    socket: UdpSocket,
    /// Room for the kernel's receive timestamp, allocated once.
    control: Vec<u8>,
    buf: Box<[u8; 2048]>,
}

impl RtpSocket {
    pub fn bind(addr: SocketAddr) -> io::Result<RtpSocket> {
        let socket = UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        setsockopt(&socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
        Ok(RtpSocket {
            socket,
            control: nix::cmsg_space!(TimeSpec),
            buf: Box::new([0; 2048]),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sends without waiting: a full socket buffer drops the packet, as the
    /// network would.
    pub fn send_to(&self, packet: &[u8], to: SocketAddr) {
        let _ = self.socket.send_to(packet, to);
    }

    /// Hands every datagram waiting on the port to `each`, with how long
    /// ago it arrived.
    pub fn drain(&mut self, mut each: impl FnMut(Duration, &[u8])) {
        for _ in 0..MAX_PER_DRAIN {
            let Some((len, age)) = self.recv_one() else {
                return;
            };
            each(age, &self.buf[..len]);
        }
    }

    /// One waiting datagram's length and how long ago it arrived.
    fn recv_one(&mut self) -> Option<(usize, Duration)> {
        let mut iov = [IoSliceMut::new(&mut self.buf[..])];
        let msg = recvmsg::<()>(
            self.socket.as_raw_fd(),
            &mut iov,
            Some(&mut self.control),
            MsgFlags::MSG_DONTWAIT,
        )
        .ok()?;
        let stamp = msg.cmsgs().ok().and_then(|mut cmsgs| {
            cmsgs.find_map(|c| match c {
                ControlMessageOwned::ScmTimestampns(ts) => Some(ts),
                _ => None,
            })
        });
        Some((msg.bytes, stamp.map_or(Duration::ZERO, age)))
    }
}

/// How long ago a kernel (wall-clock) timestamp was. Only the short age is
/// taken from the wall clock, so a clock step between arrival and reading
/// can misplace at most the packets read across it.
fn age(stamp: TimeSpec) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    now.saturating_sub(Duration::from(stamp))
}

impl std::fmt::Debug for RtpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RtpSocket").field(&self.socket).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> RtpSocket {
        RtpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap()
    }

    #[test]
    fn drains_what_waits_with_its_arrival_time() {
        let mut rx = loopback();
        let tx = loopback();
        let to = rx.local_addr().unwrap();
        for n in 0..3u8 {
            tx.send_to(&[n; 12], to);
        }
        std::thread::sleep(Duration::from_millis(30));
        let mut got = Vec::new();
        rx.drain(|age, bytes| got.push((age, bytes.to_vec())));
        assert_eq!(got.len(), 3);
        for (n, (age, bytes)) in got.iter().enumerate() {
            assert_eq!(bytes, &vec![n as u8; 12]);
            // Sent at least 30 ms before the drain: stamped then, not now.
            assert!(*age >= Duration::from_millis(25), "age {age:?}");
        }
        let mut more = 0;
        rx.drain(|_, _| more += 1);
        assert_eq!(more, 0, "nothing left, and no wait");
    }

    #[test]
    fn one_drain_reads_a_bounded_number() {
        let mut rx = loopback();
        let tx = loopback();
        let to = rx.local_addr().unwrap();
        for _ in 0..MAX_PER_DRAIN + 5 {
            tx.send_to(&[0; 12], to);
        }
        let mut first = 0;
        rx.drain(|_, _| first += 1);
        let mut rest = 0;
        rx.drain(|_, _| rest += 1);
        assert_eq!((first, rest), (MAX_PER_DRAIN, 5));
    }
}
