//! Who may do what to a task, in one place.

use super::TaskError;
use crate::auth::{Principal, Role};
use crate::domain::DepartmentCode;
use crate::domain::task::TaskInput;

/// Admins, or a coordinator of the task's lead department: create, seal, draw, cancel,
/// publish, record and publish results, reveal a beacon.
pub fn lead(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    if department(who, &task.lead_department).is_ok() {
        Ok(())
    } else {
        Err(TaskError::Forbidden(format!(
            "only an admin or a coordinator of the lead department {} may do this",
            task.lead_department
        )))
    }
}

/// Admins, or a coordinator of `code`: reveal the department's secret.
pub fn department(who: &Principal, code: &DepartmentCode) -> Result<(), TaskError> {
    match (&who.role, &who.department) {
        (Role::Admin, _) => Ok(()),
        (Role::Coordinator, Some(d)) if d == code => Ok(()),
        (Role::Auditor, _) => Err(TaskError::Forbidden(
            "auditors have read-only access".into(),
        )),
        (_, own) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} cannot act for department {code}",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
    }
}

/// Only the department's own coordinator commits to its secret (an admin must not know
/// it).
pub fn commit(who: &Principal, code: &DepartmentCode) -> Result<(), TaskError> {
    if who.role == Role::Coordinator && who.department.as_ref() == Some(code) {
        Ok(())
    } else {
        Err(TaskError::Forbidden(format!(
            "only a coordinator of {code} may commit for department:{code}"
        )))
    }
}

/// The lead, or a coordinator of the team's department: replace an inspector.
pub fn replace(who: &Principal, task: &TaskInput, team: &str) -> Result<(), TaskError> {
    if lead(who, task).is_ok() {
        return Ok(());
    }
    match DepartmentCode::parse(team) {
        Ok(code) => department(who, &code),
        Err(_) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} cannot act for department {team}",
            who.department
                .as_ref()
                .map_or("no department", |d| d.as_str())
        ))),
    }
}

/// Whether `code` is the task's lead or one of its participating departments.
fn takes_part(task: &TaskInput, code: &DepartmentCode) -> bool {
    &task.lead_department == code || task.departments.iter().any(|d| &d.code == code)
}

/// Admins, or a coordinator of the lead or of a participating department: attach evidence
/// to a drawn institution's result (谁检查、谁录入).
pub fn upload_evidence(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    match (&who.role, &who.department) {
        (Role::Admin, _) => Ok(()),
        (Role::Coordinator, Some(d)) if takes_part(task, d) => Ok(()),
        (Role::Auditor, _) => Err(TaskError::Forbidden(
            "auditors have read-only access".into(),
        )),
        (_, own) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} takes no part in this task; only its departments' coordinators or an admin may attach evidence",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
    }
}

/// Admins, auditors, or a coordinator of the lead or of a participating department: read
/// a task's evidence (never public).
pub fn read_evidence(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    match (&who.role, &who.department) {
        (Role::Admin | Role::Auditor, _) => Ok(()),
        (Role::Coordinator, Some(d)) if takes_part(task, d) => Ok(()),
        (_, own) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} takes no part in this task and may not read its evidence",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
    }
}

/// The department whose inbox the caller reads: a coordinator's own (asking for another
/// is refused); admins and auditors name one.
pub fn inbox_department(
    who: &Principal,
    asked: Option<DepartmentCode>,
) -> Result<DepartmentCode, TaskError> {
    match (&who.role, &who.department, asked) {
        (Role::Coordinator, Some(own), None) => Ok(own.clone()),
        (Role::Coordinator, Some(own), Some(a)) if &a == own => Ok(a),
        (Role::Coordinator, own, Some(a)) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} cannot read the inbox of {a}",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
        (_, _, Some(a)) => Ok(a),
        (_, _, None) => Err(TaskError::field(
            "department",
            "admins and auditors name the department whose inbox they read",
        )),
    }
}

/// The department a new webhook covers: a coordinator's own (another is refused); an
/// admin's choice, or every task (`None`). Auditors only read.
pub fn webhook_department(
    who: &Principal,
    asked: Option<DepartmentCode>,
) -> Result<Option<DepartmentCode>, TaskError> {
    match (&who.role, &who.department, asked) {
        (Role::Admin, _, asked) => Ok(asked),
        (Role::Coordinator, Some(own), None) => Ok(Some(own.clone())),
        (Role::Coordinator, Some(own), Some(a)) if &a == own => Ok(Some(a)),
        (Role::Coordinator, own, Some(a)) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} cannot subscribe for department {a}",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
        (Role::Coordinator, None, None) => Err(TaskError::Forbidden(
            "a coordinator without a department cannot subscribe".into(),
        )),
        (Role::Auditor, _, _) => Err(TaskError::Forbidden(
            "auditors have read-only access".into(),
        )),
    }
}

/// Admins, or a coordinator of the webhook's department: delete it, read its deliveries.
pub fn manage_webhook(who: &Principal, department: Option<&str>) -> Result<(), TaskError> {
    match (&who.role, &who.department, department) {
        (Role::Admin, _, _) => Ok(()),
        (Role::Coordinator, Some(own), Some(d)) if own.as_str() == d => Ok(()),
        _ => Err(TaskError::Forbidden(format!(
            "only an admin{} may manage this webhook",
            department.map_or(String::new(), |d| format!(" or a coordinator of {d}"))
        ))),
    }
}

/// Auditors too, besides those who manage it: read a webhook's delivery log.
pub fn read_webhook(who: &Principal, department: Option<&str>) -> Result<(), TaskError> {
    if who.role == Role::Auditor {
        Ok(())
    } else {
        manage_webhook(who, department)
    }
}
