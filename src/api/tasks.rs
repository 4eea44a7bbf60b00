//! `/api/v1/tasks`: joint draw tasks and their life: configure, commit, seal, reveal,
//! draw, replace, cancel; and the bundle anyone can verify offline.

use super::extract::{ApiJson, ApiPath, ApiQuery, cursor, limit, list_param};
use super::registry::check;
use crate::app::AppState;
use crate::auth::{Principal, Role};
use crate::domain::DepartmentCode;
use crate::domain::task::{SealInputs, TaskInput, TaskState, assemble_snapshot};
use crate::draw::{self, CanonicalJson, DrawResult, EntropyValue, ReplaceError, Snapshot};
use crate::error::{ApiError, ApiResult, FieldError, InfeasiblePair, Problem};
use crate::store::audit;
use crate::store::publication::{self, SelectionRow};
use crate::store::tasks::{self as store, EntropyStatus, TaskFilter, TaskRow};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(get_task))
        .routes(routes!(post_commitment))
        .routes(routes!(seal_task))
        .routes(routes!(post_reveal))
        .routes(routes!(draw_task))
        .routes(routes!(post_replacement))
        .routes(routes!(cancel_task))
        .routes(routes!(get_bundle))
}

// ---- views ----

/// The inspectors one department sends to one institution.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamView {
    pub department: String,
    /// Inspector ids in drawn order (after replacements).
    pub inspectors: Vec<String>,
    /// The same inspectors with their names and certificate numbers (task view only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberView>,
}

/// An inspector as a coordinator reads a team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub id: String,
    pub name: String,
    pub certificate_no: String,
}

/// One drawn institution with its current team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SelectionView {
    pub order: u64,
    pub stratum: String,
    pub institution: String,
    /// The institution's registered name and credit code (task view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<String>,
    /// The first inspector of the lead department's team (组长).
    pub leader: String,
    pub team: Vec<TeamView>,
}

/// A replacement (递补): who left a team, why, and who was drawn instead.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplacementView {
    pub seq: u64,
    pub institution: String,
    pub department: String,
    pub out: String,
    pub reason: String,
    #[serde(rename = "in")]
    pub inspector_in: String,
}

impl From<draw::Replacement> for ReplacementView {
    fn from(r: draw::Replacement) -> Self {
        Self {
            seq: r.seq,
            institution: r.institution,
            department: r.department,
            out: r.out,
            reason: r.reason,
            inspector_in: r.r#in,
        }
    }
}

/// A task with its configuration, state, entropy, and (once drawn) selections.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    /// Bumped by every step.
    pub version: i64,
    pub state: TaskState,
    #[serde(flatten)]
    pub config: TaskInput,
    /// SHA-256 of the sealed snapshot, public from sealing on.
    pub pool_hash: Option<String>,
    pub seed: Option<String>,
    pub result_hash: Option<String>,
    pub entropy: Vec<EntropyStatus>,
    /// The drawn institutions with their current teams (replacements applied).
    pub selections: Vec<SelectionView>,
    pub replacements: Vec<ReplacementView>,
    pub cancel_reason: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub sealed_at: Option<String>,
    pub drawn_at: Option<String>,
    pub cancelled_at: Option<String>,
    /// When the drawn list was published.
    pub published_at: Option<String>,
    /// When the last result was published.
    pub closed_at: Option<String>,
    #[serde(flatten)]
    pub deadlines: Deadlines,
}

/// The disclosure deadlines of a task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deadlines {
    /// The drawn list must be public by this date (the inspection start, unless configured earlier).
    #[schema(value_type = String, format = Date)]
    pub selection_publish_by: chrono::NaiveDate,
    /// Results are due by this date: `inspection_end` + N working days on the official
    /// calendar. Null when the calendar of a year it runs into is not loaded yet.
    #[schema(value_type = Option<String>, format = Date)]
    pub results_due: Option<chrono::NaiveDate>,
    /// Why `results_due` is null.
    pub results_due_problem: Option<String>,
}

/// Computes a task's deadlines on the loaded calendar; never guesses past it.
pub fn deadlines(state: &AppState, cfg: &TaskInput) -> Deadlines {
    let calendar = state.calendar.read().expect("calendar lock");
    let (results_due, results_due_problem) =
        match calendar.add_working_days(cfg.inspection_end, cfg.results_working_days()) {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e.to_string())),
        };
    Deadlines {
        selection_publish_by: cfg.selection_deadline(),
        results_due,
        results_due_problem,
    }
}

/// Applies replacements to the draw as first made.
pub fn current_selections(
    result: &DrawResult,
    lead: &str,
    replacements: &[draw::Replacement],
) -> Vec<SelectionView> {
    let mut out: Vec<SelectionView> = result
        .selections
        .iter()
        .map(|s| SelectionView {
            order: s.order,
            stratum: s.stratum.clone(),
            institution: s.institution.clone(),
            institution_name: None,
            credit_code: None,
            leader: s.leader.clone(),
            team: s
                .team
                .iter()
                .map(|t| TeamView {
                    department: t.department.clone(),
                    inspectors: t.inspectors.clone(),
                    members: Vec::new(),
                })
                .collect(),
        })
        .collect();
    let index: HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, s)| (s.institution.clone(), i))
        .collect();
    for r in replacements {
        let Some(&i) = index.get(&r.institution) else {
            continue;
        };
        let sel = &mut out[i];
        if let Some(team) = sel.team.iter_mut().find(|t| t.department == r.department)
            && let Some(slot) = team.inspectors.iter_mut().find(|x| **x == r.out)
        {
            *slot = r.r#in.clone();
        }
        if let Some(first) = sel
            .team
            .iter()
            .find(|t| t.department == lead)
            .and_then(|t| t.inspectors.first())
        {
            sel.leader = first.clone();
        }
    }
    out
}

/// Adds names and codes to selections, so a coordinator can read a draw without looking
/// up every id.
async fn with_names(
    state: &AppState,
    mut selections: Vec<SelectionView>,
) -> ApiResult<Vec<SelectionView>> {
    if selections.is_empty() {
        return Ok(selections);
    }
    let pool = state.store.pool();
    let ids: Vec<String> = selections.iter().map(|s| s.institution.clone()).collect();
    let institutions = publication::institution_cards(pool, &ids).await?;
    let mut people: Vec<String> = selections
        .iter()
        .flat_map(|s| s.team.iter().flat_map(|t| t.inspectors.iter().cloned()))
        .collect();
    people.sort();
    people.dedup();
    let inspectors = publication::inspector_cards(pool, &people).await?;
    for s in &mut selections {
        if let Some((name, code, _, _)) = institutions.get(&s.institution) {
            s.institution_name = Some(name.clone());
            s.credit_code = Some(code.clone());
        }
        for t in &mut s.team {
            t.members = t
                .inspectors
                .iter()
                .map(|id| {
                    let (name, certificate_no) = inspectors.get(id).cloned().unwrap_or_default();
                    MemberView {
                        id: id.clone(),
                        name,
                        certificate_no,
                    }
                })
                .collect();
        }
    }
    Ok(selections)
}

fn parse_stored<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> ApiResult<T> {
    serde_json::from_str(json)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored {what} is unreadable: {e}")))
}

/// Everything a draw produced, read back from the store.
pub struct DrawRecord {
    pub snapshot: Snapshot,
    pub result: DrawResult,
    pub replacements: Vec<draw::Replacement>,
}

pub async fn load_draw(
    conn: &mut sqlx::AnyConnection,
    task_id: &str,
) -> ApiResult<Option<DrawRecord>> {
    let Some(result) = store::result(&mut *conn, task_id).await? else {
        return Ok(None);
    };
    let snapshot = store::snapshot(&mut *conn, task_id).await?.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "task {task_id} has a result but no snapshot"
        ))
    })?;
    Ok(Some(DrawRecord {
        snapshot: parse_stored(&snapshot, "snapshot")?,
        result: parse_stored(&result, "result")?,
        replacements: store::replacements(&mut *conn, task_id).await?,
    }))
}

async fn view(state: &AppState, task: TaskRow) -> ApiResult<TaskView> {
    let mut conn = state.store.pool().acquire().await?;
    let entropy = store::entropy(&mut *conn, &task.id).await?;
    let (selections, replacements) = match store::result(&mut *conn, &task.id).await? {
        Some(json) => {
            let result: DrawResult = parse_stored(&json, "result")?;
            let replacements = store::replacements(&mut *conn, &task.id).await?;
            (
                current_selections(&result, task.config.lead_department.as_str(), &replacements),
                replacements
                    .into_iter()
                    .map(ReplacementView::from)
                    .collect(),
            )
        }
        None => (Vec::new(), Vec::new()),
    };
    drop(conn);
    let selections = with_names(state, selections).await?;
    let deadlines = deadlines(state, &task.config);
    Ok(TaskView {
        deadlines,
        published_at: task.published_at,
        closed_at: task.closed_at,
        id: task.id,
        version: task.version,
        state: task.state,
        config: task.config,
        pool_hash: task.pool_hash,
        seed: task.seed,
        result_hash: task.result_hash,
        entropy,
        selections,
        replacements,
        cancel_reason: task.cancel_reason,
        created_by: task.created_by,
        created_at: task.created_at,
        updated_at: task.updated_at,
        sealed_at: task.sealed_at,
        drawn_at: task.drawn_at,
        cancelled_at: task.cancelled_at,
    })
}

/// The full view of a task by id.
pub async fn get_view(state: &AppState, id: &str) -> ApiResult<TaskView> {
    let task = fetch(state, id).await?;
    view(state, task).await
}

async fn fetch(state: &AppState, id: &str) -> ApiResult<TaskRow> {
    store::get(state.store.pool(), id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no task with id {id}")))
}

/// Reads a task under its row lock, or 404s.
pub(crate) async fn lock(tx: &mut crate::store::Tx, id: &str) -> ApiResult<TaskRow> {
    store::lock(tx, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no task with id {id}")))
}

/// Admins, or a coordinator of the task's lead department.
pub(crate) fn require_lead(who: &Principal, task: &TaskInput) -> ApiResult<()> {
    who.require_department(task.lead_department.as_str())
        .map_err(|_| {
            ApiError::Forbidden(format!(
                "only an admin or a coordinator of the lead department {} may do this",
                task.lead_department
            ))
        })
}

/// 409 naming the current state unless the task is in one of `allowed`.
pub(crate) fn require_state(task: &TaskRow, allowed: &[TaskState], step: &str) -> ApiResult<()> {
    if allowed.contains(&task.state) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        Err(ApiError::wrong_state(
            format!(
                "cannot {step}: the task is {}, and this step needs it {}",
                task.state,
                names.join(" or ")
            ),
            task.state,
        ))
    }
}

// ---- create, list, get ----

/// Create a joint task (admin, or a coordinator of the lead department).
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks",
    security(("bearer" = [])), request_body = TaskInput,
    responses((status = 201, body = TaskView),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_task(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<TaskInput>,
) -> ApiResult<Response> {
    require_lead(&who, &input)?;
    check(input.validate())?;
    let mut tx = state.store.begin().await?;
    let mut errors = Vec::new();
    for (i, d) in input.departments.iter().enumerate() {
        if !crate::store::registry::department_exists(&mut *tx, d.code.as_str()).await? {
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
    check(errors)?;
    let task = store::insert(&mut tx, &who.actor(), &input).await?;
    audit::append(
        &mut tx,
        &who.actor(),
        "task.create",
        "task",
        &task.id,
        &audit::payload_digest(&input),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(task = %task.id, title = %input.title, "task created");
    let location = format!("/api/v1/tasks/{}", task.id);
    let body = view(&state, task).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    pub year: Option<i64>,
    /// Comma-separated states.
    pub state: Option<String>,
    /// Comma-separated department codes.
    pub lead_department: Option<String>,
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
}

/// A task in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskSummary {
    pub id: String,
    pub state: TaskState,
    pub title: String,
    pub year: i32,
    pub round: u32,
    pub lead_department: String,
    pub inspection_start: String,
    pub inspection_end: String,
    pub pool_hash: Option<String>,
    pub seed: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskList {
    pub items: Vec<TaskSummary>,
    pub next_cursor: Option<String>,
}

/// List tasks.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks",
    security(("bearer" = [])), params(TaskQuery),
    responses((status = 200, body = TaskList),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn list_tasks(
    State(state): State<AppState>,
    _who: Principal,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> ApiResult<Json<TaskList>> {
    let filter = TaskFilter {
        year: q.year,
        state: list_param("state", &q.state, |s| {
            TaskState::parse(s).map(|_| s.to_string())
        })?,
        lead_department: list_param("lead_department", &q.lead_department, |s| {
            DepartmentCode::parse(s).map(|_| s.to_string())
        })?,
        ..Default::default()
    };
    let (rows, next_cursor) = store::list(
        state.store.pool(),
        &filter,
        cursor(q.cursor)?,
        limit(q.limit)?,
    )
    .await?;
    Ok(Json(TaskList {
        items: rows
            .into_iter()
            .map(|t| TaskSummary {
                id: t.id,
                state: t.state,
                title: t.config.title,
                year: t.config.year,
                round: t.config.round,
                lead_department: t.config.lead_department.to_string(),
                inspection_start: t.config.inspection_start.to_string(),
                inspection_end: t.config.inspection_end.to_string(),
                pool_hash: t.pool_hash,
                seed: t.seed,
                created_at: t.created_at,
            })
            .collect(),
        next_cursor,
    }))
}

/// One task: configuration, state, pool hash, seed, selections with teams and leaders.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = TaskView),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_task(
    State(state): State<AppState>,
    _who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskView>> {
    let task = fetch(&state, &id).await?;
    Ok(Json(view(&state, task).await?))
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

fn hex_field(
    field: &str,
    value: &str,
    bytes: std::ops::RangeInclusive<usize>,
) -> ApiResult<String> {
    let v = value.trim().to_ascii_lowercase();
    let ok = v.len().is_multiple_of(2)
        && bytes.contains(&(v.len() / 2))
        && v.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(v)
    } else if bytes.start() == bytes.end() {
        Err(ApiError::field(
            field,
            format!("must be {} hex digits", bytes.start() * 2),
        ))
    } else {
        Err(ApiError::field(
            field,
            format!(
                "must be hex encoding {} to {} bytes",
                bytes.start(),
                bytes.end()
            ),
        ))
    }
}

fn planned<'a>(
    task: &'a TaskRow,
    source: &str,
) -> ApiResult<&'a crate::domain::task::EntropySource> {
    task.config
        .entropy_plan
        .iter()
        .find(|p| p.source == source)
        .ok_or_else(|| {
            ApiError::field(
                "source",
                format!("{source} is not in this task's entropy plan"),
            )
        })
}

/// Post a department's commitment (that department's coordinator; task in `draft`).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/commitments", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = CommitmentInput,
    responses((status = 201, body = TaskView),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn post_commitment(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CommitmentInput>,
) -> ApiResult<(StatusCode, Json<TaskView>)> {
    let commitment = hex_field("commitment", &input.commitment, 32..=32)?;
    let mut tx = state.store.begin().await?;
    let task = lock(&mut tx, &id).await?;
    planned(&task, &input.source)?;
    let Some(code) = input.source.strip_prefix("department:") else {
        return Err(ApiError::field(
            "source",
            "only department sources commit; a beacon's value is public when it appears",
        ));
    };
    if !(who.role == Role::Coordinator
        && who.department.as_ref().is_some_and(|d| d.as_str() == code))
    {
        return Err(ApiError::Forbidden(format!(
            "only a coordinator of {code} may commit for department:{code}"
        )));
    }
    require_state(&task, &[TaskState::Draft], "post a commitment")?;
    if !store::commit(&mut tx, &id, &input.source, &commitment, &who.actor()).await? {
        return Err(ApiError::Conflict(format!(
            "{} has already committed; a commitment cannot be replaced",
            input.source
        )));
    }
    audit::append(
        &mut tx,
        &who.actor(),
        "task.commit",
        "task",
        &id,
        &audit::payload_digest(&input),
    )
    .await?;
    tx.commit().await?;
    let task = fetch(&state, &id).await?;
    Ok((StatusCode::CREATED, Json(view(&state, task).await?)))
}

/// A revealed value: the department's secret, or the beacon's published value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealInput {
    pub source: String,
    /// Hex. For a department: the 32-byte secret whose SHA-256 is its commitment.
    pub value: String,
}

/// Reveal a source's value (the department's coordinator, or for a beacon the lead
/// coordinator; admins too). Task in `sealed`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reveals", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = RevealInput,
    responses((status = 201, body = TaskView),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn post_reveal(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<RevealInput>,
) -> ApiResult<(StatusCode, Json<TaskView>)> {
    let mut tx = state.store.begin().await?;
    let task = lock(&mut tx, &id).await?;
    planned(&task, &input.source)?;
    let value = if let Some(code) = input.source.strip_prefix("department:") {
        who.require_department(code)?;
        hex_field("value", &input.value, 32..=32)?
    } else {
        require_lead(&who, &task.config)?;
        hex_field("value", &input.value, 1..=1024)?
    };
    require_state(&task, &[TaskState::Sealed], "reveal")?;
    let status = store::entropy(&mut *tx, &id).await?;
    let entry = status.iter().find(|e| e.source == input.source);
    if entry.and_then(|e| e.value.as_ref()).is_some() {
        return Err(ApiError::Conflict(format!(
            "{} is already revealed",
            input.source
        )));
    }
    if let Some(commitment) = entry.and_then(|e| e.commitment.as_ref())
        && !draw::check_commitment(commitment, &value)
    {
        return Err(ApiError::field(
            "value",
            format!(
                "SHA-256 of this value does not match the commitment {commitment} of {}",
                input.source
            ),
        ));
    }
    store::reveal(&mut tx, &id, &input.source, &value, &who.actor()).await?;
    audit::append(
        &mut tx,
        &who.actor(),
        "task.reveal",
        "task",
        &id,
        &audit::payload_digest(&input),
    )
    .await?;
    tx.commit().await?;
    let task = fetch(&state, &id).await?;
    Ok((StatusCode::CREATED, Json(view(&state, task).await?)))
}

// ---- seal, draw ----

/// Freeze the pool from the live registries and publish its hash (lead; task in `draft`,
/// every department committed). Refused with the full list if some institution cannot
/// get a full team from some department.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/seal", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = TaskView),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn seal_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskView>> {
    let mut tx = state.store.begin().await?;
    let task = lock(&mut tx, &id).await?;
    require_lead(&who, &task.config)?;
    require_state(&task, &[TaskState::Draft], "seal")?;
    let entropy = store::entropy(&mut *tx, &id).await?;
    let waiting: Vec<&str> = entropy
        .iter()
        .filter(|e| e.source.starts_with("department:") && e.commitment.is_none())
        .map(|e| e.source.as_str())
        .collect();
    if !waiting.is_empty() {
        return Err(ApiError::Conflict(format!(
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
    let task_id = id.clone();
    let (snapshot, problems, infeasible) = tokio::task::spawn_blocking(move || {
        let snapshot = assemble_snapshot(
            &task_id,
            &cfg,
            SealInputs {
                candidates,
                inspectors,
                plan,
            },
        );
        let problems = draw::validate(&snapshot);
        let infeasible = draw::infeasible_pairs(&snapshot);
        (snapshot, problems, infeasible)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    if let Some(p) = problems.first() {
        return Err(ApiError::field(
            "strata",
            format!("the pool cannot be sealed: {p}"),
        ));
    }
    if snapshot.strata.iter().all(|s| s.members.is_empty()) {
        return Err(ApiError::field(
            "strata",
            "no active institution matches any stratum; nothing to draw",
        ));
    }
    if !infeasible.is_empty() {
        return Err(ApiError::Infeasible(
            infeasible
                .into_iter()
                .map(|(institution, department)| InfeasiblePair {
                    institution,
                    department,
                })
                .collect(),
        ));
    }
    let canonical =
        String::from_utf8(snapshot.canonical_bytes()).map_err(|e| ApiError::Internal(e.into()))?;
    let pool_hash = hex::encode(Sha256::digest(canonical.as_bytes()));
    store::store_snapshot(&mut tx, &id, &canonical, &pool_hash).await?;
    store::transition(&mut tx, &id, TaskState::Draft, TaskState::Sealed).await?;
    audit::append(&mut tx, &who.actor(), "task.seal", "task", &id, &pool_hash).await?;
    tx.commit().await?;
    let members: usize = snapshot.strata.iter().map(|s| s.members.len()).sum();
    tracing::info!(task = %id, %pool_hash, members, "pool sealed");
    let task = fetch(&state, &id).await?;
    Ok(Json(view(&state, task).await?))
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 200)
            .map(|k| Some(k.to_string()))
            .ok_or_else(|| ApiError::field("Idempotency-Key", "must be 1-200 visible characters")),
    }
}

/// Make the draw (lead; task `sealed`, every source revealed). Exactly one draw ever
/// happens: a repeated call gets 409, or with the same `Idempotency-Key` the same answer.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/draw", tag = "tasks",
    security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = TaskView),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn draw_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Json<TaskView>> {
    let key = idempotency_key(&headers)?;
    let task = fetch(&state, &id).await?;
    require_lead(&who, &task.config)?;
    let replay = |t: &TaskRow| key.is_some() && t.state != TaskState::Sealed && t.draw_key == key;
    if replay(&task) {
        return Ok(Json(view(&state, task).await?));
    }
    require_state(&task, &[TaskState::Sealed], "draw")?;
    // Compute outside the write transaction; only the state change is serialized.
    let mut conn = state.store.pool().acquire().await?;
    let entropy = store::entropy(&mut *conn, &id).await?;
    let waiting: Vec<&str> = entropy
        .iter()
        .filter(|e| e.value.is_none())
        .map(|e| e.source.as_str())
        .collect();
    if !waiting.is_empty() {
        return Err(ApiError::Conflict(format!(
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
    let snapshot_json = store::snapshot(&mut *conn, &id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("sealed task {id} has no snapshot")))?;
    drop(conn);
    let (result, rows) = tokio::task::spawn_blocking(move || {
        let snapshot: Snapshot = parse_stored(&snapshot_json, "snapshot")?;
        let result = draw::draw(&snapshot, &values)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("the sealed draw failed: {e}")))?;
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
        Ok::<_, ApiError>((result, rows))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    let result_hash = draw::result_hash(&result);
    let canonical =
        String::from_utf8(result.canonical_bytes()).map_err(|e| ApiError::Internal(e.into()))?;

    let mut tx = state.store.begin().await?;
    let current = lock(&mut tx, &id).await?;
    if !store::transition(&mut tx, &id, TaskState::Sealed, TaskState::Drawn).await? {
        drop(tx);
        if replay(&current) {
            return Ok(Json(view(&state, current).await?));
        }
        return Err(ApiError::wrong_state(
            format!(
                "cannot draw: the task is {} (a draw was already made)",
                current.state
            ),
            current.state,
        ));
    }
    store::store_result(
        &mut tx,
        &id,
        &canonical,
        &result.seed,
        &result_hash,
        key.as_deref(),
    )
    .await?;
    publication::insert_selections(&mut tx, state.store.backend(), &id, &rows).await?;
    audit::append(
        &mut tx,
        &who.actor(),
        "task.draw",
        "task",
        &id,
        &result_hash,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(task = %id, seed = %result.seed, %result_hash, selections = result.selections.len(), "draw made");
    let task = fetch(&state, &id).await?;
    Ok(Json(view(&state, task).await?))
}

// ---- replacement, cancel, bundle ----

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

/// Draw a substitute (递补) per the specification (admin, the lead coordinator, or a
/// coordinator of the team's department; task `drawn` or `published`).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/replacements", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = ReplacementInput,
    responses((status = 201, body = ReplacementView),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn post_replacement(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReplacementInput>,
) -> ApiResult<(StatusCode, Json<ReplacementView>)> {
    let mut errors = Vec::new();
    crate::domain::registry::check_text(&mut errors, "reason", &input.reason, true, 500);
    check(errors)?;
    let mut tx = state.store.begin().await?;
    let task = lock(&mut tx, &id).await?;
    if require_lead(&who, &task.config).is_err() {
        who.require_department(&input.department)?;
    }
    require_state(
        &task,
        &[TaskState::Drawn, TaskState::Published],
        "replace an inspector",
    )?;
    let record = load_draw(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("drawn task {id} has no result")))?;
    // Coordinators know institutions by credit code and inspectors by certificate
    // number; accept those as well as ids.
    let selected = |id: &str| record.result.selections.iter().any(|s| s.institution == id);
    let mut institution = input.institution.clone();
    if !selected(&institution)
        && let Ok(code) = crate::domain::CreditCode::parse(&institution)
        && let Some(id) = crate::store::registry::id_by::<
            crate::domain::registry::InstitutionInput,
            _,
        >(&mut *tx, "credit_code", code.as_str())
        .await?
    {
        institution = id;
    }
    let mut out = input.out.clone();
    let in_snapshot = |id: &str| {
        record
            .snapshot
            .departments
            .iter()
            .any(|d| d.inspectors.iter().any(|i| i.id == id))
    };
    if !in_snapshot(&out)
        && let Some(id) =
            crate::store::registry::id_by::<crate::domain::registry::InspectorInput, _>(
                &mut *tx,
                "certificate_no",
                &out,
            )
            .await?
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
    let replacement = draw::replace(&record.snapshot, &record.result, &record.replacements, &request)
        .map_err(|e| match e {
            ReplaceError::UnknownInstitution(_) => ApiError::field("institution", e.to_string()),
            ReplaceError::UnknownDepartment(_) => ApiError::field("department", e.to_string()),
            ReplaceError::NotInTeam { .. } => ApiError::field("out", e.to_string()),
            ReplaceError::NoEligibleSubstitute { .. } => ApiError::Conflict(format!(
                "{e}: every other inspector of the department is in the team, replaced out of it, in conflict or of the same region"
            )),
            other => ApiError::Internal(anyhow::anyhow!("replacement failed: {other}")),
        })?;
    store::insert_replacement(&mut tx, &id, &replacement, &who.actor()).await?;
    audit::append(
        &mut tx,
        &who.actor(),
        "task.replace",
        "task",
        &id,
        &audit::payload_digest(&replacement),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(task = %id, out = %replacement.out, inspector_in = %replacement.r#in, "inspector replaced by draw");
    Ok((StatusCode::CREATED, Json(replacement.into())))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    pub reason: String,
}

/// Cancel a task before its draw, with a reason (lead; `draft` or `sealed`). The record stays.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/cancel", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = CancelInput,
    responses((status = 200, body = TaskView),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn cancel_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CancelInput>,
) -> ApiResult<Json<TaskView>> {
    let mut errors = Vec::new();
    crate::domain::registry::check_text(&mut errors, "reason", &input.reason, true, 500);
    check(errors)?;
    let mut tx = state.store.begin().await?;
    let task = lock(&mut tx, &id).await?;
    require_lead(&who, &task.config)?;
    require_state(&task, &[TaskState::Draft, TaskState::Sealed], "cancel")?;
    store::transition(&mut tx, &id, task.state, TaskState::Cancelled).await?;
    store::set_cancel_reason(&mut tx, &id, &input.reason).await?;
    audit::append(
        &mut tx,
        &who.actor(),
        "task.cancel",
        "task",
        &id,
        &audit::payload_digest(&input),
    )
    .await?;
    tx.commit().await?;
    let task = fetch(&state, &id).await?;
    Ok(Json(view(&state, task).await?))
}

/// The canonical JSON bundle of a draw, as a response anyone can verify offline.
pub async fn bundle_response(state: &AppState, task: &TaskRow) -> ApiResult<Response> {
    let mut conn = state.store.pool().acquire().await?;
    let Some(record) = load_draw(&mut conn, &task.id).await? else {
        return Err(ApiError::wrong_state(
            format!("task {} has no draw yet (it is {})", task.id, task.state),
            task.state,
        ));
    };
    let entropy: Vec<EntropyValue> = store::entropy(&mut *conn, &task.id)
        .await?
        .into_iter()
        .filter_map(|e| {
            e.value.map(|value| EntropyValue {
                source: e.source,
                value,
            })
        })
        .collect();
    drop(conn);
    let bytes = tokio::task::spawn_blocking(move || {
        draw::bundle(record.snapshot, entropy, record.result, record.replacements).canonical_bytes()
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let disposition = format!("inline; filename=\"suiji-{}-bundle.json\"", task.id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The draw's bundle (suiji-draw/1 §8): snapshot, entropy, result, result hash and
/// replacements, in canonical JSON. Check it with `suiji verify`.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/bundle", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The bundle (canonical JSON)", content_type = "application/json", body = Object),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn get_bundle(
    State(state): State<AppState>,
    _who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let task = fetch(&state, &id).await?;
    bundle_response(&state, &task).await
}
