//! A lossy, jittery datagram network on fake time. Each datagram is lost
//! with a fixed probability or delivered after a base delay plus a random
//! jitter; packets sent 20 ms apart with up to 60 ms of jitter overtake each
//! other, so reordering comes from the jitter itself. Seeded: the same seed
//! gives the same network on every run.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;

/// What the network does to every datagram.
#[derive(Debug, Clone, Copy)]
pub struct Impairment {
    /// Probability that a datagram is lost (0.0 ..= 1.0).
    pub loss: f64,
    /// Delay every datagram has.
    pub base_delay_ms: u64,
    /// Extra delay, uniform in 0 ..= max_jitter_ms.
    pub max_jitter_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

/// What happened on one direction of one flow (from -> to).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub sent: u64,
    pub lost: u64,
    pub delivered: u64,
    /// Delivered after a datagram of the same flow that was sent later.
    pub overtaken: u64,
}

pub struct FakeNetwork {
    impairment: Impairment,
    rng: SplitMix,
    /// (deliver at, send order) -> datagram; the order breaks ties FIFO.
    in_flight: BinaryHeap<Reverse<(u64, u64)>>,
    parcels: HashMap<u64, Datagram>,
    sent: u64,
    flows: HashMap<(SocketAddr, SocketAddr), FlowStats>,
    /// Latest send order delivered per flow, to spot overtaking.
    newest_delivered: HashMap<(SocketAddr, SocketAddr), u64>,
}

impl FakeNetwork {
    pub fn new(seed: u64, impairment: Impairment) -> FakeNetwork {
        FakeNetwork {
            impairment,
            rng: SplitMix(seed),
            in_flight: BinaryHeap::new(),
            parcels: HashMap::new(),
            sent: 0,
            flows: HashMap::new(),
            newest_delivered: HashMap::new(),
        }
    }

    pub fn send(&mut self, now_ms: u64, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        let order = self.sent;
        self.sent += 1;
        let flow = self.flows.entry((from, to)).or_default();
        flow.sent += 1;
        if self.rng.unit() < self.impairment.loss {
            flow.lost += 1;
            return;
        }
        let jitter = self.rng.below(self.impairment.max_jitter_ms + 1);
        let at = now_ms + self.impairment.base_delay_ms + jitter;
        self.in_flight.push(Reverse((at, order)));
        self.parcels.insert(order, Datagram { from, to, bytes });
    }

    /// When the next datagram arrives, if any is in flight.
    pub fn next_arrival(&self) -> Option<u64> {
        self.in_flight.peek().map(|Reverse((at, _))| *at)
    }

    /// The next datagram due at or before `now_ms`.
    pub fn receive(&mut self, now_ms: u64) -> Option<Datagram> {
        let Reverse((at, order)) = *self.in_flight.peek()?;
        if at > now_ms {
            return None;
        }
        self.in_flight.pop();
        let datagram = self.parcels.remove(&order)?;
        let key = (datagram.from, datagram.to);
        let newest = self.newest_delivered.entry(key).or_insert(order);
        let flow = self.flows.entry(key).or_default();
        flow.delivered += 1;
        if order < *newest {
            flow.overtaken += 1;
        } else {
            *newest = order;
        }
        Some(datagram)
    }

    pub fn flow(&self, from: SocketAddr, to: SocketAddr) -> FlowStats {
        self.flows.get(&(from, to)).copied().unwrap_or_default()
    }
}

/// SplitMix64: small, seedable and good enough to pick losses and delays.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn same_seed_same_network_and_jitter_reorders() {
        let run = |seed| {
            let mut net = FakeNetwork::new(
                seed,
                Impairment {
                    loss: 0.05,
                    base_delay_ms: 5,
                    max_jitter_ms: 60,
                },
            );
            let mut got = Vec::new();
            for i in 0..1000u64 {
                net.send(i * 20, addr(1), addr(2), i.to_be_bytes().to_vec());
                while let Some(d) = net.receive(i * 20) {
                    got.push(d.bytes);
                }
            }
            while let Some(at) = net.next_arrival() {
                got.extend(net.receive(at).map(|d| d.bytes));
            }
            (got, net.flow(addr(1), addr(2)))
        };
        let (a, stats) = run(7);
        assert_eq!(run(7).0, a);
        assert_ne!(run(8).0, a);
        assert_eq!(stats.sent, 1000);
        assert_eq!(stats.delivered + stats.lost, 1000);
        assert!((20..=90).contains(&stats.lost), "{stats:?}");
        assert!(stats.overtaken > 0, "{stats:?}");
    }
}
