//! Organizations and their jurisdiction (省/市/县): who governs which region for which
//! department. 鄂尔多斯市医疗保障局 (city, region prefix `1506`) is the parent of
//! 乌审旗医疗保障局 (county, `150626`). Every department also has a *default organization*,
//! the root of its tree: level `national`, region prefix `""` (everywhere), code = the
//! department's code. Tokens without an organization act for it, which keeps the
//! single-county setups of before organizations working unchanged.

use super::DepartmentCode;
use super::filter::RegionPrefix;
use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The level of an organization: 全国 (only the departments' default organizations), 省,
/// 市, 县.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OrgLevel {
    National,
    Province,
    City,
    County,
}

impl OrgLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgLevel::National => "national",
            OrgLevel::Province => "province",
            OrgLevel::City => "city",
            OrgLevel::County => "county",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "national" => Ok(OrgLevel::National),
            "province" => Ok(OrgLevel::Province),
            "city" => Ok(OrgLevel::City),
            "county" => Ok(OrgLevel::County),
            other => Err(format!(
                "'{other}' is not one of: province, city, county (national is the departments' default organizations)"
            )),
        }
    }

    /// How many digits the region prefix of this level has.
    pub fn prefix_len(self) -> usize {
        match self {
            OrgLevel::National => 0,
            OrgLevel::Province => 2,
            OrgLevel::City => 4,
            OrgLevel::County => 6,
        }
    }

    /// The level directly above (a parent's level).
    pub fn above(self) -> Option<OrgLevel> {
        match self {
            OrgLevel::National => None,
            OrgLevel::Province => Some(OrgLevel::National),
            OrgLevel::City => Some(OrgLevel::Province),
            OrgLevel::County => Some(OrgLevel::City),
        }
    }
}

impl std::fmt::Display for OrgLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks an organization code: 2–64 characters of `a-z`, `0-9`, `-` and `_`, starting
/// with a letter or digit, e.g. `mi-150626`. The departments' codes are the codes of
/// their default organizations.
pub fn check_code(code: &str) -> Result<(), String> {
    let b = code.as_bytes();
    let ok = (2..=64).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_');
    if ok {
        Ok(())
    } else {
        Err("must be 2-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit, e.g. mi-150626".into())
    }
}

/// An organization as an administrator submits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    /// Unique, e.g. `mi-150626`; never changes.
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{1,63}$", example = "mi-150626")]
    pub code: String,
    /// e.g. 乌审旗医疗保障局.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub name: String,
    pub level: OrgLevel,
    /// The division-code prefix the organization governs: 2 digits for a province, 4 for a
    /// city, 6 for a county (`""` only for the departments' default organizations).
    #[schema(pattern = "^([0-9]{2}|[0-9]{4}|[0-9]{6})?$", example = "150626")]
    pub region_prefix: String,
    /// The code of the organization one level above, of the same department, whose region
    /// contains this one's; absent for a top organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub department: DepartmentCode,
}

impl OrganizationInput {
    /// The rules that need no database: code format, name, the region prefix of the level.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        if let Err(r) = check_code(&self.code) {
            e.push(FieldError::new("code", r));
        }
        super::registry::check_text(&mut e, "name", &self.name, true, 100);
        if self.level == OrgLevel::National {
            e.push(FieldError::new(
                "level",
                "national is the level of the departments' default organizations, created with the department; use province, city or county",
            ));
        } else {
            let n = self.level.prefix_len();
            if self.region_prefix.len() != n
                || !self.region_prefix.bytes().all(|b| b.is_ascii_digit())
            {
                e.push(FieldError::new(
                    "region_prefix",
                    format!(
                        "a {} organization governs a {n}-digit division-code prefix (got '{}')",
                        self.level, self.region_prefix
                    ),
                ));
            }
        }
        if let Some(p) = &self.parent {
            if let Err(r) = check_code(p) {
                e.push(FieldError::new("parent", r));
            } else if p == &self.code {
                e.push(FieldError::new(
                    "parent",
                    "an organization is not its own parent",
                ));
            }
        }
        e
    }

    /// The rules between this organization and its parent.
    pub fn check_parent(&self, parent: &OrganizationInput) -> Vec<FieldError> {
        let mut e = Vec::new();
        if parent.department != self.department {
            e.push(FieldError::new(
                "parent",
                format!(
                    "{} belongs to department {}, not {}",
                    parent.code, parent.department, self.department
                ),
            ));
        }
        if self.level.above() != Some(parent.level) {
            e.push(FieldError::new(
                "parent",
                format!(
                    "{} is a {} organization; the parent of a {} organization is {}",
                    parent.code,
                    parent.level,
                    self.level,
                    self.level.above().map_or("none", |l| l.as_str())
                ),
            ));
        }
        if !self.region_prefix.starts_with(&parent.region_prefix) {
            e.push(FieldError::new(
                "region_prefix",
                format!(
                    "{} is not within the region {} of the parent {}",
                    self.region_prefix, parent.region_prefix, parent.code
                ),
            ));
        }
        e
    }

    pub fn jurisdiction(&self) -> Jurisdiction {
        Jurisdiction {
            code: self.code.clone(),
            level: self.level,
            region_prefix: self.region_prefix.clone(),
            department: self.department.clone(),
        }
    }
}

/// The stored form: tolerant of fields it does not know, so a stored row outlives input
/// changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredOrganization {
    pub code: String,
    pub name: String,
    pub level: OrgLevel,
    #[serde(default)]
    pub region_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub department: DepartmentCode,
}

impl From<OrganizationInput> for StoredOrganization {
    fn from(o: OrganizationInput) -> Self {
        Self {
            code: o.code,
            name: o.name,
            level: o.level,
            region_prefix: o.region_prefix,
            parent: o.parent,
            department: o.department,
        }
    }
}

impl From<StoredOrganization> for OrganizationInput {
    fn from(o: StoredOrganization) -> Self {
        Self {
            code: o.code,
            name: o.name,
            level: o.level,
            region_prefix: o.region_prefix,
            parent: o.parent,
            department: o.department,
        }
    }
}

/// A stored organization.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Organization {
    /// Bumped by every change; send it back in `If-Match` to update.
    pub version: i64,
    #[serde(flatten)]
    pub data: OrganizationInput,
    pub created_at: String,
    pub updated_at: String,
}

/// How many inspectors of one department a sealed pool took from one organization (kept
/// beside the sealed snapshot, outside its hashed text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrgPool {
    pub department: String,
    /// The organization's code (a department's code: its default organization).
    pub organization: String,
    pub inspectors: i64,
}

impl OrgPool {
    pub fn from_rows(rows: Vec<(String, String, i64)>) -> Vec<OrgPool> {
        rows.into_iter()
            .map(|(department, organization, inspectors)| OrgPool {
                department,
                organization,
                inspectors,
            })
            .collect()
    }
}

/// What a coordinator's organization governs: the department and the region prefix
/// (`""`: everywhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jurisdiction {
    pub code: String,
    pub level: OrgLevel,
    pub region_prefix: String,
    pub department: DepartmentCode,
}

impl Jurisdiction {
    /// The default organization of a department: everywhere.
    pub fn default_of(department: &DepartmentCode) -> Self {
        Self {
            code: department.as_str().to_string(),
            level: OrgLevel::National,
            region_prefix: String::new(),
            department: department.clone(),
        }
    }

    /// Whether a 6-digit division code lies in this jurisdiction.
    pub fn covers_region(&self, region: &str) -> bool {
        region.starts_with(&self.region_prefix)
    }

    /// Whether another region prefix lies within this one (a city covers its counties).
    pub fn covers_prefix(&self, prefix: &str) -> bool {
        prefix.starts_with(&self.region_prefix)
    }
}

/// Intersects the region prefixes a listing asks for with a jurisdiction's prefix: `None`
/// when nothing can match (the listing is empty), else the prefixes to filter by (empty:
/// no restriction).
pub fn restrict_prefixes(asked: &[RegionPrefix], scope: &str) -> Option<Vec<RegionPrefix>> {
    if scope.is_empty() {
        return Some(asked.to_vec());
    }
    if asked.is_empty() {
        return Some(vec![RegionPrefix::validated(scope.to_string())]);
    }
    let mut out: Vec<RegionPrefix> = Vec::new();
    for p in asked {
        let narrower = if p.as_str().starts_with(scope) {
            p.clone()
        } else if scope.starts_with(p.as_str()) {
            RegionPrefix::validated(scope.to_string())
        } else {
            continue;
        };
        if !out.contains(&narrower) {
            out.push(narrower);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The same for a stratum's filter, as strings.
pub fn restrict_strings(asked: &[String], scope: &str) -> Option<Vec<String>> {
    let asked: Vec<RegionPrefix> = asked
        .iter()
        .map(|p| RegionPrefix::validated(p.clone()))
        .collect();
    restrict_prefixes(&asked, scope)
        .map(|v| v.into_iter().map(|p| p.as_str().to_string()).collect())
}

/// The organization an inspector counts for in a sealed pool: the most specific
/// organization of his department whose region contains his (the department's default
/// organization when none does).
pub fn organization_of<'a>(
    orgs: &'a [OrganizationInput],
    department: &DepartmentCode,
    region: &str,
) -> Option<&'a OrganizationInput> {
    orgs.iter()
        .filter(|o| &o.department == department && region.starts_with(&o.region_prefix))
        .max_by_key(|o| (o.region_prefix.len(), o.level))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(code: &str, level: OrgLevel, prefix: &str, parent: Option<&str>) -> OrganizationInput {
        OrganizationInput {
            code: code.into(),
            name: format!("{code} 医疗保障局"),
            level,
            region_prefix: prefix.into(),
            parent: parent.map(str::to_string),
            department: DepartmentCode::parse("medical_insurance").unwrap(),
        }
    }

    fn fields(e: &[FieldError]) -> Vec<&str> {
        e.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn the_region_prefix_matches_the_level() {
        assert!(
            org("mi-15", OrgLevel::Province, "15", None)
                .validate()
                .is_empty()
        );
        assert!(
            org("mi-1506", OrgLevel::City, "1506", None)
                .validate()
                .is_empty()
        );
        assert!(
            org("mi-150626", OrgLevel::County, "150626", None)
                .validate()
                .is_empty()
        );
        assert_eq!(
            fields(&org("x1", OrgLevel::City, "150626", None).validate()),
            ["region_prefix"]
        );
        assert_eq!(
            fields(&org("x1", OrgLevel::County, "15062a", None).validate()),
            ["region_prefix"]
        );
        assert_eq!(
            fields(&org("x1", OrgLevel::Province, "", None).validate()),
            ["region_prefix"]
        );
        // national is reserved for the departments' default organizations
        assert_eq!(
            fields(&org("x1", OrgLevel::National, "", None).validate()),
            ["level"]
        );
    }

    #[test]
    fn codes_have_one_format() {
        for good in ["mi-150626", "ordos_mi", "15", "a-"] {
            assert!(check_code(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "-mi",
            "MI-1506",
            "mi 1506",
            "乌审旗",
            &"a".repeat(65),
            "mi.1506",
        ] {
            assert!(check_code(bad).is_err(), "{bad}");
        }
        assert_eq!(
            fields(&org("Bad", OrgLevel::City, "1506", Some("mi 15")).validate()),
            ["code", "parent"]
        );
        assert_eq!(
            fields(&org("mi-1506", OrgLevel::City, "1506", Some("mi-1506")).validate()),
            ["parent"]
        );
    }

    #[test]
    fn the_parent_is_one_level_above_contains_the_region_and_shares_the_department() {
        let city = org("mi-1506", OrgLevel::City, "1506", None);
        let county = org("mi-150626", OrgLevel::County, "150626", Some("mi-1506"));
        assert!(county.check_parent(&city).is_empty());
        // a county of another city
        let elsewhere = org("mi-150102", OrgLevel::County, "150102", Some("mi-1506"));
        assert_eq!(fields(&elsewhere.check_parent(&city)), ["region_prefix"]);
        // two levels above
        let province = org("mi-15", OrgLevel::Province, "15", None);
        assert_eq!(fields(&county.check_parent(&province)), ["parent"]);
        // the root is the parent of provinces
        let root = Jurisdiction::default_of(&city.department);
        let root = org(&root.code, OrgLevel::National, "", None);
        assert!(province.check_parent(&root).is_empty());
        // another department
        let mut health_city = city.clone();
        health_city.department = DepartmentCode::parse("health").unwrap();
        assert_eq!(fields(&county.check_parent(&health_city)), ["parent"]);
    }

    #[test]
    fn listings_are_restricted_to_the_jurisdiction() {
        let p = |s: &str| RegionPrefix::parse(s).unwrap();
        let strs = |v: Option<Vec<RegionPrefix>>| {
            v.map(|v| v.iter().map(|p| p.as_str().to_string()).collect::<Vec<_>>())
        };
        assert_eq!(strs(restrict_prefixes(&[], "")), Some(vec![]));
        assert_eq!(
            strs(restrict_prefixes(&[], "1506")),
            Some(vec!["1506".into()])
        );
        assert_eq!(
            strs(restrict_prefixes(&[p("15")], "1506")),
            Some(vec!["1506".into()])
        );
        assert_eq!(
            strs(restrict_prefixes(&[p("150626"), p("150102")], "1506")),
            Some(vec!["150626".into()])
        );
        assert_eq!(strs(restrict_prefixes(&[p("1501")], "1506")), None);
    }

    #[test]
    fn an_inspector_counts_for_the_most_specific_organization() {
        let d = DepartmentCode::parse("medical_insurance").unwrap();
        let orgs = vec![
            org("medical_insurance", OrgLevel::National, "", None),
            org("mi-1506", OrgLevel::City, "1506", None),
            org("mi-150626", OrgLevel::County, "150626", Some("mi-1506")),
        ];
        let code = |r: &str| organization_of(&orgs, &d, r).map(|o| o.code.as_str());
        assert_eq!(code("150626"), Some("mi-150626"));
        assert_eq!(code("150602"), Some("mi-1506"));
        assert_eq!(code("110101"), Some("medical_insurance"));
        let health = DepartmentCode::parse("health").unwrap();
        assert_eq!(organization_of(&orgs, &health, "150626"), None);
    }
}
