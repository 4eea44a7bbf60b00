//! The drand quicknet beacon (suiji-draw/2 §B.3): pinned chain parameters, round times and
//! the BLS signature check. Pure: no network; a round's signature is entered by a person
//! (copied from any drand relay) and checked here against the pinned public key.

use drand_verify::{G2PubkeyRfc, Pubkey};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The entropy-plan source naming the quicknet beacon.
pub const SOURCE: &str = "beacon:drand-quicknet";
/// quicknet's chain hash (identifies the chain on every drand relay).
pub const CHAIN_HASH: &str = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";
/// quicknet's group public key (compressed G2 point, scheme `bls-unchained-g1-rfc9380`).
pub const PUBLIC_KEY: &str = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a";
/// Unix time of round 1.
pub const GENESIS: u64 = 1_692_803_367;
/// Seconds between rounds.
pub const PERIOD: u64 = 3;

/// Why a beacon entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BeaconError {
    /// Round 0 does not exist (rounds start at 1).
    #[error("quicknet round 0 does not exist")]
    RoundZero,
    /// The signature is not 48 bytes of lowercase hex.
    #[error("signature of round {round} is not 96 lowercase hex digits (a compressed G1 point)")]
    Malformed {
        /// The round.
        round: u64,
    },
    /// The signature does not verify against quicknet's public key for this round.
    #[error("signature of round {round} does not verify against the quicknet public key")]
    Invalid {
        /// The round.
        round: u64,
    },
}

/// Unix time (seconds) at which `round` is published: `GENESIS + (round − 1) × PERIOD`.
/// `None` for round 0.
pub fn round_time(round: u64) -> Option<u64> {
    round
        .checked_sub(1)
        .and_then(|r| r.checked_mul(PERIOD))
        .and_then(|s| s.checked_add(GENESIS))
}

/// The first round published strictly after Unix time `t` (to name a beacon at sealing:
/// any round ≥ this one is "after" `t`).
pub fn first_round_after(t: u64) -> u64 {
    if t < GENESIS {
        return 1;
    }
    (t - GENESIS) / PERIOD + 2
}

/// Check the hex `signature` of `round` and return the round's randomness,
/// `SHA-256(signature bytes)`, as drand clients compute it.
pub fn verify_hex(round: u64, signature: &str) -> Result<[u8; 32], BeaconError> {
    if signature.len() != 96
        || !signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(BeaconError::Malformed { round });
    }
    let sig = hex::decode(signature).map_err(|_| BeaconError::Malformed { round })?;
    verify(round, &sig)
}

/// Check the raw `signature` (48 bytes) of `round` against the pinned public key and return
/// `SHA-256(signature)`.
pub fn verify(round: u64, signature: &[u8]) -> Result<[u8; 32], BeaconError> {
    if round == 0 {
        return Err(BeaconError::RoundZero);
    }
    if signature.len() != 48 {
        return Err(BeaconError::Malformed { round });
    }
    let mut pk = [0u8; 96];
    hex::decode_to_slice(PUBLIC_KEY, &mut pk).expect("pinned key is hex");
    let key = G2PubkeyRfc::from_fixed(pk).expect("pinned key is a G2 point");
    match key.verify(round, b"", signature) {
        Ok(true) => Ok(Sha256::digest(signature).into()),
        Ok(false) => Err(BeaconError::Invalid { round }),
        Err(_) => Err(BeaconError::Malformed { round }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real quicknet rounds, as published by the drand relays
    /// (`https://api.drand.sh/{CHAIN_HASH}/public/{round}`).
    const ROUNDS: &[(u64, &str)] = &[
        (
            2,
            "b6b6a585449b66eb12e875b64fcbab3799861a00e4dbf092d99e969a5eac57dd3f798acf61e705fe4f093db926626807",
        ),
        (
            3,
            "b3fab6df720b68cc47175f2c777e86d84187caab5770906f515ff1099cb01e4deaa027075d860823e49477b93c72bd64",
        ),
        (
            123,
            "b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92",
        ),
        (
            657413,
            "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b",
        ),
    ];

    #[test]
    fn real_rounds_verify_and_fail_for_the_next_round() {
        for &(round, sig) in ROUNDS {
            assert!(verify_hex(round, sig).is_ok(), "round {round}");
            assert_eq!(
                verify_hex(round + 1, sig),
                Err(BeaconError::Invalid { round: round + 1 })
            );
        }
        assert_eq!(
            hex::encode(verify_hex(657413, ROUNDS[3].1).unwrap()),
            "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
        );
    }

    #[test]
    fn malformed_signatures_are_named() {
        assert_eq!(
            verify_hex(5, "00"),
            Err(BeaconError::Malformed { round: 5 })
        );
        let upper = ROUNDS[0].1.to_uppercase();
        assert_eq!(
            verify_hex(2, &upper),
            Err(BeaconError::Malformed { round: 2 })
        );
        assert_eq!(verify(0, &[0; 48]), Err(BeaconError::RoundZero));
    }

    #[test]
    fn round_times() {
        assert_eq!(round_time(1), Some(GENESIS));
        assert_eq!(round_time(657413), Some(GENESIS + 657412 * 3));
        assert_eq!(round_time(0), None);
        let t = round_time(1000).unwrap();
        assert_eq!(first_round_after(t), 1001);
        assert_eq!(first_round_after(t - 1), 1000);
        assert_eq!(first_round_after(0), 1);
    }
}
