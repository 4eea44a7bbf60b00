//! The stored form of a task's configuration, separate from the API's `TaskInput`.
//!
//! `TaskInput` refuses unknown fields, as an API input should. A stored row must stay
//! readable when the API changes, so the stored form is its own type: versioned
//! (`stored_version`, 1 when absent: rows written before it existed) and tolerant (it
//! ignores fields it does not know). Renaming an input field changes the conversions
//! below, not the rows.

use super::DepartmentCode;
use super::registry::{InstitutionKind, Level, Ownership, RiskGrade};
use super::task::{
    EntropySource, Protocol, Ratio, StratumConfig, StratumFilter, TaskDepartment, TaskInput,
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The version written now.
pub const STORED_TASK_VERSION: u32 = 2;

fn v1() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTaskConfig {
    #[serde(default = "v1")]
    pub stored_version: u32,
    pub title: String,
    pub year: i32,
    pub round: u32,
    pub lead_department: DepartmentCode,
    pub departments: Vec<StoredDepartment>,
    pub strata: Vec<StoredStratum>,
    #[serde(default)]
    pub cross_region: bool,
    #[serde(default)]
    pub max_assignments_per_inspector: Option<u64>,
    pub inspection_start: NaiveDate,
    pub inspection_end: NaiveDate,
    #[serde(default)]
    pub items: Vec<String>,
    pub entropy_plan: Vec<StoredSource>,
    #[serde(default)]
    pub results_within_working_days: Option<u32>,
    #[serde(default)]
    pub selection_publish_by: Option<NaiveDate>,
    /// Version 2: the draw protocol, always written. Absent (rows of version 1): /1.
    #[serde(default)]
    pub protocol: Option<Protocol>,
    /// Version 2: the reveal deadline of a /2 task.
    #[serde(default)]
    pub reveal_deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// The task's organization and its region prefix (issue 12); absent on tasks created
    /// before organizations: the lead department's default organization (everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_region: Option<String>,
    /// A sample over a record list (issue 14): the list's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// Issue 14: `random` | `targeted`; absent (every older row): random.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<super::targeted::TaskMode>,
    /// A targeted task's named institutions (tolerant: unknown fields ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<StoredTarget>,
    /// A re-check task's source of completed inspections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck: Option<StoredRecheck>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRecheck {
    pub year: i32,
    #[serde(default)]
    pub region_prefix: Vec<String>,
    #[serde(default)]
    pub departments: Vec<DepartmentCode>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTarget {
    pub institution: String,
    pub reason_kind: super::targeted::ReasonKind,
    #[serde(default)]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clue: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredDepartment {
    pub code: DepartmentCode,
    pub team_size: u64,
    /// A team size range (B.14); absent on rows written before ranges and for fixed sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_size_max: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredStratum {
    pub id: String,
    #[serde(default)]
    pub filter: StoredFilter,
    pub num: u64,
    pub den: u64,
    #[serde(default)]
    pub min: u64,
    #[serde(default)]
    pub max: Option<u64>,
    /// Issue 14: the record conditions of a stratum over a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// Issue 14: the per-value cap (B.15) of a stratum over a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<StoredCap>,
    /// Issue 14: the grouping column (B.16) of a stratum over a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
}

/// A stratum's per-value cap as stored (tolerant: unknown fields ignored).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCap {
    pub column: String,
    pub max: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<InstitutionKind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub level: Vec<Level>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ownership: Vec<Ownership>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk_grade: Vec<RiskGrade>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_prefix: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSource {
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub round: Option<u64>,
}

/// Rows written before the stored form existed hold the stratum ratio as
/// `ratio: {num, den}`; read both shapes.
#[derive(Deserialize)]
struct StratumShapes {
    id: String,
    #[serde(default)]
    filter: StoredFilter,
    #[serde(default)]
    ratio: Option<Ratio>,
    #[serde(default)]
    num: Option<u64>,
    #[serde(default)]
    den: Option<u64>,
    #[serde(default)]
    min: u64,
    #[serde(default)]
    max: Option<u64>,
    #[serde(default)]
    records: Option<std::collections::BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    cap: Option<StoredCap>,
    #[serde(default)]
    group_by: Option<String>,
}

impl<'de> Deserialize<'de> for StoredStratumCompat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = StratumShapes::deserialize(d)?;
        let (num, den) = match (s.ratio, s.num, s.den) {
            (_, Some(num), Some(den)) => (num, den),
            (Some(r), _, _) => (r.num, r.den),
            _ => return Err(serde::de::Error::missing_field("ratio")),
        };
        Ok(Self(StoredStratum {
            id: s.id,
            filter: s.filter,
            num,
            den,
            min: s.min,
            max: s.max,
            records: s.records,
            cap: s.cap,
            group_by: s.group_by,
        }))
    }
}

/// A stratum in either stored shape.
pub struct StoredStratumCompat(pub StoredStratum);

impl StoredTaskConfig {
    /// Reads a stored configuration of any known version.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Any {
            #[serde(flatten)]
            rest: serde_json::Map<String, serde_json::Value>,
            strata: Vec<StoredStratumCompat>,
        }
        let any: Any = serde_json::from_str(json)?;
        let mut rest = any.rest;
        rest.insert("strata".into(), serde_json::Value::Array(Vec::new()));
        let mut cfg: StoredTaskConfig = serde_json::from_value(serde_json::Value::Object(rest))?;
        cfg.strata = any.strata.into_iter().map(|s| s.0).collect();
        Ok(cfg)
    }
}

impl From<&TaskInput> for StoredTaskConfig {
    fn from(t: &TaskInput) -> Self {
        Self {
            stored_version: STORED_TASK_VERSION,
            title: t.title.clone(),
            year: t.year,
            round: t.round,
            lead_department: t.lead_department.clone(),
            departments: t
                .departments
                .iter()
                .map(|d| StoredDepartment {
                    code: d.code.clone(),
                    team_size: d.team_size,
                    team_size_max: d.team_size_max,
                })
                .collect(),
            strata: t
                .strata
                .iter()
                .map(|s| StoredStratum {
                    id: s.id.clone(),
                    filter: StoredFilter {
                        kind: s.filter.kind.clone(),
                        level: s.filter.level.clone(),
                        ownership: s.filter.ownership.clone(),
                        risk_grade: s.filter.risk_grade.clone(),
                        tags: s.filter.tags.clone(),
                        region_prefix: s.filter.region_prefix.clone(),
                    },
                    num: s.ratio.num,
                    den: s.ratio.den,
                    min: s.min,
                    max: s.max,
                    records: s.records.clone(),
                    cap: s.cap.as_ref().map(|c| StoredCap {
                        column: c.column.clone(),
                        max: c.max,
                    }),
                    group_by: s.group_by.clone(),
                })
                .collect(),
            cross_region: t.cross_region,
            max_assignments_per_inspector: t.max_assignments_per_inspector,
            inspection_start: t.inspection_start,
            inspection_end: t.inspection_end,
            items: t.items.clone(),
            entropy_plan: t
                .entropy_plan
                .iter()
                .map(|p| StoredSource {
                    source: p.source.clone(),
                    note: p.note.clone(),
                    round: p.round,
                })
                .collect(),
            results_within_working_days: t.results_within_working_days,
            selection_publish_by: t.selection_publish_by,
            protocol: Some(t.protocol()),
            reveal_deadline: t.reveal_deadline,
            organization: t.organization.clone(),
            organization_region: t.organization_region.clone(),
            list: t.list.clone(),
            mode: t.mode,
            targets: t
                .targets
                .iter()
                .map(|x| StoredTarget {
                    institution: x.institution.clone(),
                    reason_kind: x.reason_kind,
                    reason: x.reason.clone(),
                    clue: x.clue.clone(),
                })
                .collect(),
            recheck: t.recheck.as_ref().map(|r| StoredRecheck {
                year: r.year,
                region_prefix: r.region_prefix.clone(),
                departments: r.departments.clone(),
            }),
        }
    }
}

impl From<StoredTaskConfig> for TaskInput {
    fn from(s: StoredTaskConfig) -> Self {
        Self {
            title: s.title,
            year: s.year,
            round: s.round,
            lead_department: s.lead_department,
            departments: s
                .departments
                .into_iter()
                .map(|d| TaskDepartment {
                    code: d.code,
                    team_size: d.team_size,
                    team_size_max: d.team_size_max,
                })
                .collect(),
            strata: s
                .strata
                .into_iter()
                .map(|st| StratumConfig {
                    id: st.id,
                    filter: StratumFilter {
                        kind: st.filter.kind,
                        level: st.filter.level,
                        ownership: st.filter.ownership,
                        risk_grade: st.filter.risk_grade,
                        tags: st.filter.tags,
                        region_prefix: st.filter.region_prefix,
                    },
                    ratio: Ratio {
                        num: st.num,
                        den: st.den,
                    },
                    min: st.min,
                    max: st.max,
                    records: st.records,
                    cap: st.cap.map(|c| super::list::StratumCap {
                        column: c.column,
                        max: c.max,
                    }),
                    group_by: st.group_by,
                })
                .collect(),
            cross_region: s.cross_region,
            max_assignments_per_inspector: s.max_assignments_per_inspector,
            inspection_start: s.inspection_start,
            inspection_end: s.inspection_end,
            items: s.items,
            entropy_plan: s
                .entropy_plan
                .into_iter()
                .map(|p| EntropySource {
                    source: p.source,
                    note: p.note,
                    round: p.round,
                })
                .collect(),
            results_within_working_days: s.results_within_working_days,
            selection_publish_by: s.selection_publish_by,
            // Rows of version 1 were all suiji-draw/1.
            protocol: Some(s.protocol.unwrap_or(Protocol::V1)),
            reveal_deadline: s.reveal_deadline,
            organization: s.organization,
            organization_region: s.organization_region,
            list: s.list,
            mode: s.mode,
            targets: s
                .targets
                .into_iter()
                .map(|x| super::targeted::NamedTarget {
                    institution: x.institution,
                    reason_kind: x.reason_kind,
                    reason: x.reason,
                    clue: x.clue,
                })
                .collect(),
            recheck: s.recheck.map(|r| super::recheck::RecheckSource {
                year: r.year,
                region_prefix: r.region_prefix,
                departments: r.departments,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row as the code before the stored form wrote it (`TaskInput` as JSON).
    const OLD_ROW: &str = r#"{"title":"2023年联合抽查","year":2023,"round":2,"lead_department":"medical_insurance","departments":[{"code":"medical_insurance","team_size":2}],"strata":[{"id":"h","filter":{"kind":["designated_hospital"]},"ratio":{"num":5,"den":100},"min":1,"max":null}],"cross_region":false,"max_assignments_per_inspector":null,"inspection_start":"2023-08-01","inspection_end":"2023-08-31","items":[],"entropy_plan":[{"source":"department:medical_insurance","note":null}],"results_within_working_days":null,"selection_publish_by":null}"#;

    #[test]
    fn rows_written_before_the_stored_form_still_read() {
        let cfg: TaskInput = StoredTaskConfig::from_json(OLD_ROW).unwrap().into();
        assert_eq!(cfg.strata[0].ratio, Ratio { num: 5, den: 100 });
        assert_eq!(cfg.departments[0].team_size, 2);
        // Rows of version 1 are suiji-draw/1 tasks; otherwise the old row is exactly what
        // `TaskInput` serializes to, and round-trips.
        assert_eq!(cfg.protocol, Some(Protocol::V1));
        let mut plain = cfg.clone();
        plain.protocol = None;
        assert_eq!(serde_json::to_string(&plain).unwrap(), OLD_ROW);
    }

    #[test]
    fn unknown_fields_are_ignored_and_the_form_round_trips() {
        let mut old: TaskInput = serde_json::from_str(OLD_ROW).unwrap();
        old.protocol = Some(Protocol::V1);
        let stored = serde_json::to_value(StoredTaskConfig::from(&old)).unwrap();
        assert_eq!(stored["stored_version"], 2);
        assert_eq!(stored["protocol"], "suiji-draw/1");
        let mut future = stored.clone();
        future["a_field_added_later"] = serde_json::json!({"x": 1});
        future["strata"][0]["also_new"] = serde_json::json!(true);
        let back: TaskInput = StoredTaskConfig::from_json(&future.to_string())
            .unwrap()
            .into();
        assert_eq!(back, old);
    }
}
