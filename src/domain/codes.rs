//! Codes with a published structure: the unified social credit code (GB 32100-2015),
//! the six-digit administrative division code, and our department codes.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn credit_value(c: u8) -> Option<u32> {
    CREDIT_ALPHABET
        .iter()
        .position(|&a| a == c)
        .map(|p| p as u32)
}

/// 统一社会信用代码: 18 characters whose last one is a check character over the first 17.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "91350100M000100Y43", pattern = "^[0-9A-HJ-NPQRTUWXY]{18}$")]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses a credit code, accepting lower case and surrounding blanks as a convenience
    /// (codes are often pasted from spreadsheets), and checks the check character.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim().to_ascii_uppercase();
        if code.chars().count() != 18 {
            return Err(format!(
                "must be 18 characters, found {}",
                code.chars().count()
            ));
        }
        let bytes = code.as_bytes();
        let mut sum = 0u32;
        for (i, &b) in bytes.iter().enumerate() {
            let Some(v) = credit_value(b) else {
                return Err(format!(
                    "character {} ('{}') is not allowed (I, O, Z, S and V are never used)",
                    i + 1,
                    b as char
                ));
            };
            if i < 17 {
                sum += v * CREDIT_WEIGHTS[i];
            }
        }
        let expected = (31 - sum % 31) % 31;
        let expected_char = CREDIT_ALPHABET[expected as usize] as char;
        if bytes[17] as char != expected_char {
            return Err(format!(
                "check character is '{}', expected '{}'",
                bytes[17] as char, expected_char
            ));
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CreditCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}
impl From<CreditCode> for String {
    fn from(c: CreditCode) -> String {
        c.0
    }
}
impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Province-level prefixes of GB/T 2260 administrative division codes.
const PROVINCES: &[&str] = &[
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// 行政区划代码: six digits whose first two name a province.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "150602", pattern = "^(11|12|13|14|15|21|22|23|31|32|33|34|35|36|37|41|42|43|44|45|46|50|51|52|53|54|61|62|63|64|65|71|81|82)[0-9]{4}$")]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a 6-digit administrative division code".into());
        }
        if !PROVINCES.contains(&&s[..2]) {
            return Err(format!("'{}' is not a province-level prefix", &s[..2]));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RegionCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}
impl From<RegionCode> for String {
    fn from(c: RegionCode) -> String {
        c.0
    }
}

/// A region prefix used in filters: 2, 4 or 6 digits (province, city, county).
pub fn parse_region_prefix(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if !matches!(s.len(), 2 | 4 | 6) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be 2, 4 or 6 digits (province, city or county prefix)".into());
    }
    Ok(s.to_string())
}

/// A department code such as `medical_insurance`: `[a-z][a-z0-9_]{1,31}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "medical_insurance", pattern = "^[a-z][a-z0-9_]{1,31}$")]
pub struct DepartmentCode(String);

impl DepartmentCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let b = raw.as_bytes();
        let ok = (2..=32).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b[1..]
                .iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err("must match [a-z][a-z0-9_]{1,31}".into())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DepartmentCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}
impl From<DepartmentCode> for String {
    fn from(c: DepartmentCode) -> String {
        c.0
    }
}
impl fmt::Display for DepartmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_from_the_standard() {
        for ok in [
            "91350100M000100Y43",
            "914403001922038216",
            "91110108551385082Q",
        ] {
            assert_eq!(CreditCode::parse(ok).unwrap().as_str(), ok);
        }
        let err = CreditCode::parse("91350100M000100Y4Z").unwrap_err();
        assert!(err.contains("'Z'"), "{err}");
        let err = CreditCode::parse("91350100M000100Y44").unwrap_err();
        assert!(err.contains("expected '3'"), "{err}");
        assert!(CreditCode::parse("9135").is_err());
        assert_eq!(
            CreditCode::parse(" 91110108551385082q ").unwrap().as_str(),
            "91110108551385082Q"
        );
    }

    #[test]
    fn check_character_zero_when_sum_is_a_multiple_of_31() {
        // Build a code whose 17-character prefix sums to 0 mod 31: all zeros.
        assert!(CreditCode::parse("000000000000000000").is_ok());
        assert!(CreditCode::parse("000000000000000001").is_err());
    }

    #[test]
    fn region_and_department_codes() {
        assert!(RegionCode::parse("150602").is_ok());
        assert!(RegionCode::parse("990602").is_err());
        assert!(RegionCode::parse("15060").is_err());
        assert!(DepartmentCode::parse("health").is_ok());
        assert!(DepartmentCode::parse("Health").is_err());
        assert!(DepartmentCode::parse("h").is_err());
        assert!(parse_region_prefix("1506").is_ok());
        assert!(parse_region_prefix("150").is_err());
    }
}
