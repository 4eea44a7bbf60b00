//! `/api/v1/tasks`: joint draw tasks and their life: configure, commit, seal, reveal,
//! draw, replace, cancel; and the bundle anyone can verify offline.

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, Reader, cursor, limit};
use super::problems::{ListProblems, ReadOne, StepProblems, WriteProblems};
use crate::auth::Principal;
use crate::domain::filter::TaskFilter;
use crate::domain::filter::list_values;
use crate::domain::task::{TaskInput, TaskState};
use crate::domain::{DepartmentCode, IdempotencyKey};
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::tasks::TaskRow;
use crate::tasks::{self, CancelInput, CommitmentInput, Drawn, ReplacementInput, RevealInput};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
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

/// The views moved to `api::views`; re-exported for `api/public.rs`, which imports
/// them from here until the publication read model replaces it.
use super::views::bundle_response;
use super::views::{ReplacementView, TaskView, created_task, task_view, view};

// ---- create, list, get ----

/// Create a joint task (admin, or a coordinator of the lead department).
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks",
    security(("bearer" = [])), request_body = TaskInput,
    responses((status = 201, body = TaskView), WriteProblems))]
async fn create_task(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<TaskInput>,
) -> ApiResult<Response> {
    let task = tasks::create(&state.store, &who, &input).await?;
    created_task(&state, task).await
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
    /// Comma-separated department codes (at most 200): tasks any of them takes part in
    /// (as a participating department; the lead is one when it sends a team).
    pub participating_department: Option<String>,
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
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
    responses((status = 200, body = TaskList), ListProblems))]
async fn list_tasks(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> ApiResult<Json<TaskList>> {
    let (rows, next_cursor) = state
        .store
        .tasks(&q.filter()?, cursor(q.cursor)?, limit(q.limit)?)
        .await?;
    let items = rows.into_iter().map(TaskSummary::from).collect();
    Ok(Json(TaskList { items, next_cursor }))
}

impl TaskQuery {
    /// The typed filter, naming the parameter a bad value came in.
    fn filter(&self) -> ApiResult<TaskFilter> {
        Ok(TaskFilter {
            year: self.year,
            state: list_values("state", &self.state, TaskState::parse)?,
            lead_department: list_values(
                "lead_department",
                &self.lead_department,
                DepartmentCode::parse,
            )?,
            department: list_values(
                "participating_department",
                &self.participating_department,
                DepartmentCode::parse,
            )?,
            ..Default::default()
        })
    }
}

impl From<TaskRow> for TaskSummary {
    fn from(t: TaskRow) -> Self {
        Self {
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
        }
    }
}

/// One task: configuration, state, pool hash, seed, selections with teams and leaders.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = TaskView), ReadOne))]
async fn get_task(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskView>> {
    let task = tasks::get(&state.store, &id).await?;
    task_view(&state, task).await
}

// ---- entropy ----

/// Post a department's commitment (that department's coordinator; task in `draft`).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/commitments", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = CommitmentInput,
    responses((status = 201, body = TaskView), StepProblems))]
async fn post_commitment(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CommitmentInput>,
) -> ApiResult<(StatusCode, Json<TaskView>)> {
    let task = tasks::commit(&state.store, &who, &id, &input).await?;
    Ok((StatusCode::CREATED, task_view(&state, task).await?))
}

/// Reveal a source's value (the department's coordinator, or for a beacon the lead
/// coordinator; admins too). Task in `sealed`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reveals", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = RevealInput,
    responses((status = 201, body = TaskView), StepProblems))]
async fn post_reveal(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<RevealInput>,
) -> ApiResult<(StatusCode, Json<TaskView>)> {
    let task = tasks::reveal(&state.store, &who, &id, &input).await?;
    Ok((StatusCode::CREATED, task_view(&state, task).await?))
}

// ---- seal, draw ----

/// Freeze the pool from the live registries and publish its hash (lead; task in `draft`,
/// every department committed). Refused with the full list if some institution cannot
/// get a full team from some department.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/seal", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = TaskView), StepProblems))]
async fn seal_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskView>> {
    let task = tasks::seal(&state.store, &who, &id).await?;
    task_view(&state, task).await
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<IdempotencyKey>> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| "must be 1-200 visible characters".to_string())
                .and_then(IdempotencyKey::parse)
                .map_err(|e| ApiError::field("Idempotency-Key", e))
        })
        .transpose()
}

fn json_bytes(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Make the draw (lead; task `sealed`, every source revealed). Exactly one draw ever
/// happens: a repeated call gets 409, or with the same `Idempotency-Key` the same answer.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/draw", tag = "tasks",
    security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200, pattern = "^[!-~]([ -~]{0,198}[!-~])?$", description = "1–200 visible ASCII characters (inner spaces allowed)")),
    responses((status = 200, body = TaskView), StepProblems))]
async fn draw_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let task = match tasks::draw(&state.store, &who, &id, key.as_ref()).await? {
        Drawn::Replayed {
            answer: Some(answer),
            ..
        } => return Ok(json_bytes(answer)),
        Drawn::Made(task) | Drawn::Replayed { task, .. } => task,
    };
    let body = serde_json::to_string(&view(&state, task).await?)
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(json_bytes(match &key {
        Some(key) => tasks::keep_draw_answer(&state.store, &id, key, body).await?,
        None => body,
    }))
}

// ---- replacement, cancel, bundle ----

/// Draw a substitute (递补) per the specification (admin, the lead coordinator, or a
/// coordinator of the team's department; task `drawn` or `published`).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/replacements", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = ReplacementInput,
    responses((status = 201, body = ReplacementView), StepProblems))]
async fn post_replacement(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReplacementInput>,
) -> ApiResult<(StatusCode, Json<ReplacementView>)> {
    let replacement = tasks::replace(&state.store, &who, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(replacement.into())))
}

/// Cancel a task before its draw, with a reason (lead; `draft` or `sealed`). The record stays.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/cancel", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = CancelInput,
    responses((status = 200, body = TaskView), StepProblems))]
async fn cancel_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CancelInput>,
) -> ApiResult<Json<TaskView>> {
    let task = tasks::cancel(&state.store, &who, &id, &input).await?;
    task_view(&state, task).await
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
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let task = tasks::get(&state.store, &id).await?;
    bundle_response(&state, &task).await
}
