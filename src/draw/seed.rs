//! Entropy reveals, commitments and the seed (suiji-draw/1 §3).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::SPEC;
use super::canonical::{Canon, HashSink};
use super::snapshot::{EntropyPlanEntry, is_hash_hex, is_value_hex};

/// The revealed value of one entropy source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntropyValue {
    /// The source, as named in the snapshot's `entropy_plan`.
    pub source: String,
    /// Lowercase hex of the revealed bytes.
    pub value: String,
}

/// A problem with the revealed entropy.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EntropyError {
    /// A planned source has no value.
    #[error("no value for planned entropy source {0}")]
    Missing(String),
    /// A value for a source that is not in the plan.
    #[error("entropy source {0} is not in the entropy plan")]
    Unplanned(String),
    /// Two values for one source.
    #[error("entropy source {0} has more than one value")]
    Duplicate(String),
    /// A value that is not non-empty, even-length lowercase hex.
    #[error("value of {0} is not lowercase hex")]
    BadValue(String),
    /// A department's reveal does not hash to its commitment.
    #[error("reveal of {0} does not match its commitment")]
    Commitment(String),
    /// The pool hash given to [`seed`] is not 64 lowercase hex digits.
    #[error("pool hash {0:?} is not 64 lowercase hex digits")]
    BadPoolHash(String),
}

/// `hex(SHA-256(unhex(value))) == commitment`. False when `value` is not hex.
pub fn check_commitment(commitment_hex: &str, value_hex: &str) -> bool {
    match hex::decode(value_hex) {
        Ok(bytes) => hex::encode(Sha256::digest(&bytes)) == commitment_hex,
        Err(_) => false,
    }
}

/// Check the reveals against the plan: every planned source has exactly one value, no
/// unplanned source, values are lowercase hex, commitments match. Returns the values in
/// plan (= source) order.
pub fn check_entropy<'a>(
    plan: &[EntropyPlanEntry],
    values: &'a [EntropyValue],
) -> Result<Vec<&'a EntropyValue>, EntropyError> {
    let mut by_source: HashMap<&str, &EntropyValue> = HashMap::with_capacity(values.len());
    for v in values {
        if by_source.insert(v.source.as_str(), v).is_some() {
            return Err(EntropyError::Duplicate(v.source.clone()));
        }
    }
    let mut out = Vec::with_capacity(plan.len());
    for p in plan {
        let v = by_source
            .remove(p.source.as_str())
            .ok_or_else(|| EntropyError::Missing(p.source.clone()))?;
        if !is_value_hex(&v.value) {
            return Err(EntropyError::BadValue(v.source.clone()));
        }
        if let Some(c) = &p.commitment
            && !check_commitment(c, &v.value)
        {
            return Err(EntropyError::Commitment(p.source.clone()));
        }
        out.push(v);
    }
    if let Some(v) = values
        .iter()
        .find(|v| by_source.contains_key(v.source.as_str()))
    {
        return Err(EntropyError::Unplanned(v.source.clone()));
    }
    Ok(out)
}

/// `seed = SHA-256(canonical({"spec", "pool_hash", "entropy": [{source, value}…]}))` with the
/// entries sorted by source. Checks only the form of the inputs (hex, no duplicate source),
/// not the plan or commitments: see [`check_entropy`].
pub fn seed(pool_hash_hex: &str, entropy: &[EntropyValue]) -> Result<[u8; 32], EntropyError> {
    if !is_hash_hex(pool_hash_hex) {
        return Err(EntropyError::BadPoolHash(pool_hash_hex.to_owned()));
    }
    let mut sorted: Vec<&EntropyValue> = entropy.iter().collect();
    sorted.sort_by(|a, b| a.source.cmp(&b.source));
    for w in sorted.windows(2) {
        if w[0].source == w[1].source {
            return Err(EntropyError::Duplicate(w[0].source.clone()));
        }
    }
    for v in &sorted {
        if !is_value_hex(&v.value) {
            return Err(EntropyError::BadValue(v.source.clone()));
        }
    }
    let mut sink = HashSink::new();
    let mut w = Canon::new(&mut sink);
    w.begin_object();
    w.key("entropy");
    w.begin_array();
    for v in sorted {
        w.begin_object();
        w.key("source");
        w.str(&v.source);
        w.key("value");
        w.str(&v.value);
        w.end_object();
    }
    w.end_array();
    w.key("pool_hash");
    w.str(pool_hash_hex);
    w.key("spec");
    w.str(SPEC);
    w.end_object();
    Ok(sink.finish())
}
