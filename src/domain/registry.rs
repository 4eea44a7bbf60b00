//! The two registries (一单两库) and the inspection-item list: the values a coordinator
//! submits, and the rules they must satisfy beyond their types.

use super::{CreditCode, DepartmentCode, RegionCode};
use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Declares a closed vocabulary that travels as snake_case strings in JSON, in the
/// database and in query strings.
macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "'{}' is not one of: {}",
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// What kind of institution: 定点医疗机构, 定点零售药店, 村卫生室, other.
    InstitutionKind {
        DesignatedHospital = "designated_hospital",
        RetailPharmacy = "retail_pharmacy",
        VillageClinic = "village_clinic",
        Other = "other",
    }
);
vocabulary!(
    /// Hospital level: 三级, 二级, 一级, 基层 (community), or none for non-hospitals.
    Level { Tertiary = "tertiary", Secondary = "secondary", Primary = "primary", Community = "community", None = "none" }
);
vocabulary!(
    /// 公立 or 民营.
    Ownership { Public = "public", Private = "private" }
);
vocabulary!(
    /// 信用风险分类: A (low risk) to D (high risk).
    RiskGrade { A = "A", B = "B", C = "C", D = "D" }
);
vocabulary!(
    /// Only `active` institutions enter a draw; the others stay in the registry for history.
    InstitutionStatus { Active = "active", Suspended = "suspended", Closed = "closed" }
);
vocabulary!(
    /// Only `active` inspectors can be drawn.
    InspectorStatus { Active = "active", OnLeave = "on_leave", Retired = "retired" }
);
vocabulary!(
    /// Inspection items are retired, never deleted.
    ItemStatus { Active = "active", Retired = "retired" }
);

impl InstitutionKind {
    /// The kind as the registry and the public read it in Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            InstitutionKind::DesignatedHospital => "定点医疗机构",
            InstitutionKind::RetailPharmacy => "定点零售药店",
            InstitutionKind::VillageClinic => "村卫生室",
            InstitutionKind::Other => "其他",
        }
    }
}

fn default_active_institution() -> InstitutionStatus {
    InstitutionStatus::Active
}
fn default_active_inspector() -> InspectorStatus {
    InspectorStatus::Active
}
fn default_active_item() -> ItemStatus {
    ItemStatus::Active
}

/// Characters that make text display other than it reads, or that betray a failed
/// conversion: bidirectional overrides, embeddings, isolates and marks (U+202E shows
/// "abc" as "cba"), and U+FFFD, the replacement character.
pub fn is_deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FFFD}'
    )
}

/// The dates accepted where a person enters one (inspection windows, inspection dates):
/// 2000-01-01 to 2100-12-31. A date outside is a typing error (9999-12-31), never a plan.
pub fn check_date(errors: &mut Vec<FieldError>, field: &str, date: chrono::NaiveDate) {
    use chrono::Datelike;
    if !(2000..=2100).contains(&date.year()) {
        errors.push(FieldError::new(
            field,
            "must be between 2000-01-01 and 2100-12-31",
        ));
    }
}

/// Checks a free-text field: trimmed, non-empty when required, bounded, no control
/// characters, nothing [deceptive](is_deceptive).
pub fn check_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    required: bool,
    max_chars: usize,
) {
    if required && value.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if value.chars().count() > max_chars {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    } else if value.chars().any(|c| c.is_control()) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    } else if let Some(c) = value.chars().find(|&c| is_deceptive(c)) {
        errors.push(FieldError::new(
            field,
            format!(
                "must not contain U+{:04X} (a bidirectional-text control or the replacement character left by a bad conversion)",
                c as u32
            ),
        ));
    } else if value != value.trim() {
        errors.push(FieldError::new(
            field,
            "must not start or end with white space",
        ));
    }
}

/// A tag or an expertise as the schema states it (the text rule of [`check_text`], 1–64
/// characters); the fields stay `String`s.
#[derive(ToSchema)]
#[schema(value_type = String, min_length = 1, max_length = 64, pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$")]
pub struct Label(#[allow(dead_code)] String);

fn check_tags(errors: &mut Vec<FieldError>, field: &str, tags: &[String]) {
    if tags.len() > 32 {
        errors.push(FieldError::new(field, "at most 32 tags"));
    }
    for (i, t) in tags.iter().enumerate() {
        check_text(errors, &format!("{field}[{i}]"), t, true, 64);
        if tags[..i].contains(t) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("duplicate tag '{t}'"),
            ));
        }
    }
}

/// An institution as a coordinator submits it (create, or full replacement on update).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InstitutionInput {
    pub credit_code: CreditCode,
    /// Registered name (机构名称).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub name: String,
    pub kind: InstitutionKind,
    pub level: Level,
    pub ownership: Ownership,
    /// Administrative division code of the institution's location.
    pub region: RegionCode,
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub address: String,
    pub risk_grade: RiskGrade,
    #[serde(default = "default_active_institution")]
    pub status: InstitutionStatus,
    /// Free tags usable in strata filters, e.g. `医共体`.
    #[serde(default)]
    #[schema(value_type = Vec<Label>, max_items = 32)]
    pub tags: Vec<String>,
}

impl InstitutionInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "name", &self.name, true, 200);
        check_text(&mut e, "address", &self.address, false, 500);
        check_tags(&mut e, "tags", &self.tags);
        e
    }
}

/// A stored institution: the submitted fields plus identity and version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Institution {
    /// Server-assigned, stable, URL-safe identifier.
    pub id: String,
    /// Bumped by every change; send it back in `If-Match` to update.
    pub version: i64,
    #[serde(flatten)]
    pub data: InstitutionInput,
    pub created_at: String,
    pub updated_at: String,
}

/// A declared conflict of interest (回避): this inspector must never inspect that institution.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Conflict {
    /// Institution id.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub institution: String,
    /// Why, e.g. `亲属关系` (relative), `原工作单位` (former employer).
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub reason: String,
}

/// An inspector as submitted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InspectorInput {
    pub department: DepartmentCode,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub name: String,
    /// Enforcement certificate number (执法证号); unique.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub certificate_no: String,
    pub region: RegionCode,
    #[serde(default = "default_active_inspector")]
    pub status: InspectorStatus,
    #[serde(default)]
    #[schema(value_type = Vec<Label>, max_items = 32)]
    pub expertise: Vec<String>,
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
}

impl InspectorInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "name", &self.name, true, 100);
        check_text(&mut e, "certificate_no", &self.certificate_no, true, 64);
        check_tags(&mut e, "expertise", &self.expertise);
        if self.conflicts.len() > 1000 {
            e.push(FieldError::new("conflicts", "at most 1000 conflicts"));
        }
        for (i, c) in self.conflicts.iter().enumerate() {
            check_text(
                &mut e,
                &format!("conflicts[{i}].institution"),
                &c.institution,
                true,
                64,
            );
            check_text(
                &mut e,
                &format!("conflicts[{i}].reason"),
                &c.reason,
                true,
                500,
            );
            if self.conflicts[..i]
                .iter()
                .any(|o| o.institution == c.institution)
            {
                e.push(FieldError::new(
                    format!("conflicts[{i}].institution"),
                    "institution listed twice",
                ));
            }
        }
        e
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Inspector {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub data: InspectorInput,
    pub created_at: String,
    pub updated_at: String,
}

/// One entry of a department's inspection-item list (抽查事项清单).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub department: DepartmentCode,
    /// Which kind of institution the item applies to.
    pub institution_kind: InstitutionKind,
    /// Department-local code, e.g. `YB-01`; unique within the department.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,32}$")]
    pub code: String,
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub title: String,
    /// The law or rule the item is based on.
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub legal_basis: String,
    #[serde(default = "default_active_item")]
    pub status: ItemStatus,
}

impl ItemInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        let code_ok = !self.code.is_empty()
            && self.code.len() <= 32
            && self
                .code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !code_ok {
            e.push(FieldError::new(
                "code",
                "must be 1-32 characters of A-Z, a-z, 0-9, '-', '_' or '.'",
            ));
        }
        check_text(&mut e, "title", &self.title, true, 300);
        check_text(&mut e, "legal_basis", &self.legal_basis, false, 2000);
        e
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Item {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub data: ItemInput,
    pub created_at: String,
    pub updated_at: String,
}

/// A department taking part in joint inspections.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DepartmentInput {
    pub code: DepartmentCode,
    /// Chinese name, e.g. 医疗保障局.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub name_zh: String,
    /// English name.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub name_en: String,
}

impl DepartmentInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "name_zh", &self.name_zh, true, 100);
        check_text(&mut e, "name_en", &self.name_en, true, 100);
        e
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Department {
    #[serde(flatten)]
    pub data: DepartmentInput,
    pub created_at: String,
}

/// The schema's statement of [`check_text`] for a required field; a field that may be
/// empty wraps the same in `^(?:…)?$`. The document repeats these literals (utoipa
/// takes a pattern only as a literal), and `api::query_rules` checks every copy.
#[cfg(test)]
pub const REQUIRED_TEXT: &str = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$";

#[cfg(test)]
pub fn optional_text() -> String {
    format!(
        "^(?:{})?$",
        REQUIRED_TEXT.trim_start_matches('^').trim_end_matches('$')
    )
}

/// The schema's statement of [`check_date`], on every date field it checks.
#[cfg(test)]
pub const CHECKED_DAY: &str = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$";

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn the_documented_day_pattern_takes_what_check_date_takes() {
        let re = regex::Regex::new(CHECKED_DAY).unwrap();
        for d in [
            "1999-12-31",
            "2000-01-01",
            "2026-11-24",
            "2100-12-31",
            "2101-01-01",
            "9999-12-31",
            "0251-09-23",
        ] {
            let day: chrono::NaiveDate = d.parse().unwrap();
            let mut e = Vec::new();
            check_date(&mut e, "d", day);
            assert_eq!(e.is_empty(), re.is_match(d), "{d}");
        }
    }

    #[test]
    fn the_documented_text_patterns_take_what_check_text_takes() {
        let required = regex::Regex::new(REQUIRED_TEXT).unwrap();
        let optional = regex::Regex::new(&optional_text()).unwrap();
        for s in [
            "",
            " ",
            "a",
            "某某县公安局",
            "a b",
            " a",
            "a ",
            "a\tb",
            "a\nb",
            "\u{84}",
            "x\u{9f}",
            "\u{202E}x",
            "x\u{FFFD}",
            "x\u{2069}y",
            "\u{3000}x",
            "x\u{a0}",
            "ok\u{7f}",
            "整改 措施：一、二",
        ] {
            for (re, required_field) in [(&required, true), (&optional, false)] {
                let mut e = Vec::new();
                check_text(&mut e, "f", s, required_field, 200);
                assert_eq!(
                    e.is_empty(),
                    re.is_match(s),
                    "{s:?} (required: {required_field}): server {e:?}"
                );
            }
        }
    }

    #[test]
    fn names_refuse_bidi_overrides_and_the_replacement_character() {
        for bad in [
            "abc\u{202E}gpj.exe",
            "医院\u{2066}x",
            "\u{FFFD}医院",
            "a\u{200F}b",
        ] {
            let mut e = Vec::new();
            check_text(&mut e, "name", bad, true, 200);
            assert_eq!(e.len(), 1, "{bad:?}");
            assert!(e[0].reason.contains("U+"), "{}", e[0].reason);
        }
        let mut e = Vec::new();
        check_text(&mut e, "name", "北京协和医院（东单院区）", true, 200);
        assert!(e.is_empty());
    }

    #[test]
    fn dates_outside_2000_to_2100_are_refused() {
        let mut e = Vec::new();
        check_date(&mut e, "inspection_date", "9999-12-31".parse().unwrap());
        check_date(&mut e, "inspection_date", "1999-12-31".parse().unwrap());
        assert_eq!(e.len(), 2);
        let mut e = Vec::new();
        check_date(&mut e, "inspection_date", "2100-12-31".parse().unwrap());
        check_date(&mut e, "inspection_date", "2000-01-01".parse().unwrap());
        assert!(e.is_empty());
    }
}
