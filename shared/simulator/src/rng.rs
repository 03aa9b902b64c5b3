//! A tiny deterministic random number generator.
//!
//! Every generated value is a pure function of (seed, object salt, record index), so a
//! record can be rebuilt on demand in any order and the org never has to live in memory.

/// The splitmix64 finaliser: a fast, well-mixed 64-bit hash.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A splitmix64 stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Starts the stream of one record of one object.
    pub fn for_record(seed: u64, salt: u64, index: u64) -> Self {
        Rng(splitmix64(
            seed ^ splitmix64(salt) ^ splitmix64(index.wrapping_add(salt)),
        ))
    }

    /// Starts a stream from a single key, for org-wide values such as credentials.
    pub fn from_key(seed: u64, key: u64) -> Self {
        Rng(splitmix64(seed ^ splitmix64(key)))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix64(self.0)
    }

    /// A value in `0..n` (0 when `n` is 0). The modulo bias is irrelevant for test data.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        // `below` keeps the index in range, and callers only pass non-empty constants.
        &items[self.below(items.len() as u64) as usize]
    }

    /// `len` characters drawn from `alphabet`.
    pub fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| char::from(*self.pick(alphabet))).collect()
    }
}
