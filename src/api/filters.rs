//! The registry listings' query parameters and their typed filters, shared by the listings
//! (`institutions`, `inspectors`) and the exports (`bulk`), so no resource module imports
//! another.

use crate::domain::CreditCode;
use crate::domain::codes::DepartmentCode;
use crate::domain::filter::{InspectorFilter, InstitutionFilter, RegionPrefix, list_values};
use crate::domain::registry::{
    InspectorStatus, InstitutionKind, InstitutionStatus, Level, Ownership, RiskGrade, check_text,
};
use crate::error::{ApiError, ApiResult};
use serde::Deserialize;
use utoipa::IntoParams;

/// A tag asked for in a filter: the same text rule as a tag stored on an institution, so
/// a control or bidirectional character is refused rather than searched for.
fn tag(s: &str) -> Result<String, String> {
    let mut errors = Vec::new();
    check_text(&mut errors, "tags", s, true, 64);
    match errors.pop() {
        Some(e) => Err(e.reason),
        None => Ok(s.to_string()),
    }
}

/// Filters: each takes a comma-separated list (any of); filters combine with and.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstitutionQuery {
    /// e.g. `designated_hospital,retail_pharmacy`
    pub kind: Option<String>,
    pub level: Option<String>,
    pub ownership: Option<String>,
    pub risk_grade: Option<String>,
    pub status: Option<String>,
    /// Region code prefixes (2, 4 or 6 digits), e.g. `1506`.
    pub region_prefix: Option<String>,
    /// Institutions carrying any of these tags.
    pub tags: Option<String>,
    /// Substring of the name.
    pub q: Option<String>,
    /// Exact credit code.
    pub credit_code: Option<String>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl InstitutionQuery {
    /// Checks every filter value against its vocabulary.
    pub fn filter(&self) -> ApiResult<InstitutionFilter> {
        fn vocab<T>(p: fn(&str) -> Result<T, String>) -> impl Fn(&str) -> Result<String, String> {
            move |s| p(s).map(|_| s.to_string())
        }
        Ok(InstitutionFilter {
            kind: list_values("kind", &self.kind, vocab(InstitutionKind::parse))?,
            level: list_values("level", &self.level, vocab(Level::parse))?,
            ownership: list_values("ownership", &self.ownership, vocab(Ownership::parse))?,
            risk_grade: list_values("risk_grade", &self.risk_grade, vocab(RiskGrade::parse))?,
            status: list_values("status", &self.status, vocab(InstitutionStatus::parse))?,
            region_prefix: list_values("region_prefix", &self.region_prefix, RegionPrefix::parse)?,
            tags: list_values("tags", &self.tags, tag)?,
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            credit_code: self
                .credit_code
                .as_deref()
                .map(|c| {
                    CreditCode::parse(c)
                        .map(|c| c.as_str().to_string())
                        .map_err(|r| ApiError::field("credit_code", r))
                })
                .transpose()?,
        })
    }
}

/// Filters: each takes a comma-separated list (any of); filters combine with and.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InspectorQuery {
    pub department: Option<String>,
    pub status: Option<String>,
    pub region_prefix: Option<String>,
    /// Substring of the name.
    pub q: Option<String>,
    pub certificate_no: Option<String>,
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl InspectorQuery {
    /// Checks every filter value against its vocabulary.
    pub fn filter(&self) -> ApiResult<InspectorFilter> {
        Ok(InspectorFilter {
            department: list_values("department", &self.department, DepartmentCode::parse)?,
            status: list_values("status", &self.status, |s| {
                InspectorStatus::parse(s).map(|_| s.to_string())
            })?,
            region_prefix: list_values("region_prefix", &self.region_prefix, RegionPrefix::parse)?,
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            certificate_no: self.certificate_no.clone(),
        })
    }
}
