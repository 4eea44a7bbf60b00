//! Names of administrative divisions (行政区划名称), so that public pages show 东胜区
//! rather than `150602`. A small built-in set covers the divisions of the walk-through and
//! the seeds (鄂尔多斯市); administrators load the names of their own divisions (stored and
//! audited), which take precedence over the built-in ones.

use crate::error::FieldError;
use std::collections::BTreeMap;

/// The built-in names: 内蒙古自治区 鄂尔多斯市 and its banners and districts (GB/T 2260).
pub const BUILTIN: &[(&str, &str)] = &[
    ("15", "内蒙古自治区"),
    ("1506", "鄂尔多斯市"),
    ("150602", "东胜区"),
    ("150603", "康巴什区"),
    ("150621", "达拉特旗"),
    ("150622", "准格尔旗"),
    ("150623", "鄂托克前旗"),
    ("150624", "鄂托克旗"),
    ("150625", "杭锦旗"),
    ("150626", "乌审旗"),
    ("150627", "伊金霍洛旗"),
];

/// A division code (2, 4 or 6 digits: province, prefecture, county) and its name.
pub fn validate(code: &str, name: &str) -> Vec<FieldError> {
    let mut e = Vec::new();
    if !matches!(code.len(), 2 | 4 | 6) || !code.bytes().all(|b| b.is_ascii_digit()) {
        e.push(FieldError::new(
            "code",
            "must be a division code of 2, 4 or 6 digits, e.g. 150602",
        ));
    }
    crate::domain::registry::check_text(&mut e, "name", name, true, 50);
    e
}

/// Code → name: the built-in set with the stored names over it.
#[derive(Debug, Clone, Default)]
pub struct RegionNames(BTreeMap<String, String>);

impl RegionNames {
    pub fn with_stored(stored: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut m: BTreeMap<String, String> = BUILTIN
            .iter()
            .map(|(c, n)| (c.to_string(), n.to_string()))
            .collect();
        m.extend(stored);
        Self(m)
    }

    /// The name of a division, or `None` when neither built in nor loaded.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.0.get(code).map(String::as_str)
    }

    /// The name as a reader wants it: the county with its prefecture when the county is
    /// named (`鄂尔多斯市东胜区`), else the nearest named prefix followed by the code.
    pub fn label(&self, code: &str) -> String {
        let own = self.name(code);
        let parent = (code.len() == 6).then(|| self.name(&code[..4])).flatten();
        match (parent, own) {
            (Some(p), Some(o)) => format!("{p}{o}"),
            (None, Some(o)) => o.to_string(),
            (Some(p), None) => format!("{p} {code}"),
            (None, None) => code.to_string(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(c, n)| (c.as_str(), n.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_override_the_builtin_ones_and_labels_fall_back_to_codes() {
        let r = RegionNames::with_stored([("150602".to_string(), "东胜区（新）".to_string())]);
        assert_eq!(r.label("150602"), "鄂尔多斯市东胜区（新）");
        assert_eq!(r.label("150621"), "鄂尔多斯市达拉特旗");
        assert_eq!(r.label("150699"), "鄂尔多斯市 150699");
        assert_eq!(r.label("310101"), "310101");
        assert_eq!(r.label("1506"), "鄂尔多斯市");
    }

    #[test]
    fn codes_and_names_are_checked() {
        assert!(validate("150602", "东胜区").is_empty());
        assert!(validate("1506", "鄂尔多斯市").is_empty());
        assert_eq!(validate("15060", "x")[0].field, "code");
        assert_eq!(validate("15060a", "x")[0].field, "code");
        assert_eq!(validate("150602", "")[0].field, "name");
        assert_eq!(validate("150602", &"长".repeat(51))[0].field, "name");
    }
}
