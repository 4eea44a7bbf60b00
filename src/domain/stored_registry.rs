//! The stored form of registry records (institutions, inspectors, inspection items),
//! separate from the API's input types, as [`super::stored`] is for task configuration.
//!
//! The input types refuse unknown fields, as API inputs should. A stored row must stay
//! readable when the API changes, so rows are written and read through these types:
//! versioned (`stored_version`, 1 when absent, and not written while it is 1, so a row's
//! JSON stays what it was and its audit payload digest still matches) and tolerant (they
//! ignore fields they do not know, and every field added after the first version has a
//! default). Renaming an input field changes the conversions below, not the rows.

use super::registry::{
    Conflict, InspectorInput, InspectorStatus, InstitutionInput, InstitutionKind,
    InstitutionStatus, ItemInput, ItemStatus, Level, Ownership, RiskGrade,
};
use super::{CreditCode, DepartmentCode, RegionCode};
use serde::{Deserialize, Serialize};

/// The version written now.
pub const STORED_RECORD_VERSION: u32 = 1;

fn v1() -> u32 {
    1
}
fn is_v1(v: &u32) -> bool {
    *v == 1
}
fn active_institution() -> InstitutionStatus {
    InstitutionStatus::Active
}
fn active_inspector() -> InspectorStatus {
    InspectorStatus::Active
}
fn active_item() -> ItemStatus {
    ItemStatus::Active
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredInstitution {
    #[serde(default = "v1", skip_serializing_if = "is_v1")]
    pub stored_version: u32,
    pub credit_code: CreditCode,
    pub name: String,
    pub kind: InstitutionKind,
    pub level: Level,
    pub ownership: Ownership,
    pub region: RegionCode,
    #[serde(default)]
    pub address: String,
    pub risk_grade: RiskGrade,
    #[serde(default = "active_institution")]
    pub status: InstitutionStatus,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl From<InstitutionInput> for StoredInstitution {
    fn from(i: InstitutionInput) -> Self {
        Self {
            stored_version: STORED_RECORD_VERSION,
            credit_code: i.credit_code,
            name: i.name,
            kind: i.kind,
            level: i.level,
            ownership: i.ownership,
            region: i.region,
            address: i.address,
            risk_grade: i.risk_grade,
            status: i.status,
            tags: i.tags,
        }
    }
}

impl From<StoredInstitution> for InstitutionInput {
    fn from(s: StoredInstitution) -> Self {
        Self {
            credit_code: s.credit_code,
            name: s.name,
            kind: s.kind,
            level: s.level,
            ownership: s.ownership,
            region: s.region,
            address: s.address,
            risk_grade: s.risk_grade,
            status: s.status,
            tags: s.tags,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredConflict {
    pub institution: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredInspector {
    #[serde(default = "v1", skip_serializing_if = "is_v1")]
    pub stored_version: u32,
    pub department: DepartmentCode,
    pub name: String,
    pub certificate_no: String,
    pub region: RegionCode,
    #[serde(default = "active_inspector")]
    pub status: InspectorStatus,
    #[serde(default)]
    pub expertise: Vec<String>,
    #[serde(default)]
    pub conflicts: Vec<StoredConflict>,
}

impl From<InspectorInput> for StoredInspector {
    fn from(i: InspectorInput) -> Self {
        Self {
            stored_version: STORED_RECORD_VERSION,
            department: i.department,
            name: i.name,
            certificate_no: i.certificate_no,
            region: i.region,
            status: i.status,
            expertise: i.expertise,
            conflicts: i
                .conflicts
                .into_iter()
                .map(|c| StoredConflict {
                    institution: c.institution,
                    reason: c.reason,
                })
                .collect(),
        }
    }
}

impl From<StoredInspector> for InspectorInput {
    fn from(s: StoredInspector) -> Self {
        Self {
            department: s.department,
            name: s.name,
            certificate_no: s.certificate_no,
            region: s.region,
            status: s.status,
            expertise: s.expertise,
            conflicts: s
                .conflicts
                .into_iter()
                .map(|c| Conflict {
                    institution: c.institution,
                    reason: c.reason,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredItem {
    #[serde(default = "v1", skip_serializing_if = "is_v1")]
    pub stored_version: u32,
    pub department: DepartmentCode,
    pub institution_kind: InstitutionKind,
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub legal_basis: String,
    #[serde(default = "active_item")]
    pub status: ItemStatus,
}

impl From<ItemInput> for StoredItem {
    fn from(i: ItemInput) -> Self {
        Self {
            stored_version: STORED_RECORD_VERSION,
            department: i.department,
            institution_kind: i.institution_kind,
            code: i.code,
            title: i.title,
            legal_basis: i.legal_basis,
            status: i.status,
        }
    }
}

impl From<StoredItem> for ItemInput {
    fn from(s: StoredItem) -> Self {
        Self {
            department: s.department,
            institution_kind: s.institution_kind,
            code: s.code,
            title: s.title,
            legal_basis: s.legal_basis,
            status: s.status,
        }
    }
}
