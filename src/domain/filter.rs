//! Typed list filters, shared by the API (private and public), the exports and the store:
//! each is parsed once at the edge ([`list_values`] for comma-separated parameters) and
//! turned into SQL only in `store`.

use super::DepartmentCode;
use super::MAX_LIST_VALUES;
use super::codes::parse_region_prefix;
use super::task::TaskState;
use crate::error::FieldError;

/// A region code prefix: 2, 4 or 6 digits (province, city or county).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegionPrefix(String);

impl RegionPrefix {
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_region_prefix(raw).map(Self)
    }
    /// A prefix checked on input before it was stored (a stratum's `region_prefix`).
    pub(crate) fn validated(prefix: String) -> Self {
        Self(prefix)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Splits a comma-separated list parameter and checks each value. One rule for every
/// listing, private or public: at most [`MAX_LIST_VALUES`] values as sent (repeats count),
/// else a 422 naming the parameter; repeats are then dropped.
pub fn list_values<T: PartialEq>(
    field: &str,
    raw: &Option<String>,
    check: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, FieldError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let values: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if values.len() > MAX_LIST_VALUES {
        return Err(FieldError::new(
            field,
            format!(
                "at most {MAX_LIST_VALUES} values (got {}); split the search",
                values.len()
            ),
        ));
    }
    let mut out: Vec<T> = Vec::with_capacity(values.len());
    for s in values {
        let v = check(s).map_err(|reason| FieldError::new(field, reason))?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Filters of a task listing: the coordinators' list, the overdue report and the public
/// list (which the store further restricts to published and closed tasks). Each list is
/// any-of; lists combine with and.
#[derive(Debug, Default, Clone)]
pub struct TaskFilter {
    pub year: Option<i64>,
    /// Empty: any state.
    pub state: Vec<TaskState>,
    pub lead_department: Vec<DepartmentCode>,
    /// Tasks any of these departments takes part in.
    pub department: Vec<DepartmentCode>,
    /// Tasks that drew an institution in any of these regions.
    pub region_prefix: Vec<RegionPrefix>,
}

/// Filters over institutions (each list is any-of; lists combine with and). Vocabulary
/// values are checked at the edge and held by their wire names.
#[derive(Debug, Clone, Default)]
pub struct InstitutionFilter {
    pub kind: Vec<String>,
    pub level: Vec<String>,
    pub ownership: Vec<String>,
    pub risk_grade: Vec<String>,
    pub status: Vec<String>,
    pub region_prefix: Vec<RegionPrefix>,
    pub tags: Vec<String>,
    /// Substring of the name.
    pub q: Option<String>,
    pub credit_code: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct InspectorFilter {
    pub department: Vec<DepartmentCode>,
    pub status: Vec<String>,
    pub region_prefix: Vec<RegionPrefix>,
    /// Substring of the name.
    pub q: Option<String>,
    pub certificate_no: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub department: Vec<DepartmentCode>,
    pub institution_kind: Vec<String>,
    pub status: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes(raw: &str) -> Result<Vec<RegionPrefix>, FieldError> {
        list_values("region_prefix", &Some(raw.to_string()), RegionPrefix::parse)
    }

    #[test]
    fn repeats_count_toward_the_cap_and_are_then_dropped() {
        let at_cap = vec!["1506"; MAX_LIST_VALUES].join(",");
        assert_eq!(prefixes(&at_cap).unwrap().len(), 1);
        let past = vec!["1506"; MAX_LIST_VALUES + 1].join(",");
        let e = prefixes(&past).unwrap_err();
        assert_eq!(e.field, "region_prefix");
        assert!(e.reason.contains("at most"), "{}", e.reason);
        assert_eq!(prefixes(" 15 , ,1506").unwrap().len(), 2);
        assert_eq!(prefixes("123").unwrap_err().field, "region_prefix");
        assert!(
            list_values("x", &None, RegionPrefix::parse)
                .unwrap()
                .is_empty()
        );
    }
}
