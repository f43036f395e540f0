//! Tags, branches and Call-IDs: unique and unguessable enough for a peer
//! that only checks uniqueness, yet reproducible from the seed so fake-time
//! tests see the same messages every run.

pub struct Ids {
    state: u64,
}

impl Ids {
    pub fn new(seed: u64) -> Ids {
        Ids { state: seed }
    }

    /// splitmix64: a full-period counter through a strong mixer.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn tag(&mut self) -> String {
        format!("{:012x}", self.next_u64() >> 16)
    }

    /// With the RFC 3261 magic cookie.
    pub fn branch(&mut self) -> String {
        format!("z9hG4bK{:016x}", self.next_u64())
    }

    pub fn call_id(&mut self, host: &str) -> String {
        format!("{:016x}@{host}", self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids_different_seed_different_ids() {
        let (mut a, mut b, mut c) = (Ids::new(7), Ids::new(7), Ids::new(8));
        assert_eq!(a.branch(), b.branch());
        assert_ne!(a.tag(), c.tag());
        let tags: std::collections::HashSet<_> = (0..1000).map(|_| a.tag()).collect();
        assert_eq!(tags.len(), 1000);
    }
}
