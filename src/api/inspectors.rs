//! `/api/v1/inspectors`: the inspector registry (执法检查人员名录库) with each inspector's
//! declared conflicts of interest (回避), which the draw respects.

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, IfMatch, Reader, cursor, limit};
use super::filters::InspectorQuery;
use super::problems::{CreateProblems, ListProblems, ScopedReadOne, UpdateProblems};
use super::registry::{History, ListOf, check, created, fetch, update_outcome, with_etag};
use crate::auth::Principal;
use crate::domain::registry::{Inspector, InspectorInput};
use crate::error::ApiResult;
use crate::registries;
use crate::store::records;
use crate::store::registry::Page;
use crate::tasks::policy;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_inspectors, create_inspector))
        .routes(routes!(get_inspector, update_inspector))
        .routes(routes!(inspector_history))
}

/// List inspectors.
#[utoipa::path(get, path = "/api/v1/inspectors", tag = "registries",
    security(("bearer" = [])), params(InspectorQuery),
    responses((status = 200, body = ListOf<Inspector>), ListProblems))]
async fn list_inspectors(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiQuery(query): ApiQuery<InspectorQuery>,
) -> ApiResult<Json<ListOf<Inspector>>> {
    let mut filter = query.filter()?;
    filter.region_prefix = policy::scoped_prefixes(&who, &filter.region_prefix);
    let page = Page {
        after: cursor(query.cursor)?,
        limit: limit(query.limit)?,
    };
    let (items, next_cursor) = state.store.inspectors(&filter, &page).await?;
    Ok(Json(ListOf {
        items: items.into_iter().map(Inspector::from).collect(),
        next_cursor,
    }))
}

/// Register an inspector (admin, or a coordinator of the inspector's department).
#[utoipa::path(post, path = "/api/v1/inspectors", tag = "registries",
    security(("bearer" = [])), request_body = InspectorInput,
    responses((status = 201, body = Inspector, headers(("ETag" = String), ("Location" = String))), CreateProblems))]
async fn create_inspector(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<InspectorInput>,
) -> ApiResult<Response> {
    who.require_department(input.department.as_str())?;
    policy::may_write_inspector(&who, &input.department, input.region.as_str())?;
    check(input.validate())?;
    let mut tx = state.store.begin().await?;
    registries::check_inspector(&mut tx, &input, None).await?;
    let stored = records::insert(&mut tx, &who.actor(), &input).await?;
    tx.commit().await?;
    Ok(created(
        format!("/api/v1/inspectors/{}", stored.id),
        stored.version,
        Inspector::from(stored),
    ))
}

/// One inspector.
#[utoipa::path(get, path = "/api/v1/inspectors/{id}", tag = "registries",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Inspector, headers(("ETag" = String))), ScopedReadOne))]
async fn get_inspector(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let s = fetch::<InspectorInput>(&state, &id).await?;
    policy::may_read_region(&who, s.data.region.as_str(), "the inspector")?;
    Ok(with_etag(StatusCode::OK, s.version, Inspector::from(s)))
}

/// Replace an inspector's fields, conflicts included (needs `If-Match`).
#[utoipa::path(put, path = "/api/v1/inspectors/{id}", tag = "registries",
    security(("bearer" = [])), request_body = InspectorInput,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "current ETag, the quoted version", pattern = "^\"[1-9][0-9]{0,17}\"$")),
    responses((status = 200, body = Inspector, headers(("ETag" = String))), UpdateProblems))]
async fn update_inspector(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    IfMatch(version): IfMatch,
    ApiJson(input): ApiJson<InspectorInput>,
) -> ApiResult<Response> {
    who.require_department(input.department.as_str())?;
    policy::may_write_inspector(&who, &input.department, input.region.as_str())?;
    check(input.validate())?;
    let current = fetch::<InspectorInput>(&state, &id).await?;
    who.require_department(current.data.department.as_str())?;
    policy::may_write_inspector(&who, &current.data.department, current.data.region.as_str())?;
    let mut tx = state.store.begin().await?;
    registries::check_inspector(&mut tx, &input, Some(&id)).await?;
    let outcome = records::update(&mut tx, &who.actor(), &id, version, &input).await?;
    let s = update_outcome(outcome, &id)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, s.version, Inspector::from(s)))
}

/// Every version of an inspector.
#[utoipa::path(get, path = "/api/v1/inspectors/{id}/history", tag = "registries",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = History), ScopedReadOne))]
async fn inspector_history(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<History>> {
    let s = fetch::<InspectorInput>(&state, &id).await?;
    policy::may_read_region(&who, s.data.region.as_str(), "the inspector")?;
    Ok(Json(
        super::registry::history::<InspectorInput>(&state, &id).await?,
    ))
}
