//! FNV-1a, 64 bits: a stable, dependency-free hash for seeds and keys (not for security).

/// FNV-1a of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// FNV-1a as a [`std::hash::Hasher`], for hash maps of many short keys (history's 500,000
/// lookups of a workload and a machine), where the standard SipHash is several times slower.
/// Not for keys an attacker chooses to collide: only for data this process reads itself.
#[derive(Clone, Copy)]
pub struct Hasher(u64);

impl Default for Hasher {
    fn default() -> Self {
        Hasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Hasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`Hasher`]s: `HashMap<K, V, fnv::Build>`.
pub type Build = std::hash::BuildHasherDefault<Hasher>;

#[cfg(test)]
mod tests {
    #[test]
    fn reference_values() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(super::fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_hasher_hashes_as_the_function() {
        use std::hash::Hasher as _;
        let mut h = super::Hasher::default();
        h.write(b"foo");
        h.write(b"bar");
        assert_eq!(h.finish(), super::fnv1a(b"foobar"));
    }
}
