//! Objections (异议) to published results, issue 15 part 5: filed publicly (no token;
//! size- and rate-limited), followed by the filer with a secret token, decided by the
//! task's lead. Thin adapters over `crate::objections`.

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, Reader};
use super::problems::{ListProblems, ReadOne, StepProblems, WriteProblems};
use crate::auth::Principal;
use crate::domain::objection::{
    DecideObjectionInput, FileObjectionInput, ObjectionRules, ObjectionState,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::objections::{self, FileError, ObjectionReceipt, ObjectionView, PublicObjection};
use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The largest body of a public filing (the evidence is at most 5,000 characters).
pub const FILING_BODY_LIMIT: usize = 32 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    let filing = OpenApiRouter::new()
        .routes(routes!(file_objection))
        .layer(DefaultBodyLimit::max(FILING_BODY_LIMIT));
    OpenApiRouter::new()
        .merge(filing)
        .routes(routes!(objection_status))
        .routes(routes!(list_objections))
        .routes(routes!(get_objection))
        .routes(routes!(decide_objection))
        .routes(routes!(get_objection_rules, put_objection_rules))
}

/// What a public filing can answer besides 201.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum FilingProblems {
    /// No such published result (an unknown or unpublished task or result).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedType(Problem),
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
    /// Too many objections to this result today, or in all this hour.
    #[response(status = 429, content_type = "application/problem+json")]
    TooMany(Problem),
}

/// File an objection (异议) to the latest published version of a result, with evidence
/// (public, no token). The answer holds a reference and a secret token, shown once, to
/// follow it at `status_url`. At most 5 objections a day per result and 100 an hour in
/// all by default (429 beyond); the body is at most 32 KiB.
#[utoipa::path(post, path = "/public/v1/tasks/{id}/results/{institution_id}/objections",
    tag = "public", request_body = FileObjectionInput,
    params(("id" = String, Path), ("institution_id" = String, Path)),
    responses((status = 201, body = ObjectionReceipt), FilingProblems))]
async fn file_objection(
    State(state): State<AppState>,
    ApiPath((id, institution)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<FileObjectionInput>,
) -> ApiResult<(StatusCode, Json<ObjectionReceipt>)> {
    match objections::file(&state.store, &state.calendar, &id, &institution, &input).await {
        Ok(r) => Ok((StatusCode::CREATED, Json(r))),
        Err(FileError::Task(e)) => Err(e.into()),
        Err(FileError::RateLimited(r)) => Err(ApiError::TooManyRequests(r.0)),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// The token the filing answered (64 hexadecimal characters).
    #[param(min_length = 1, max_length = 128)]
    pub token: String,
}

/// An objection's status for its filer (the token from the filing; 404 for a wrong one).
#[utoipa::path(get, path = "/public/v1/objections/{id}", tag = "public",
    params(("id" = String, Path), TokenQuery),
    responses((status = 200, body = PublicObjection), super::problems::PublicNotFound,
        super::problems::PublicInvalid))]
async fn objection_status(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> ApiResult<Json<PublicObjection>> {
    Ok(Json(objections::status(&state.store, &id, &q.token).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ObjectionQuery {
    #[param(max_length = 64)]
    pub task_id: Option<String>,
    #[param(max_length = 64)]
    pub institution_id: Option<String>,
    /// A stored state: `filed`, `upheld` or `rejected`.
    pub state: Option<ObjectionState>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Objections to skip, 0–100000 (default 0).
    #[param(minimum = 0, maximum = 100000)]
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionList {
    /// Without the filers' contacts.
    pub items: Vec<ObjectionView>,
}

/// Objections, oldest first, of one task, institution or state when given.
#[utoipa::path(get, path = "/api/v1/objections", tag = "publication",
    security(("bearer" = [])), params(ObjectionQuery),
    responses((status = 200, body = ObjectionList), ListProblems))]
async fn list_objections(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(q): ApiQuery<ObjectionQuery>,
) -> ApiResult<Json<ObjectionList>> {
    let offset = super::extract::offset(q.offset)?;
    objections::check_filters(q.task_id.as_deref(), q.institution_id.as_deref())?;
    let items = objections::list(
        &state.store,
        q.task_id.as_deref(),
        q.institution_id.as_deref(),
        q.state,
        super::extract::limit(q.limit)?,
        offset,
    )
    .await?;
    Ok(Json(ObjectionList { items }))
}

/// One objection (the filer's contact only for the task's lead).
#[utoipa::path(get, path = "/api/v1/objections/{id}", tag = "publication",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ObjectionView), ReadOne))]
async fn get_objection(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ObjectionView>> {
    Ok(Json(objections::get(&state.store, &who, &id).await?))
}

/// Decide an objection (the task's lead; once): `upheld` with the reason and the
/// corrected result (recorded and published as a correction version whose reason names
/// the objection; the earlier version stays public) or `rejected` with the reason.
#[utoipa::path(post, path = "/api/v1/objections/{id}/decision", tag = "publication",
    security(("bearer" = [])), request_body = DecideObjectionInput,
    params(("id" = String, Path)),
    responses((status = 200, body = ObjectionView), StepProblems))]
async fn decide_objection(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<DecideObjectionInput>,
) -> ApiResult<Json<ObjectionView>> {
    Ok(Json(
        objections::decide(&state.store, &who, &id, &input).await?,
    ))
}

/// The objection rules in force (default: decided within 20 working days; 5 a day per
/// result, 100 an hour in all).
#[utoipa::path(get, path = "/api/v1/settings/objection-rules", tag = "publication",
    security(("bearer" = [])),
    responses((status = 200, body = ObjectionRules), ListProblems))]
async fn get_objection_rules(
    State(state): State<AppState>,
    _: Reader,
) -> ApiResult<Json<ObjectionRules>> {
    Ok(Json(objections::rules(&state.store).await?))
}

/// Change the objection rules (admins; audited).
#[utoipa::path(put, path = "/api/v1/settings/objection-rules", tag = "publication",
    security(("bearer" = [])), request_body = ObjectionRules,
    responses((status = 200, body = ObjectionRules), WriteProblems))]
async fn put_objection_rules(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(rules): ApiJson<ObjectionRules>,
) -> ApiResult<Json<ObjectionRules>> {
    Ok(Json(
        objections::set_rules(&state.store, &who, &rules).await?,
    ))
}
