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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    /// When the first drain began. What waited from before it (an agent
    /// who answered while the caller still heard the transfer line) counts
    /// as arriving then: a stream whose clock started seconds ago would
    /// play off.
    first_drain: Option<Instant>,
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

    /// Hands every datagram waiting on the port to `each`, with when it
    /// arrived (no earlier than the first drain began). The first datagrams
    /// after the system turns receive stamps on are stamped as they are
    /// read, and so count as arriving then, as before stamps were used.
    ///
    /// The kernel stamps in wall-clock time; each stamp is turned into an
    /// `Instant` by a pair of readings of both clocks taken right after its
    /// datagram is read. Why per datagram: a drain that is paused part way
    /// (the process descheduled) must not shift what it reads after the
    /// pause, as one reading of `now` for the whole drain did. Only the
    /// short age comes from the wall clock, so a clock step between arrival
    /// and reading can misplace at most the packets read across it.
    pub fn drain(&mut self, mut each: impl FnMut(Instant, &[u8])) {
        let since = *self.first_drain.get_or_insert_with(Instant::now);
        for _ in 0..MAX_PER_DRAIN {
            let Some((len, stamp)) = self.recv_one() else {
                return;
            };
            let read_at = Instant::now();
            let age = stamp.map_or(Duration::ZERO, |stamp| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .saturating_sub(stamp)
            });
            let arrived = read_at.checked_sub(age).unwrap_or(read_at).max(since);
            each(arrived, &self.buf[..len]);
        }
    }

    /// [`RtpSocket::drain`] until nothing waits, for a port whose load is
    /// known to be bounded (a bench caller's own).
    pub fn drain_all(&mut self, mut each: impl FnMut(Instant, &[u8])) {
        loop {
            let mut read = 0;
            self.drain(|arrived, bytes| {
                read += 1;
                each(arrived, bytes);
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
            rx.drain(|arrived, _| stamped |= arrived.elapsed() >= Duration::from_millis(3));
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
        let drained_at = Instant::now();
        rx.drain(|arrived, bytes| got.push((arrived, bytes.to_vec())));
        assert_eq!(got.len(), 3);
        for (n, (arrived, bytes)) in got.iter().enumerate() {
            assert_eq!(bytes, &vec![n as u8; 12]);
            // Sent at least 30 ms before the drain: stamped then, not now.
            let age = drained_at - *arrived;
            assert!(age >= Duration::from_millis(25), "age {age:?}");
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
        let mut arrivals = Vec::new();
        let first_drain = Instant::now();
        rx.drain(|arrived, _| arrivals.push(arrived));
        assert_eq!(arrivals.len(), 1);
        assert!(arrivals[0] >= first_drain, "counted from the first drain");
        // From then on, arrivals are true ones.
        tx.send_to(&[1; 12], to);
        std::thread::sleep(Duration::from_millis(30));
        rx.drain(|arrived, _| arrivals.push(arrived));
        let age = arrivals[1].elapsed();
        assert!(age >= Duration::from_millis(25), "age {age:?}");
    }

    #[test]
    fn a_drain_paused_part_way_keeps_true_arrival_times() {
        let _on = stamps_on();
        let (mut rx, tx, to) = pair();
        rx.set_receive_buffer(1 << 20).unwrap();
        rx.drain(|_, _| {});
        let n = 2 * MAX_PER_DRAIN + 3;
        for _ in 0..n {
            tx.send_to(&[0; 12], to);
        }
        std::thread::sleep(Duration::from_millis(5));
        let all_sent = Instant::now();
        let mut arrivals = Vec::new();
        rx.drain_all(|arrived, _| {
            if arrivals.is_empty() {
                // As if the process lost its core in the middle of a drain.
                std::thread::sleep(Duration::from_millis(40));
            }
            arrivals.push(arrived);
        });
        assert_eq!(arrivals.len(), n);
        // Whatever was read after the pause still arrived before it.
        let late = arrivals.iter().filter(|&&at| at > all_sent).count();
        assert_eq!(late, 0, "{late} of {n} placed after they were sent");
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
