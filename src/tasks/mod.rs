//! The task lifecycle as a library: create, commit, seal, reveal, draw, replace, cancel,
//! publish, record and publish results. Each step takes the caller, the task id and a
//! typed input, checks who may do it ([`policy`]) and in which state, changes the store in
//! one transaction with its audit entry, and answers a typed value or a [`TaskError`].
//! The HTTP handlers in `api/` and the CLI call these functions; nothing here knows HTTP.

mod error;
pub mod policy;

pub use error::{TaskError, TaskResult};

use crate::auth::Principal;
use crate::domain::registry::{InspectorInput, InstitutionInput, check_text};
use crate::domain::result::ResultInput;
use crate::domain::task::{SealInputs, TaskInput, TaskState, assemble_snapshot};
use crate::domain::{CreditCode, HexValue, IdempotencyKey, Source};
use crate::draw::{self, CanonicalJson, EntropyValue, ReplaceError, Replacement};
use crate::error::{FieldError, InfeasiblePair};
use crate::store::publication::{self as results_store, ResultRow, SelectionRow};
use crate::store::tasks::{self as store, TaskRow};
use crate::store::{Store, Tx, audit, registry};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Reads a task, or `NotFound`.
pub async fn get(db: &Store, id: &str) -> TaskResult<TaskRow> {
    store::get(&mut *db.read().await?, id)
        .await?
        .ok_or_else(|| TaskError::not_found(id))
}

/// Reads a task under its row lock, or `NotFound`.
async fn lock(tx: &mut Tx, id: &str) -> TaskResult<TaskRow> {
    store::lock(tx, id)
        .await?
        .ok_or_else(|| TaskError::not_found(id))
}

/// `WrongState` naming the current state unless the task is in one of `allowed`.
fn require_state(task: &TaskRow, allowed: &[TaskState], step: &str) -> TaskResult<()> {
    if allowed.contains(&task.state) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    Err(TaskError::WrongState {
        detail: format!(
            "cannot {step}: the task is {}, and this step needs it {}",
            task.state,
            names.join(" or ")
        ),
        current: task.state,
    })
}

/// Commits the transaction with its audit entry; the step's payload is digested.
async fn finish(
    mut tx: Tx,
    who: &Principal,
    action: &str,
    id: &str,
    digest: &str,
) -> TaskResult<()> {
    audit::append(&mut tx, &who.actor(), action, "task", id, digest).await?;
    tx.commit().await?;
    Ok(())
}

// ---- create ----

/// Creates a draft task (admin, or a coordinator of the lead department).
pub async fn create(db: &Store, who: &Principal, input: &TaskInput) -> TaskResult<TaskRow> {
    policy::lead(who, input)?;
    TaskError::check(input.validate())?;
    let mut tx = db.begin().await?;
    let mut errors = Vec::new();
    for (i, d) in input.departments.iter().enumerate() {
        if !registry::department_exists(&mut *tx, d.code.as_str()).await? {
            errors.push(FieldError::new(
                format!("departments[{i}].code"),
                format!("no department {}", d.code),
            ));
        }
    }
    let codes: Vec<String> = input
        .departments
        .iter()
        .map(|d| d.code.to_string())
        .collect();
    let unknown = store::unknown_items(&mut tx, &codes, &input.items).await?;
    for (i, code) in input.items.iter().enumerate() {
        if unknown.contains(code) {
            errors.push(FieldError::new(
                format!("items[{i}]"),
                format!("{code} is not an active inspection item of a participating department"),
            ));
        }
    }
    TaskError::check(errors)?;
    let task = store::insert(&mut tx, &who.actor(), input).await?;
    let digest = audit::payload_digest(input);
    finish(tx, who, "task.create", &task.id, &digest).await?;
    tracing::info!(task = %task.id, title = %input.title, "task created");
    Ok(task)
}

// ---- entropy ----

/// A department's commitment: `hex(SHA-256(secret))` of 32 random bytes it keeps.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentInput {
    /// `department:<code>`
    pub source: String,
    /// 64 hex digits.
    pub commitment: String,
}

/// A revealed value: the department's secret, or the beacon's published value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealInput {
    pub source: String,
    /// Hex. For a department: the 32-byte secret whose SHA-256 is its commitment.
    pub value: String,
}

/// The planned source named by `source`, or a refusal naming the field.
fn planned(task: &TaskRow, source: &str) -> TaskResult<Source> {
    if !task.config.entropy_plan.iter().any(|p| p.source == source) {
        return Err(TaskError::field(
            "source",
            format!("{source} is not in this task's entropy plan"),
        ));
    }
    Source::parse(source).map_err(|e| TaskError::field("source", e))
}

/// Records a department's commitment (that department's coordinator; task `draft`).
pub async fn commit(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &CommitmentInput,
) -> TaskResult<TaskRow> {
    let commitment =
        HexValue::parse32(&input.commitment).map_err(|e| TaskError::field("commitment", e))?;
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    let Source::Department(code) = planned(&task, &input.source)? else {
        return Err(TaskError::field(
            "source",
            "only department sources commit; a beacon's value is public when it appears",
        ));
    };
    policy::commit(who, &code)?;
    require_state(&task, &[TaskState::Draft], "post a commitment")?;
    if !store::commit(
        &mut tx,
        id,
        &input.source,
        commitment.as_str(),
        &who.actor(),
    )
    .await?
    {
        return Err(TaskError::Conflict(format!(
            "{} has already committed; a commitment cannot be replaced",
            input.source
        )));
    }
    finish(tx, who, "task.commit", id, &audit::payload_digest(input)).await?;
    get(db, id).await
}

/// Records a revealed value (the department's coordinator, or for a beacon the lead;
/// admins too). Task `sealed`; a department's value must match its commitment.
pub async fn reveal(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &RevealInput,
) -> TaskResult<TaskRow> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    let source = planned(&task, &input.source)?;
    let value = match &source {
        Source::Department(code) => {
            policy::department(who, code)?;
            HexValue::parse32(&input.value)
        }
        Source::Beacon(_) => {
            policy::lead(who, &task.config)?;
            HexValue::parse(&input.value, 1, 1024)
        }
    }
    .map_err(|e| TaskError::field("value", e))?;
    require_state(&task, &[TaskState::Sealed], "reveal")?;
    let status = store::entropy(&mut *tx, id).await?;
    let entry = status.iter().find(|e| e.source == input.source);
    if entry.and_then(|e| e.value.as_ref()).is_some() {
        return Err(TaskError::Conflict(format!(
            "{} is already revealed",
            input.source
        )));
    }
    if let Some(commitment) = entry.and_then(|e| e.commitment.as_ref())
        && !draw::check_commitment(commitment, value.as_str())
    {
        return Err(TaskError::field(
            "value",
            format!(
                "SHA-256 of this value does not match the commitment {commitment} of {}",
                input.source
            ),
        ));
    }
    store::reveal(&mut tx, id, &input.source, value.as_str(), &who.actor()).await?;
    finish(tx, who, "task.reveal", id, &audit::payload_digest(input)).await?;
    get(db, id).await
}

// ---- seal, draw ----

/// Freezes the pool from the live registries and publishes its hash (lead; task `draft`,
/// every department committed). Refused with the full list if some institution cannot
/// get a full team from some department.
pub async fn seal(db: &Store, who: &Principal, id: &str) -> TaskResult<TaskRow> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::lead(who, &task.config)?;
    require_state(&task, &[TaskState::Draft], "seal")?;
    let entropy = store::entropy(&mut *tx, id).await?;
    let waiting: Vec<&str> = entropy
        .iter()
        .filter(|e| {
            e.commitment.is_none() && matches!(Source::parse(&e.source), Ok(Source::Department(_)))
        })
        .map(|e| e.source.as_str())
        .collect();
    if !waiting.is_empty() {
        return Err(TaskError::Conflict(format!(
            "cannot seal before every department has committed; waiting for {}",
            waiting.join(", ")
        )));
    }
    let mut candidates = Vec::with_capacity(task.config.strata.len());
    for s in &task.config.strata {
        candidates.push(store::stratum_candidates(&mut tx, &s.filter.to_store()).await?);
    }
    let mut inspectors = Vec::with_capacity(task.config.departments.len());
    for d in &task.config.departments {
        inspectors.push(store::active_inspectors(&mut tx, d.code.as_str()).await?);
    }
    let plan = entropy
        .into_iter()
        .map(|e| (e.source, e.commitment, e.note))
        .collect();
    let cfg = task.config.clone();
    let task_id = id.to_string();
    let (snapshot, problems, infeasible, sealed) = tokio::task::spawn_blocking(move || {
        let inputs = SealInputs {
            candidates,
            inspectors,
            plan,
        };
        let snapshot = assemble_snapshot(&task_id, &cfg, inputs);
        let problems = draw::validate(&snapshot);
        let infeasible = draw::infeasible_pairs(&snapshot);
        // The canonical text and its hash, written side by side on two threads.
        let sealed = (problems.is_empty() && infeasible.is_empty()).then(|| {
            std::thread::scope(|s| {
                let hash = s.spawn(|| draw::pool_hash(&snapshot));
                let canonical = String::from_utf8(snapshot.canonical_bytes());
                (canonical, hash.join())
            })
        });
        (snapshot, problems, infeasible, sealed)
    })
    .await
    .map_err(|e| TaskError::Internal(e.into()))?;
    if let Some(p) = problems.first() {
        return Err(TaskError::field(
            "strata",
            format!("the pool cannot be sealed: {p}"),
        ));
    }
    if snapshot.strata.iter().all(|s| s.members.is_empty()) {
        return Err(TaskError::field(
            "strata",
            "no active institution matches any stratum; nothing to draw",
        ));
    }
    if !infeasible.is_empty() {
        return Err(TaskError::Infeasible(
            infeasible
                .into_iter()
                .map(|(institution, department)| InfeasiblePair {
                    institution,
                    department,
                })
                .collect(),
        ));
    }
    let Some((Ok(canonical), Ok(pool_hash))) = sealed else {
        return Err(TaskError::internal("the snapshot could not be written"));
    };
    store::store_snapshot(&mut tx, id, &canonical, &pool_hash).await?;
    store::transition(&mut tx, id, TaskState::Draft, TaskState::Sealed).await?;
    finish(tx, who, "task.seal", id, &pool_hash).await?;
    let members: usize = snapshot.strata.iter().map(|s| s.members.len()).sum();
    tracing::info!(task = %id, %pool_hash, members, "pool sealed");
    get(db, id).await
}

/// What a draw call answers.
pub enum Drawn {
    /// This call made the draw.
    Made(TaskRow),
    /// A replay of the call that made it (same `Idempotency-Key`): the original answer
    /// when it was kept, else the task as it is.
    Replayed {
        task: TaskRow,
        answer: Option<String>,
    },
}

/// Makes the draw (lead; task `sealed`, every source revealed). Exactly one draw ever
/// happens: a repeated call is refused with the state, unless it carries the key of the
/// call that made it.
pub async fn draw(
    db: &Store,
    who: &Principal,
    id: &str,
    key: Option<&IdempotencyKey>,
) -> TaskResult<Drawn> {
    let task = get(db, id).await?;
    policy::lead(who, &task.config)?;
    let replays = |t: &TaskRow| {
        key.is_some_and(|k| {
            t.state != TaskState::Sealed && t.draw_key.as_deref() == Some(k.as_str())
        })
    };
    if replays(&task) {
        return replayed(db, task, key).await;
    }
    require_state(&task, &[TaskState::Sealed], "draw")?;
    // Compute outside the write transaction; only the state change is serialized.
    let mut conn = db.read().await?;
    let entropy = store::entropy(&mut *conn, id).await?;
    let waiting: Vec<&str> = entropy
        .iter()
        .filter(|e| e.value.is_none())
        .map(|e| e.source.as_str())
        .collect();
    if !waiting.is_empty() {
        return Err(TaskError::Conflict(format!(
            "cannot draw before every source is revealed; waiting for {}",
            waiting.join(", ")
        )));
    }
    let values: Vec<EntropyValue> = entropy
        .into_iter()
        .filter_map(|e| {
            e.value.map(|value| EntropyValue {
                source: e.source,
                value,
            })
        })
        .collect();
    let snapshot = store::sealed_snapshot(&mut conn, id)
        .await?
        .ok_or_else(|| TaskError::internal(format!("sealed task {id} has no snapshot")))?;
    drop(conn);
    let (result, rows) = tokio::task::spawn_blocking(move || {
        let result = draw::draw(&snapshot, &values)
            .map_err(|e| TaskError::internal(format!("the sealed draw failed: {e}")))?;
        let regions: HashMap<&str, &str> = snapshot
            .strata
            .iter()
            .flat_map(|s| &s.members)
            .map(|m| (m.id.as_str(), m.region.as_deref().unwrap_or("")))
            .collect();
        let rows: Vec<SelectionRow> = result
            .selections
            .iter()
            .map(|s| SelectionRow {
                institution_id: s.institution.clone(),
                order: s.order as i64,
                stratum: s.stratum.clone(),
                region: regions
                    .get(s.institution.as_str())
                    .unwrap_or(&"")
                    .to_string(),
            })
            .collect();
        Ok::<_, TaskError>((result, rows))
    })
    .await
    .map_err(|e| TaskError::Internal(e.into()))??;

    let mut tx = db.begin().await?;
    let current = lock(&mut tx, id).await?;
    if !store::transition(&mut tx, id, TaskState::Sealed, TaskState::Drawn).await? {
        drop(tx);
        if replays(&current) {
            return replayed(db, current, key).await;
        }
        return Err(TaskError::WrongState {
            detail: format!(
                "cannot draw: the task is {} (a draw was already made)",
                current.state
            ),
            current: current.state,
        });
    }
    let result_hash =
        store::save_result(&mut tx, id, &result, key.map(IdempotencyKey::as_str)).await?;
    results_store::insert_selections(&mut tx, id, &rows).await?;
    finish(tx, who, "task.draw", id, &result_hash).await?;
    tracing::info!(task = %id, seed = %result.seed, %result_hash, selections = result.selections.len(), "draw made");
    Ok(Drawn::Made(get(db, id).await?))
}

async fn replayed(db: &Store, task: TaskRow, key: Option<&IdempotencyKey>) -> TaskResult<Drawn> {
    let answer = match key {
        Some(k) => store::draw_answer(&mut *db.read().await?, &task.id, k.as_str()).await?,
        None => None,
    };
    Ok(Drawn::Replayed { task, answer })
}

/// Keeps the answer of the draw call that carried `key`, unless one is kept already, and
/// returns the kept one: every replay of the key gets these bytes, from any server
/// process on the same database.
pub async fn keep_draw_answer(
    db: &Store,
    id: &str,
    key: &IdempotencyKey,
    body: String,
) -> TaskResult<String> {
    let mut tx = db.begin().await?;
    let kept = store::keep_draw_answer(&mut tx, id, key.as_str(), &body).await?;
    tx.commit().await?;
    Ok(kept)
}

// ---- replacement, cancel ----

/// A request to replace an inspector who must leave a team (回避 declared late, illness…).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplacementInput {
    /// The drawn institution: its id or its credit code.
    pub institution: String,
    /// Department code of the team.
    pub department: String,
    /// The inspector leaving: id or certificate number.
    pub out: String,
    /// Why; published with the draw.
    pub reason: String,
}

/// Draws a substitute (递补) per the specification (the lead, or a coordinator of the
/// team's department; task `drawn` or `published`).
pub async fn replace(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &ReplacementInput,
) -> TaskResult<Replacement> {
    let mut errors = Vec::new();
    check_text(&mut errors, "reason", &input.reason, true, 500);
    TaskError::check(errors)?;
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::replace(who, &task.config, &input.department)?;
    require_state(
        &task,
        &[TaskState::Drawn, TaskState::Published],
        "replace an inspector",
    )?;
    let record = store::load_draw(&mut tx, id)
        .await?
        .ok_or_else(|| TaskError::internal(format!("drawn task {id} has no result")))?;
    // Coordinators know institutions by credit code and inspectors by certificate
    // number; accept those as well as ids.
    let selected = |id: &str| record.result.selections.iter().any(|s| s.institution == id);
    let mut institution = input.institution.clone();
    if !selected(&institution)
        && let Ok(code) = CreditCode::parse(&institution)
        && let Some(id) =
            registry::id_by::<InstitutionInput, _>(&mut *tx, "credit_code", code.as_str()).await?
    {
        institution = id;
    }
    let in_snapshot = |id: &str| {
        record
            .snapshot
            .departments
            .iter()
            .any(|d| d.inspectors.iter().any(|i| i.id == id))
    };
    let mut out = input.out.clone();
    if !in_snapshot(&out)
        && let Some(id) =
            registry::id_by::<InspectorInput, _>(&mut *tx, "certificate_no", &out).await?
    {
        out = id;
    }
    let request = draw::ReplacementRequest {
        seq: record.replacements.len() as u64 + 1,
        institution,
        department: input.department.clone(),
        out,
        reason: input.reason.clone(),
    };
    let replacement = draw::replace(
        &record.snapshot,
        &record.result,
        &record.replacements,
        &request,
    )
    .map_err(replace_error)?;
    store::insert_replacement(&mut tx, id, &replacement, &who.actor()).await?;
    let digest = audit::payload_digest(&replacement);
    finish(tx, who, "task.replace", id, &digest).await?;
    tracing::info!(task = %id, out = %replacement.out, inspector_in = %replacement.r#in, "inspector replaced by draw");
    Ok(replacement)
}

fn replace_error(e: ReplaceError) -> TaskError {
    match e {
        ReplaceError::UnknownInstitution(_) => TaskError::field("institution", e.to_string()),
        ReplaceError::UnknownDepartment(_) => TaskError::field("department", e.to_string()),
        ReplaceError::NotInTeam { .. } => TaskError::field("out", e.to_string()),
        ReplaceError::NoEligibleSubstitute { .. } => TaskError::Conflict(format!(
            "{e}: every other inspector of the department is in the team, replaced out of it, in conflict or of the same region"
        )),
        other => TaskError::internal(format!("replacement failed: {other}")),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    pub reason: String,
}

/// Cancels a task before its draw, with a reason (lead; `draft` or `sealed`).
pub async fn cancel(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &CancelInput,
) -> TaskResult<TaskRow> {
    let mut errors = Vec::new();
    check_text(&mut errors, "reason", &input.reason, true, 500);
    TaskError::check(errors)?;
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::lead(who, &task.config)?;
    require_state(&task, &[TaskState::Draft, TaskState::Sealed], "cancel")?;
    store::transition(&mut tx, id, task.state, TaskState::Cancelled).await?;
    store::set_cancel_reason(&mut tx, id, &input.reason).await?;
    finish(tx, who, "task.cancel", id, &audit::payload_digest(input)).await?;
    get(db, id).await
}

// ---- publication and results ----

/// Publishes the drawn list with its teams (lead; `drawn` → `published`).
pub async fn publish(db: &Store, who: &Principal, id: &str) -> TaskResult<TaskRow> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::lead(who, &task.config)?;
    require_state(&task, &[TaskState::Drawn], "publish the drawn list")?;
    store::transition(&mut tx, id, TaskState::Drawn, TaskState::Published).await?;
    finish(tx, who, "task.publish", id, &audit::payload_digest(&id)).await?;
    tracing::info!(task = %id, "drawn list published");
    get(db, id).await
}

/// A recorded result: whether this call made a new version, and every version of the
/// institution's result, oldest first.
pub struct Recorded {
    pub created: bool,
    pub versions: Vec<ResultRow>,
}

/// Every result of a task with every version (published or not).
pub async fn results(db: &Store, id: &str) -> TaskResult<Vec<ResultRow>> {
    get(db, id).await?;
    Ok(results_store::results(&mut *db.read().await?, id).await?)
}

/// Records the result for one drawn institution (lead; task `drawn`, `published` or
/// `closed`). Each change is a new version; changing a published result needs
/// `correction_reason`, and the earlier versions stay visible.
pub async fn record_result(
    db: &Store,
    who: &Principal,
    id: &str,
    institution: &str,
    input: &ResultInput,
) -> TaskResult<Recorded> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::lead(who, &task.config)?;
    require_state(
        &task,
        &[TaskState::Drawn, TaskState::Published, TaskState::Closed],
        "record a result",
    )?;
    if !results_store::is_selected(&mut *tx, id, institution).await? {
        return Err(TaskError::NotFound(format!(
            "institution {institution} was not drawn in task {id}"
        )));
    }
    TaskError::check(input.validate(&task.config.items, task.config.inspection_start))?;
    let version = match results_store::latest_result(&mut tx, id, institution).await? {
        Some(l) if l.data == input.content() => None,
        Some(l) if l.published_at.is_some() && input.correction_reason.is_none() => {
            return Err(TaskError::field(
                "correction_reason",
                format!(
                    "version {} is published; a correction needs a reason, and both versions stay visible",
                    l.version
                ),
            ));
        }
        Some(l) => Some(l.version + 1),
        None => Some(1),
    };
    if let Some(version) = version {
        results_store::insert_result(&mut tx, id, institution, version, input, &who.actor())
            .await?;
        let digest = audit::payload_digest(&(institution, input));
        finish(tx, who, "result.record", id, &digest).await?;
    } else {
        tx.commit().await?;
    }
    let versions = results_store::results(&mut *db.read().await?, id)
        .await?
        .into_iter()
        .filter(|r| r.institution_id == institution)
        .collect();
    Ok(Recorded {
        created: version.is_some(),
        versions,
    })
}

/// Which results to publish; all when absent or empty.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishResultsInput {
    #[serde(default)]
    pub institutions: Vec<String>,
}

/// What publishing results did.
pub struct ResultsPublished {
    /// How many result versions were published by this call.
    pub published: u64,
    /// Drawn institutions still without a published result.
    pub pending: i64,
    pub state: TaskState,
}

/// Publishes the latest version of every recorded result, or of the listed institutions
/// (lead; task `published` or `closed`). When every drawn institution has a published
/// result, the task is `closed`.
pub async fn publish_results(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &PublishResultsInput,
) -> TaskResult<ResultsPublished> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::lead(who, &task.config)?;
    require_state(
        &task,
        &[TaskState::Published, TaskState::Closed],
        "publish results (publish the drawn list first)",
    )?;
    for (i, inst) in input.institutions.iter().enumerate() {
        if !results_store::is_selected(&mut *tx, id, inst).await? {
            return Err(TaskError::field(
                format!("institutions[{i}]"),
                format!("{inst} was not drawn in this task"),
            ));
        }
    }
    let published = results_store::publish_results(&mut tx, id, &input.institutions).await?;
    let pending = results_store::unpublished_count(&mut *tx, id).await?;
    let mut state = task.state;
    if pending == 0 && task.state == TaskState::Published {
        store::transition(&mut tx, id, TaskState::Published, TaskState::Closed).await?;
        state = TaskState::Closed;
    }
    if published > 0 {
        finish(tx, who, "result.publish", id, &audit::payload_digest(input)).await?;
    } else {
        tx.commit().await?;
    }
    Ok(ResultsPublished {
        published,
        pending,
        state,
    })
}
