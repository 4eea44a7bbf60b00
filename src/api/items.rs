//! `/api/v1/inspection-items`: each department's inspection-item list (抽查事项清单).

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, IfMatch, Reader, cursor, limit};
use super::problems::{CreateProblems, ListProblems, ReadOne, UpdateProblems};
use super::registry::{History, ListOf, check, created, fetch, update_outcome, with_etag};
use crate::auth::Principal;
use crate::domain::DepartmentCode;
use crate::domain::filter::ItemFilter;
use crate::domain::filter::list_values;
use crate::domain::registry::{InstitutionKind, Item, ItemInput, ItemStatus};
use crate::error::ApiResult;
use crate::registries;
use crate::store::records;
use crate::store::registry::Page;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_items, create_item))
        .routes(routes!(get_item, update_item))
        .routes(routes!(item_history))
}

/// Filters: each takes a comma-separated list (any of).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    pub department: Option<String>,
    pub institution_kind: Option<String>,
    pub status: Option<String>,
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// List inspection items.
#[utoipa::path(get, path = "/api/v1/inspection-items", tag = "registries",
    security(("bearer" = [])), params(ItemQuery),
    responses((status = 200, body = ListOf<Item>), ListProblems))]
async fn list_items(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(query): ApiQuery<ItemQuery>,
) -> ApiResult<Json<ListOf<Item>>> {
    let filter = item_filter(&query)?;
    let page = Page {
        after: cursor(query.cursor)?,
        limit: limit(query.limit)?,
    };
    let (items, next_cursor) = state.store.items(&filter, &page).await?;
    Ok(Json(ListOf {
        items: items.into_iter().map(Item::from).collect(),
        next_cursor,
    }))
}

fn item_filter(query: &ItemQuery) -> ApiResult<ItemFilter> {
    Ok(ItemFilter {
        department: list_values("department", &query.department, DepartmentCode::parse)?,
        institution_kind: list_values("institution_kind", &query.institution_kind, |s| {
            InstitutionKind::parse(s).map(|_| s.to_string())
        })?,
        status: list_values("status", &query.status, |s| {
            ItemStatus::parse(s).map(|_| s.to_string())
        })?,
    })
}

/// Add an inspection item (admin, or a coordinator of the item's department).
#[utoipa::path(post, path = "/api/v1/inspection-items", tag = "registries",
    security(("bearer" = [])), request_body = ItemInput,
    responses((status = 201, body = Item, headers(("ETag" = String), ("Location" = String))), CreateProblems))]
async fn create_item(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<ItemInput>,
) -> ApiResult<Response> {
    who.require_department(input.department.as_str())?;
    check(input.validate())?;
    let mut tx = state.store.begin().await?;
    registries::check_item(&mut tx, &input, None).await?;
    let stored = records::insert(&mut tx, &who.actor(), &input).await?;
    tx.commit().await?;
    Ok(created(
        format!("/api/v1/inspection-items/{}", stored.id),
        stored.version,
        Item::from(stored),
    ))
}

/// One inspection item.
#[utoipa::path(get, path = "/api/v1/inspection-items/{id}", tag = "registries",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Item, headers(("ETag" = String))), ReadOne))]
async fn get_item(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let s = fetch::<ItemInput>(&state, &id).await?;
    Ok(with_etag(StatusCode::OK, s.version, Item::from(s)))
}

/// Replace an inspection item (needs `If-Match`); retire it with `status`.
#[utoipa::path(put, path = "/api/v1/inspection-items/{id}", tag = "registries",
    security(("bearer" = [])), request_body = ItemInput,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "current ETag, the quoted version", pattern = "^\"[1-9][0-9]{0,17}\"$")),
    responses((status = 200, body = Item, headers(("ETag" = String))), UpdateProblems))]
async fn update_item(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    IfMatch(version): IfMatch,
    ApiJson(input): ApiJson<ItemInput>,
) -> ApiResult<Response> {
    who.require_department(input.department.as_str())?;
    check(input.validate())?;
    let current = fetch::<ItemInput>(&state, &id).await?;
    who.require_department(current.data.department.as_str())?;
    let mut tx = state.store.begin().await?;
    registries::check_item(&mut tx, &input, Some(&id)).await?;
    let outcome = records::update(&mut tx, &who.actor(), &id, version, &input).await?;
    let s = update_outcome(outcome, &id)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, s.version, Item::from(s)))
}

/// Every version of an inspection item.
#[utoipa::path(get, path = "/api/v1/inspection-items/{id}/history", tag = "registries",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = History), ReadOne))]
async fn item_history(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<History>> {
    Ok(Json(
        super::registry::history::<ItemInput>(&state, &id).await?,
    ))
}
