//! Key derivation and the random stream (suiji-draw/1 §3–4).
//!
//! Only the ChaCha20 keystream read as little-endian `u64` words is used, through
//! `rand_chacha::ChaCha20Rng::from_seed(key)` and `next_u64()`; none of `rand`'s
//! distribution helpers (whose output may change between versions).

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

/// `derive(seed, label, p1, …, pn) = SHA-256(seed ‖ label ‖ 0x00 ‖ p1 ‖ … ‖ 0x00 ‖ pn)`.
pub fn derive(seed: &[u8; 32], label: &str, parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(label.as_bytes());
    for p in parts {
        h.update([0u8]);
        h.update(p.as_bytes());
    }
    h.finalize().into()
}

/// `rng(key)`: the ChaCha20 keystream (zero nonce, block counter from 0) as `u64` words.
pub struct Stream(ChaCha20Rng);

impl Stream {
    /// The stream for a 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        Stream(ChaCha20Rng::from_seed(key))
    }

    /// The next little-endian 64-bit word of the keystream.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// `uniform(m)` for `m ≥ 1`: rejection sampling with threshold `2^64 mod m`, then `r mod m`.
    ///
    /// # Panics
    /// If `m == 0`.
    #[inline]
    pub fn uniform(&mut self, m: u64) -> u64 {
        uniform_with(m, || self.next_u64())
    }
}

/// `uniform(m)` over any source of keystream words.
///
/// # Panics
/// If `m == 0`.
#[inline]
pub fn uniform_with(m: u64, mut next_u64: impl FnMut() -> u64) -> u64 {
    assert!(m >= 1, "uniform(0)");
    let t = m.wrapping_neg() % m; // (2^64 - m) mod m == 2^64 mod m
    loop {
        let r = next_u64();
        if r >= t {
            return r % m;
        }
    }
}

/// `pick(rng, list, k)`: the first `k` elements of a partial Fisher–Yates shuffle of a copy
/// of `list`, in drawn order.
///
/// # Panics
/// If `k > list.len()`.
pub fn pick<T: Clone>(rng: &mut Stream, list: &[T], k: usize) -> Vec<T> {
    assert!(k <= list.len(), "pick: k > n");
    let mut a = list.to_vec();
    let n = a.len() as u64;
    for i in 0..k {
        let j = i + rng.uniform(n - i as u64) as usize;
        a.swap(i, j);
    }
    a.truncate(k);
    a
}

/// [`pick`] over the indices `0..n`, with a dense index array.
pub fn pick_indices(rng: &mut Stream, n: usize, k: usize) -> Vec<u32> {
    assert!(k <= n, "pick: k > n");
    assert!(n <= u32::MAX as usize, "pick: n too large");
    let mut a: Vec<u32> = (0..n as u32).collect();
    for i in 0..k {
        let j = i + rng.uniform((n - i) as u64) as usize;
        a.swap(i, j);
    }
    a.truncate(k);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8439 §2.3.2-style check: key 00..1f, zero nonce, counter 0 — the first block of
    /// the keystream (computed independently with a plain ChaCha20 implementation).
    #[test]
    fn stream_is_chacha20_zero_nonce() {
        // ChaCha20 keystream, all-zero key and nonce, counter 0 (RFC 8439 A.1 test vector 1).
        let mut s = Stream::new([0u8; 32]);
        let first = s.next_u64();
        assert_eq!(
            first.to_le_bytes(),
            [0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90]
        );
    }

    #[test]
    fn uniform_in_range() {
        let mut s = Stream::new([7u8; 32]);
        for m in 1..200u64 {
            assert!(s.uniform(m) < m);
        }
        assert_eq!(s.uniform(1), 0);
    }

    #[test]
    fn pick_matches_indices() {
        let list: Vec<u32> = (0..50).collect();
        let a = pick(&mut Stream::new([3u8; 32]), &list, 20);
        let b = pick_indices(&mut Stream::new([3u8; 32]), 50, 20);
        assert_eq!(a, b);
    }
}
