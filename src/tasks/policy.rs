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

/// Admins, or a coordinator of the plan's lead department: create, edit, publish and amend
/// an annual plan, and create its round tasks.
pub fn plan_lead(who: &Principal, lead: &DepartmentCode) -> Result<(), TaskError> {
    department(who, lead).map_err(|_| {
        TaskError::Forbidden(format!(
            "only an admin or a coordinator of the plan's lead department {lead} may do this"
        ))
    })
}
