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
    /// Wall-clock time of the first drain. What waited from before it (an
    /// agent who answered while the caller still heard the transfer line)
    /// counts as arriving then: a stream whose clock started seconds ago
    /// would play off.
    first_drain: Option<Duration>,
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
            first_drain: None,
        })
    }

    /// Asks for a kernel receive buffer of `bytes`: past the system's cap
    /// where allowed (root), else up to the cap. A port that many streams
    /// share needs room for all they send between two drains.
    pub fn set_receive_buffer(&self, bytes: usize) -> io::Result<()> {
        setsockopt(&self.socket, sockopt::RcvBufForce, &bytes)
            .or_else(|_| setsockopt(&self.socket, sockopt::RcvBuf, &bytes))
            .map_err(io::Error::from)
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
    /// ago it arrived (at most since the first drain). The first datagrams
    /// after the system turns receive stamps on are stamped as they are
    /// read, and so count as arriving now, as before stamps were used.
    ///
    /// Only the short age is taken from the wall clock (the kernel stamps
    /// in wall-clock time), so a clock step between arrival and reading can
    /// misplace at most the packets read across it.
    pub fn drain(&mut self, mut each: impl FnMut(Duration, &[u8])) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let since = *self.first_drain.get_or_insert(now);
        for _ in 0..MAX_PER_DRAIN {
            let Some((len, stamp)) = self.recv_one() else {
                return;
            };
            let arrived = stamp.map_or(now, |stamp| stamp.max(since));
            each(now.saturating_sub(arrived), &self.buf[..len]);
        }
    }

    /// [`RtpSocket::drain`] until nothing waits, for a port whose load is
    /// known to be bounded (a bench caller's own).
    pub fn drain_all(&mut self, mut each: impl FnMut(Duration, &[u8])) {
        loop {
            let mut read = 0;
            self.drain(|age, bytes| {
                read += 1;
                each(age, bytes);
            });
            if read < MAX_PER_DRAIN {
                return;
            }
        }
    }

    /// One waiting datagram's length and its kernel arrival stamp
    /// (wall-clock time).
    fn recv_one(&mut self) -> Option<(usize, Option<Duration>)> {
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
        Some((msg.bytes, stamp.map(Duration::from)))
    }
}

impl std::fmt::Debug for RtpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RtpSocket").field(&self.socket).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A receiving socket, a sending one, and where to send.
    fn pair() -> (RtpSocket, RtpSocket, SocketAddr) {
        let bind = || RtpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let rx = bind();
        let to = rx.local_addr().unwrap();
        (rx, bind(), to)
    }

    /// Linux turns receive stamps on for the whole stack lazily: when the
    /// first socket asks (and off when the last one closes), a kernel work
    /// queue flips the switch a little later, and a datagram that arrives
    /// before then is stamped as it is read. Waits, bounded, until a
    /// datagram is stamped on arrival, and gives back that socket: while it
    /// is open, stamps stay on for the sockets a test opens after it.
    fn stamps_on() -> RtpSocket {
        let (mut rx, tx, to) = pair();
        rx.drain(|_, _| {});
        // Up to 2 s for the work queue.
        for _ in 0..400 {
            tx.send_to(&[0; 12], to);
            std::thread::sleep(Duration::from_millis(5));
            let mut stamped = false;
            rx.drain(|age, _| stamped |= age >= Duration::from_millis(3));
            if stamped {
                return rx;
            }
        }
        panic!("the kernel never stamped a datagram on arrival");
    }

    #[test]
    fn drains_what_waits_with_its_arrival_time() {
        let _on = stamps_on();
        let (mut rx, tx, to) = pair();
        // Read since before these were sent, as a call's tick reads it.
        rx.drain(|_, _| {});
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
    fn what_waited_before_the_first_drain_arrived_at_it() {
        let _on = stamps_on();
        let (mut rx, tx, to) = pair();
        tx.send_to(&[0; 12], to);
        std::thread::sleep(Duration::from_millis(30));
        let mut ages = Vec::new();
        rx.drain(|age, _| ages.push(age));
        assert_eq!(ages, [Duration::ZERO]);
        // From then on, ages are true ones.
        tx.send_to(&[1; 12], to);
        std::thread::sleep(Duration::from_millis(30));
        rx.drain(|age, _| ages.push(age));
        assert!(ages[1] >= Duration::from_millis(25), "age {:?}", ages[1]);
    }

    #[test]
    fn one_drain_reads_a_bounded_number() {
        let (mut rx, tx, to) = pair();
        for _ in 0..MAX_PER_DRAIN + 5 {
            tx.send_to(&[0; 12], to);
        }
        let mut first = 0;
        rx.drain(|_, _| first += 1);
        let mut rest = 0;
        rx.drain(|_, _| rest += 1);
        assert_eq!((first, rest), (MAX_PER_DRAIN, 5));
    }

    #[test]
    fn drain_all_reads_everything_waiting() {
        let (mut rx, tx, to) = pair();
        rx.set_receive_buffer(1 << 20).unwrap();
        for _ in 0..3 * MAX_PER_DRAIN + 1 {
            tx.send_to(&[0; 12], to);
        }
        let mut read = 0;
        rx.drain_all(|_, _| read += 1);
        assert_eq!(read, 3 * MAX_PER_DRAIN + 1);
    }
}
