//! Small validated values of the task lifecycle: entropy sources, 32-byte hex values,
//! idempotency keys. Parsed once at the edge; the lifecycle trusts them.

use super::DepartmentCode;
use std::fmt;

/// Where a draw's randomness comes from: a department that committed to a secret before
/// sealing, or a public beacon whose value does not exist yet at sealing. Written
/// `department:<code>` or `beacon:<name>` on the wire and in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    Department(DepartmentCode),
    Beacon(String),
}

impl Source {
    /// Parses `department:<code>` or `beacon:<name>`; the reason names what is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(code) = s.strip_prefix("department:") {
            DepartmentCode::parse(code)
                .map(Source::Department)
                .map_err(|e| format!("department source: {e}"))
        } else if let Some(name) = s.strip_prefix("beacon:") {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if ok {
                Ok(Source::Beacon(name.to_string()))
            } else {
                Err("beacon names use a-z, 0-9 and '-'".into())
            }
        } else {
            Err("a source is department:<code> or beacon:<name>".into())
        }
    }

    /// The department that commits to this source, if it is one.
    pub fn department(&self) -> Option<&DepartmentCode> {
        match self {
            Source::Department(d) => Some(d),
            Source::Beacon(_) => None,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Department(d) => write!(f, "department:{d}"),
            Source::Beacon(n) => write!(f, "beacon:{n}"),
        }
    }
}

/// Hex text of `min..=max` bytes, lower case. Commitments and department secrets are
/// exactly 32 bytes; a beacon's value 1 to 1024.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HexValue(String);

impl HexValue {
    pub fn parse(value: &str, min: usize, max: usize) -> Result<Self, String> {
        let v = value.trim().to_ascii_lowercase();
        let ok = v.len().is_multiple_of(2)
            && (min..=max).contains(&(v.len() / 2))
            && v.bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(Self(v))
        } else if min == max {
            Err(format!("must be {} hex digits", min * 2))
        } else {
            Err(format!("must be hex encoding {min} to {max} bytes"))
        }
    }

    /// A 32-byte value (SHA-256 digest, commitment, department secret, seed).
    pub fn parse32(value: &str) -> Result<Self, String> {
        Self::parse(value, 32, 32)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HexValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client's `Idempotency-Key`: 1–200 visible characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(s: &str) -> Result<Self, String> {
        let k = s.trim();
        if !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            Ok(Self(k.to_string()))
        } else {
            Err("must be 1-200 visible characters".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip() {
        for s in ["department:health", "beacon:drand-quicknet"] {
            assert_eq!(Source::parse(s).unwrap().to_string(), s);
        }
        assert!(Source::parse("department:").is_err());
        assert!(Source::parse("beacon:Bad Name").is_err());
        assert!(Source::parse("oracle:x").is_err());
    }

    #[test]
    fn hex_values() {
        assert_eq!(
            HexValue::parse32(&"AB".repeat(32)).unwrap().as_str(),
            "ab".repeat(32)
        );
        assert_eq!(
            HexValue::parse32("abc").unwrap_err(),
            "must be 64 hex digits"
        );
        assert!(HexValue::parse("zz", 1, 1024).is_err());
    }

    #[test]
    fn idempotency_keys() {
        assert_eq!(IdempotencyKey::parse(" k1 ").unwrap().as_str(), "k1");
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"x".repeat(201)).is_err());
    }
}
