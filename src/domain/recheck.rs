//! Re-check samples (抽查复查, issue 14 part 4; seed 001: "省局、市局将按照不低10%的比例开展
//! 抽查复查"). A higher-level organization (city or province) draws a share of the
//! inspections its lower levels completed — published results of their tasks of a year,
//! optionally of some regions and lead departments — and inspects those institutions
//! again, with teams drawn as usual (cross-county with `cross_region` at city level).
//! Each re-check result is compared with the original one.

use super::DepartmentCode;
use super::codes::parse_region_prefix;
use super::result::ResultCategory;
use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which completed inspections the re-check draws from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecheckSource {
    /// The year of the inspected tasks.
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: i32,
    /// Only institutions of these region prefixes (2, 4 or 6 digits); empty: the whole
    /// jurisdiction of the re-checking organization.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_prefix: Vec<String>,
    /// Only tasks led by these departments; empty: the re-check's lead department.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub departments: Vec<DepartmentCode>,
}

impl RecheckSource {
    pub fn validate(&self, e: &mut Vec<FieldError>) {
        if !(2000..=2100).contains(&self.year) {
            e.push(FieldError::new(
                "recheck.year",
                "must be between 2000 and 2100",
            ));
        }
        for (i, p) in self.region_prefix.iter().enumerate() {
            if let Err(r) = parse_region_prefix(p) {
                e.push(FieldError::new(format!("recheck.region_prefix[{i}]"), r));
            }
        }
        for (i, d) in self.departments.iter().enumerate() {
            if self.departments[..i].contains(d) {
                e.push(FieldError::new(
                    format!("recheck.departments[{i}]"),
                    format!("department {d} listed twice"),
                ));
            }
        }
    }

    /// The lead departments whose tasks count, `lead` when none is named.
    pub fn lead_departments(&self, lead: &DepartmentCode) -> Vec<DepartmentCode> {
        if self.departments.is_empty() {
            vec![lead.clone()]
        } else {
            self.departments.clone()
        }
    }
}

/// What a category says for the comparison: `Some(true)` a problem was found, `Some(false)`
/// none was, `None` the inspection could not judge (activity not found, unreachable,
/// closed, deregistered): such results are not compared.
pub fn found_problem(c: ResultCategory) -> Option<bool> {
    use ResultCategory::*;
    match c {
        NoProblem => Some(false),
        Corrected | FollowUpPending | Obstructed | LicenseRevoked | RegistrationRevoked => {
            Some(true)
        }
        ActivityNotFound | Unreachable | Closed | Deregistered => None,
    }
}

/// How a re-check result compares with the original one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No re-check result published yet.
    Pending,
    /// Both found a problem (发现问题属实).
    Confirmed,
    /// Both found none.
    AgreedClean,
    /// The original found none, the re-check found one (漏查).
    Missed,
    /// The original found one, the re-check found none (结论被推翻).
    Overturned,
    /// One of the two could not judge (unreachable, closed …).
    NotComparable,
}

impl Verdict {
    pub fn label_zh(self) -> &'static str {
        match self {
            Verdict::Pending => "待复查",
            Verdict::Confirmed => "问题属实",
            Verdict::AgreedClean => "均未发现问题",
            Verdict::Missed => "原检查漏查",
            Verdict::Overturned => "原结论被推翻",
            Verdict::NotComparable => "无法比对",
        }
    }
}

/// The comparison rule (README, "Re-check samples").
pub fn verdict(original: ResultCategory, recheck: Option<ResultCategory>) -> Verdict {
    let Some(recheck) = recheck else {
        return Verdict::Pending;
    };
    match (found_problem(original), found_problem(recheck)) {
        (Some(true), Some(true)) => Verdict::Confirmed,
        (Some(false), Some(false)) => Verdict::AgreedClean,
        (Some(false), Some(true)) => Verdict::Missed,
        (Some(true), Some(false)) => Verdict::Overturned,
        _ => Verdict::NotComparable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResultCategory::*;

    #[test]
    fn the_comparison_rule() {
        assert_eq!(
            verdict(Corrected, Some(FollowUpPending)),
            Verdict::Confirmed
        );
        assert_eq!(verdict(NoProblem, Some(Corrected)), Verdict::Missed);
        assert_eq!(
            verdict(FollowUpPending, Some(NoProblem)),
            Verdict::Overturned
        );
        assert_eq!(verdict(NoProblem, Some(NoProblem)), Verdict::AgreedClean);
        assert_eq!(
            verdict(NoProblem, Some(Unreachable)),
            Verdict::NotComparable
        );
        assert_eq!(verdict(Closed, Some(Corrected)), Verdict::NotComparable);
        assert_eq!(verdict(Corrected, None), Verdict::Pending);
        for c in ResultCategory::ALL {
            // Every category is classified on purpose (a new one must be added here).
            let _ = found_problem(c);
        }
    }
}
