//! The clue ledger (举报线索台账, issue 15 part 4): 受理、交办、查处、反馈 with working-day
//! time limits, overdue clues, and a clue turned into a targeted inspection. Thin
//! adapters over `crate::clues`.

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, Reader};
use super::problems::{ListProblems, ScopedReadOne, StepProblems, WriteProblems};
use crate::auth::Principal;
use crate::clues::{self, ClueQuery, ClueTargeted, ClueView};
use crate::domain::clue::{
    AnswerClueInput, AssignClueInput, CloseClueInput, ClueState, InvestigateClueInput,
    ReceiveClueInput, TimeLimits,
};
use crate::domain::task::TaskInput;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive_clue, list_clues))
        .routes(routes!(get_clue))
        .routes(routes!(assign_clue))
        .routes(routes!(investigate_clue))
        .routes(routes!(answer_clue))
        .routes(routes!(close_clue))
        .routes(routes!(clue_targeted_task))
        .routes(routes!(get_clue_time_limits, put_clue_time_limits))
}

/// Receive a clue (受理登记) into the ledger of the caller's organization (or of the
/// organization named, which the caller governs). The reporter's name and phone are
/// stored but never public, never listed, never exported. Due: assigned within the
/// time limit (working days on the official calendar).
#[utoipa::path(post, path = "/api/v1/clues", tag = "publication",
    security(("bearer" = [])), request_body = ReceiveClueInput,
    responses((status = 201, body = ClueView), WriteProblems))]
async fn receive_clue(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<ReceiveClueInput>,
) -> ApiResult<(StatusCode, Json<ClueView>)> {
    let c = clues::receive(&state.store, &state.calendar, &who, &input).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClueListQuery {
    /// One state; `overdue` lists the clues whose open step is past due on `as_of`.
    pub state: Option<ClueState>,
    /// Only the clues overdue on `as_of` (the same as `state=overdue`).
    pub overdue: Option<bool>,
    /// The day to judge on (default: today in China).
    #[param(value_type = Option<String>, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub as_of: Option<NaiveDate>,
    /// The clues turned into this targeted task.
    #[param(max_length = 64)]
    pub task_id: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Clues to skip, 0–100000 (default 0), counted among those the caller may read.
    #[param(minimum = 0, maximum = 100000)]
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClueList {
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    /// Without the reporters' personal data.
    pub items: Vec<ClueView>,
}

/// The ledger (a coordinator's: its jurisdiction's clues and those assigned to it),
/// oldest first, each with its state and due date on `as_of`.
#[utoipa::path(get, path = "/api/v1/clues", tag = "publication",
    security(("bearer" = [])), params(ClueListQuery),
    responses((status = 200, body = ClueList), ListProblems))]
async fn list_clues(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiQuery(q): ApiQuery<ClueListQuery>,
) -> ApiResult<Json<ClueList>> {
    let offset = super::extract::offset(q.offset)?;
    clues::check_filters(q.task_id.as_deref(), q.as_of)?;
    let query = ClueQuery {
        states: q.state.into_iter().collect(),
        overdue: q.overdue.unwrap_or(false),
        as_of: q.as_of,
        task_id: q.task_id,
        limit: super::extract::limit(q.limit)?,
        offset,
    };
    let (as_of, items) = clues::list(&state.store, &state.calendar, &who, &query).await?;
    Ok(Json(ClueList { as_of, items }))
}

/// One clue (the reporter's data only for those who handle it, never for auditors).
#[utoipa::path(get, path = "/api/v1/clues/{id}", tag = "publication",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ClueView), ScopedReadOne))]
async fn get_clue(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ClueView>> {
    Ok(Json(
        clues::get(&state.store, &state.calendar, &who, &id).await?,
    ))
}

/// 交办: assign the clue to an organization (default: its own) and a handling office
/// (`received` → `assigned`; due: investigated within the time limit).
#[utoipa::path(post, path = "/api/v1/clues/{id}/assign", tag = "publication",
    security(("bearer" = [])), request_body = AssignClueInput, params(("id" = String, Path)),
    responses((status = 200, body = ClueView), StepProblems))]
async fn assign_clue(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<AssignClueInput>,
) -> ApiResult<Json<ClueView>> {
    Ok(Json(
        clues::assign(&state.store, &state.calendar, &who, &id, &input).await?,
    ))
}

/// 查处: record the finding (`assigned` → `investigated`; due: the reporter answered
/// within the time limit).
#[utoipa::path(post, path = "/api/v1/clues/{id}/investigate", tag = "publication",
    security(("bearer" = [])), request_body = InvestigateClueInput,
    params(("id" = String, Path)),
    responses((status = 200, body = ClueView), StepProblems))]
async fn investigate_clue(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<InvestigateClueInput>,
) -> ApiResult<Json<ClueView>> {
    Ok(Json(
        clues::investigate(&state.store, &state.calendar, &who, &id, &input).await?,
    ))
}

/// 反馈: record what the reporter was told (`investigated` → `answered`).
#[utoipa::path(post, path = "/api/v1/clues/{id}/answer", tag = "publication",
    security(("bearer" = [])), request_body = AnswerClueInput, params(("id" = String, Path)),
    responses((status = 200, body = ClueView), StepProblems))]
async fn answer_clue(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<AnswerClueInput>,
) -> ApiResult<Json<ClueView>> {
    Ok(Json(
        clues::answer(&state.store, &state.calendar, &who, &id, &input).await?,
    ))
}

/// 办结 (`answered` → `closed`), or 不予受理 straight after receipt (`received` →
/// `closed`, the reason in `note`).
#[utoipa::path(post, path = "/api/v1/clues/{id}/close", tag = "publication",
    security(("bearer" = [])), request_body = CloseClueInput, params(("id" = String, Path)),
    responses((status = 200, body = ClueView), StepProblems))]
async fn close_clue(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CloseClueInput>,
) -> ApiResult<Json<ClueView>> {
    Ok(Json(
        clues::close(&state.store, &state.calendar, &who, &id, &input).await?,
    ))
}

/// 定向检查 from a clue: creates the targeted task the body describes (as for
/// `POST /api/v1/tasks`, without `mode` and `targets`: the target is the clue's subject,
/// reason kind `clue`, linked to the clue) and links the clue to it. The clue must be
/// assigned and name a registered institution; one task per clue.
#[utoipa::path(post, path = "/api/v1/clues/{id}/targeted-task", tag = "publication",
    security(("bearer" = [])), request_body = TaskInput, params(("id" = String, Path)),
    responses((status = 201, body = ClueTargeted), StepProblems))]
async fn clue_targeted_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<TaskInput>,
) -> ApiResult<(StatusCode, Json<ClueTargeted>)> {
    let r = clues::targeted_task(&state.store, &state.calendar, &who, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// The clue ledger's time limits in working days (defaults: assign 5, investigate 30,
/// answer 5).
#[utoipa::path(get, path = "/api/v1/settings/clue-time-limits", tag = "publication",
    security(("bearer" = [])),
    responses((status = 200, body = TimeLimits), ListProblems))]
async fn get_clue_time_limits(
    State(state): State<AppState>,
    _: Reader,
) -> ApiResult<Json<TimeLimits>> {
    Ok(Json(clues::time_limits(&state.store).await?))
}

/// Change the time limits (admins; audited). Clues already received keep theirs.
#[utoipa::path(put, path = "/api/v1/settings/clue-time-limits", tag = "publication",
    security(("bearer" = [])), request_body = TimeLimits,
    responses((status = 200, body = TimeLimits), WriteProblems))]
async fn put_clue_time_limits(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(limits): ApiJson<TimeLimits>,
) -> ApiResult<Json<TimeLimits>> {
    Ok(Json(
        clues::set_time_limits(&state.store, &who, &limits).await?,
    ))
}
