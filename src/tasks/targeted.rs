//! Targeted inspections (定向) in the lifecycle: the named institutions must exist, be
//! active and lie in the task's jurisdiction, when the task is created and again when its
//! pool is sealed (the registry may change in between). The pool's one stratum
//! `targeted` then holds exactly them, at 1/1; the teams are drawn as in any /2 task.

use super::{TaskError, TaskResult};
use crate::domain::task::TaskInput;
use crate::error::FieldError;
use crate::store::Tx;

/// The named institutions as `(id, region)` pool candidates, sorted by id, or a 422
/// naming each target that cannot be inspected.
pub async fn named_candidates(tx: &mut Tx, cfg: &TaskInput) -> TaskResult<Vec<(String, String)>> {
    let ids: Vec<String> = cfg.targets.iter().map(|t| t.institution.clone()).collect();
    let found = crate::store::targeted::named_institutions(tx, &ids).await?;
    let region = cfg.organization_region.clone().unwrap_or_default();
    let mut errors = Vec::new();
    for (i, t) in cfg.targets.iter().enumerate() {
        let field = format!("targets[{i}].institution");
        match found.iter().find(|n| n.id == t.institution) {
            None => errors.push(FieldError::new(
                field,
                format!("no institution {}", t.institution),
            )),
            Some(n) if n.status != "active" => errors.push(FieldError::new(
                field,
                format!("institution {} is {}, not active", n.id, n.status),
            )),
            Some(n) if !n.region.starts_with(&region) => errors.push(FieldError::new(
                field,
                format!(
                    "institution {} (region {}) is outside the task's organization (region {region})",
                    n.id, n.region
                ),
            )),
            Some(_) => {}
        }
    }
    if !errors.is_empty() {
        return Err(TaskError::Invalid(errors));
    }
    Ok(found.into_iter().map(|n| (n.id, n.region)).collect())
}
