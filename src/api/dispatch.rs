//! Dispatch (自动派发): a department's inbox of tasks awaiting its step, and an
//! inspector's drawn teams.

use super::AppState;
use super::extract::{ApiPath, ApiQuery, Reader, cursor, limit};
use crate::domain::DepartmentCode;
use crate::error::{ApiError, ApiResult, Problem};
use crate::tasks::dispatch::{self, Assignment, Inbox};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_inbox))
        .routes(routes!(get_assignments))
}

#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum InboxProblems {
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}

#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum AssignmentProblems {
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// The department whose inbox to read: a coordinator's own by default (another is
    /// refused); required for admins and auditors.
    pub department: Option<String>,
}

/// The tasks awaiting the department's step: `commit` (draft, its secret not committed),
/// `seal` (lead, every commitment in), `reveal` (sealed, its secret or the lead's beacon
/// not revealed), `draw` (lead, every source revealed or the /2 deadline passed),
/// `publish` (lead, drawn list not published), `results` (drawn or published, results
/// missing), each with its deadline where a rule sets one. Oldest task first; at most
/// 500 open tasks are read (`truncated` says when there are more).
#[utoipa::path(get, path = "/api/v1/inbox", tag = "tasks",
    security(("bearer" = [])), params(InboxQuery),
    responses((status = 200, body = Inbox), InboxProblems))]
async fn get_inbox(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Json<Inbox>> {
    let asked = q
        .department
        .as_deref()
        .map(|d| DepartmentCode::parse(d).map_err(|r| ApiError::field("department", r)))
        .transpose()?;
    let calendar = state.calendar.read().expect("calendar lock").clone();
    Ok(Json(
        dispatch::inbox(&state.store, &calendar, &who, asked).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssignmentQuery {
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Tasks per page, 1–500 (default 50); a page holds every assignment of its tasks.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentList {
    pub items: Vec<Assignment>,
    pub next_cursor: Option<String>,
}

/// An inspector's drawn teams, current and past: each task, institution and department
/// with the role (leader or member), whether drawn or brought in by a replacement, and
/// whether later replaced. Paged by task, in task id order (oldest first).
#[utoipa::path(get, path = "/api/v1/inspectors/{id}/assignments", tag = "registries",
    security(("bearer" = [])), params(("id" = String, Path), AssignmentQuery),
    responses((status = 200, body = AssignmentList), AssignmentProblems))]
async fn get_assignments(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AssignmentQuery>,
) -> ApiResult<Json<AssignmentList>> {
    let page = dispatch::assignments(&state.store, &id, cursor(q.cursor)?, limit(q.limit)?).await?;
    Ok(Json(AssignmentList {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}
