//! Joint fieldwork (进一次门、查多项事; 谁检查、谁录入、谁公开): which of a task's items
//! apply to a drawn institution, each department's own part of its result, and the
//! institution's result combined from the parts.
//!
//! Every department of the task enters a part for every drawn institution (each
//! contributes at least one inspector to every team, so each inspected it). When the last
//! missing part comes in, and again whenever a part changes after that, the institution's
//! result is recomputed from the latest parts (most serious category, amounts summed) and
//! recorded as a new result version if it differs. The lead's own
//! `PUT …/results/{institution}` stays: for single-department tasks, and to record a
//! combination by hand; the next change of a part recomputes it.

use super::{TaskError, TaskResult, lock, policy, require_state};
use crate::auth::Principal;
use crate::domain::result::{ResultInput, combine};
use crate::domain::task::{TaskInput, TaskState};
use crate::store::parts::{self, ItemCard, PartRow};
use crate::store::publication as results_store;
use crate::store::tasks::TaskRow;
use crate::store::{Store, Tx, audit};

/// The departments of a task, lead first as configured.
pub fn departments(cfg: &TaskInput) -> Vec<String> {
    cfg.departments
        .iter()
        .map(|d| d.code.as_str().to_string())
        .collect()
}

/// The task's items that apply to an institution of `kind`, by department and code.
pub async fn items_for_kind<'e, E>(
    exec: E,
    cfg: &TaskInput,
    kind: &str,
) -> TaskResult<Vec<ItemCard>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(parts::task_items(exec, &departments(cfg), &cfg.items)
        .await?
        .into_iter()
        .filter(|i| i.institution_kind == kind)
        .collect())
}

/// The drawn institution's registered kind, or `NotFound` if it was not drawn.
async fn drawn_kind(tx: &mut Tx, task: &TaskRow, institution: &str) -> TaskResult<String> {
    if !results_store::is_selected(&mut **tx, &task.id, institution).await? {
        return Err(TaskError::NotFound(format!(
            "institution {institution} was not drawn in task {}",
            task.id
        )));
    }
    parts::institution_kind(&mut **tx, institution)
        .await?
        .ok_or_else(|| TaskError::internal(format!("drawn institution {institution} is gone")))
}

/// Checks a lead-entered result: its item outcomes name only the task's items for this
/// institution's kind (a hospital item never lands on a pharmacy).
pub async fn check_result(
    tx: &mut Tx,
    task: &TaskRow,
    institution: &str,
    input: &ResultInput,
) -> TaskResult<()> {
    let kind = drawn_kind(tx, task, institution).await?;
    let mut codes: Vec<String> = items_for_kind(&mut **tx, &task.config, &kind)
        .await?
        .into_iter()
        .map(|i| i.code)
        .collect();
    codes.dedup();
    TaskError::check(input.validate_for(
        &codes,
        &format!("an inspection item of this task for a {kind}"),
        task.config.inspection_start,
    ))
}

/// A recorded part: whether this call made a new version, every version of this
/// department's part for the institution, and the result version the parts were combined
/// into by this call, if any.
pub struct PartRecorded {
    pub created: bool,
    pub versions: Vec<PartRow>,
    pub combined_version: Option<i64>,
    /// Departments of the task whose part for this institution is still missing.
    pub missing: Vec<String>,
}

/// Records one department's part of the result for one drawn institution (admin or a
/// coordinator of that department; task `drawn`, `published` or `closed`). Each change is
/// a new version; changing a published part needs `correction_reason`. When every
/// department's part is in, the institution's result is (re)combined from them.
pub async fn record_part(
    db: &Store,
    who: &Principal,
    id: &str,
    institution: &str,
    department: &str,
    input: &ResultInput,
) -> TaskResult<PartRecorded> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    let all = departments(&task.config);
    let Some(code) = task
        .config
        .departments
        .iter()
        .map(|d| &d.code)
        .find(|c| c.as_str() == department)
    else {
        return Err(TaskError::NotFound(format!(
            "department {department} does not take part in task {id} (its departments: {})",
            all.join(", ")
        )));
    };
    policy::part(who, &task.config, code)?;
    require_state(
        &task,
        &[TaskState::Drawn, TaskState::Published, TaskState::Closed],
        "record a result part",
    )?;
    let kind = drawn_kind(&mut tx, &task, institution).await?;
    let own: Vec<String> = items_for_kind(&mut *tx, &task.config, &kind)
        .await?
        .into_iter()
        .filter(|i| i.department == department)
        .map(|i| i.code)
        .collect();
    TaskError::check(input.validate_for(
        &own,
        &format!("an item of department {department} in this task for a {kind}"),
        task.config.inspection_start,
    ))?;
    let latest = parts::latest_parts(&mut tx, id, institution).await?;
    let mine = latest.iter().find(|p| p.department == department);
    let version = match mine {
        Some(l) if l.data == input.content() => None,
        Some(l) if l.published_at.is_some() && input.correction_reason.is_none() => {
            return Err(TaskError::field(
                "correction_reason",
                format!(
                    "version {} of this part is published; a correction needs a reason, and both versions stay visible",
                    l.version
                ),
            ));
        }
        Some(l) => Some(l.version + 1),
        None => Some(1),
    };
    let Some(version) = version else {
        tx.commit().await?;
        return answer(db, id, institution, department, false, None, &all).await;
    };
    let actor = who.actor();
    parts::insert_part(&mut tx, id, institution, department, version, input, &actor).await?;
    audit::append(
        &mut tx,
        &actor,
        "result_part.record",
        "task",
        id,
        &audit::payload_digest(&(institution, department, input)),
    )
    .await?;
    let combined = combine_parts(&mut tx, who, &task, institution, input).await?;
    tx.commit().await?;
    tracing::info!(task = %id, %institution, %department, version, "result part recorded");
    answer(db, id, institution, department, true, combined, &all).await
}

/// Recombines the institution's result when every department's part is in; returns the
/// new result version, if one was made.
async fn combine_parts(
    tx: &mut Tx,
    who: &Principal,
    task: &TaskRow,
    institution: &str,
    input: &ResultInput,
) -> TaskResult<Option<i64>> {
    let latest = parts::latest_parts(tx, &task.id, institution).await?;
    let all = departments(&task.config);
    if all
        .iter()
        .any(|d| !latest.iter().any(|p| &p.department == d))
    {
        return Ok(None);
    }
    let names = parts::department_names(tx).await?;
    let ordered: Vec<(String, String, ResultInput)> = all
        .iter()
        .filter_map(|d| {
            let p = latest.iter().find(|p| &p.department == d)?;
            let name = names
                .iter()
                .find(|(c, _)| c == d)
                .map_or(d.clone(), |(_, n)| n.clone());
            Some((d.clone(), name, p.data.clone()))
        })
        .collect();
    let Some(mut combined) = combine(&ordered) else {
        return Ok(None);
    };
    let current = results_store::latest_result(tx, &task.id, institution).await?;
    let version = match &current {
        Some(l) if l.data == combined => return Ok(None),
        Some(l) if l.published_at.is_some() => {
            let Some(reason) = input.correction_reason.clone() else {
                return Err(TaskError::field(
                    "correction_reason",
                    format!(
                        "the institution's result version {} is published; this part changes it, so it needs a reason, and both versions stay visible",
                        l.version
                    ),
                ));
            };
            combined.correction_reason = Some(reason);
            l.version + 1
        }
        Some(l) => l.version + 1,
        None => 1,
    };
    let actor = who.actor();
    results_store::insert_result(tx, &task.id, institution, version, &combined, &actor).await?;
    audit::append(
        tx,
        &actor,
        "result.record",
        "task",
        &task.id,
        &audit::payload_digest(&(institution, &combined)),
    )
    .await?;
    Ok(Some(version))
}

async fn answer(
    db: &Store,
    id: &str,
    institution: &str,
    department: &str,
    created: bool,
    combined_version: Option<i64>,
    all: &[String],
) -> TaskResult<PartRecorded> {
    let every = parts::parts(&mut *db.read().await?, id, false).await?;
    let missing = all
        .iter()
        .filter(|d| {
            !every
                .iter()
                .any(|p| p.institution_id == institution && &p.department == *d)
        })
        .cloned()
        .collect();
    Ok(PartRecorded {
        created,
        versions: every
            .into_iter()
            .filter(|p| p.institution_id == institution && p.department == department)
            .collect(),
        combined_version,
        missing,
    })
}

/// Every version of every department's part of a task's results.
pub async fn all_parts(db: &Store, id: &str) -> TaskResult<Vec<PartRow>> {
    super::get(db, id).await?;
    Ok(parts::parts(&mut *db.read().await?, id, false).await?)
}

/// The task's items for an institution of `kind`, read outside any step (the check form).
pub async fn form_items(db: &Store, cfg: &TaskInput, kind: &str) -> TaskResult<Vec<ItemCard>> {
    items_for_kind(&mut *db.read().await?, cfg, kind).await
}
