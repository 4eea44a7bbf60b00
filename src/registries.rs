//! The registries' rules that need the database: what an inspector or an inspection item
//! refers to must exist, and their keys (certificate number, item code) stay unique. The
//! registry handlers call these inside their write transaction.

use crate::domain::registry::{InspectorInput, ItemInput};
use crate::error::FieldError;
use crate::store::Tx;
use crate::store::registry;
use crate::tasks::{TaskError, TaskResult};

/// The checks an inspector document needs against the database.
pub async fn check_inspector(
    tx: &mut Tx,
    input: &InspectorInput,
    id: Option<&str>,
) -> TaskResult<()> {
    if !registry::department_exists(&mut **tx, input.department.as_str()).await? {
        return Err(TaskError::field(
            "department",
            format!("no department {}", input.department),
        ));
    }
    let ids: Vec<String> = input
        .conflicts
        .iter()
        .map(|c| c.institution.clone())
        .collect();
    let missing = registry::missing_institutions(tx, &ids).await?;
    if !missing.is_empty() {
        let errors = input
            .conflicts
            .iter()
            .enumerate()
            .filter(|(_, c)| missing.contains(&c.institution))
            .map(|(i, c)| {
                FieldError::new(
                    format!("conflicts[{i}].institution"),
                    format!("no institution with id {}", c.institution),
                )
            })
            .collect();
        return Err(TaskError::Invalid(errors));
    }
    if let Some(other) =
        registry::id_by::<InspectorInput, _>(&mut **tx, "certificate_no", &input.certificate_no)
            .await?
        && Some(other.as_str()) != id
    {
        return Err(TaskError::Conflict(format!(
            "certificate_no {} is already registered as inspector {other}",
            input.certificate_no
        )));
    }
    Ok(())
}

/// The checks an inspection item needs against the database: its department exists, and
/// no other item of the department has its code.
pub async fn check_item(tx: &mut Tx, input: &ItemInput, id: Option<&str>) -> TaskResult<()> {
    if !registry::department_exists(&mut **tx, input.department.as_str()).await? {
        return Err(TaskError::field(
            "department",
            format!("no department {}", input.department),
        ));
    }
    let existing = registry::item_with_code(tx, input.department.as_str(), &input.code).await?;
    if let Some(other) = existing
        && Some(other.as_str()) != id
    {
        return Err(TaskError::Conflict(format!(
            "code {} already exists in department {} (item {other})",
            input.code, input.department
        )));
    }
    Ok(())
}
