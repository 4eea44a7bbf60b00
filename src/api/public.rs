//! `/public/v1`: what the public sees (一公开). No token, read-only, CORS open; only
//! published tasks and published results ever appear. Every response carries a strong
//! ETag and `Cache-Control`, and `If-None-Match` gets 304. The views come from the
//! publication read model (`crate::publication`), built once per change and served as bytes.

use super::AppState;
use super::extract::{ApiPath, ApiQuery};
use super::problems::{PublicInvalid, PublicNotFound};
use crate::error::{ApiError, ApiResult};
use crate::publication::{Built, InstitutionHistory, ListQuery, PublicTask, PublicTaskList};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde::Deserialize;
use tower_http::cors::{Any, CorsLayer};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    // Browsers send a preflight (OPTIONS) before a conditional request from another
    // origin; every public path answers it, so portals elsewhere can use ETags.
    let preflight = || axum::routing::options(|| async {});
    OpenApiRouter::new()
        .routes(routes!(public_tasks))
        .routes(routes!(public_task))
        .routes(routes!(public_bundle))
        .routes(routes!(institution_history))
        .routes(routes!(results_csv))
        .routes(routes!(feed))
        .routes(routes!(inspection_items))
        .route("/public/v1/inspection-items", preflight())
        .route("/public/v1/tasks", preflight())
        .route("/public/v1/tasks/{id}", preflight())
        .route("/public/v1/tasks/{id}/bundle", preflight())
        .route("/public/v1/institutions/{id}/history", preflight())
        .route("/public/v1/results.csv", preflight())
        .route("/public/v1/feed.atom", preflight())
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD])
                .allow_headers(Any)
                .expose_headers([header::ETAG, header::LINK]),
        )
}

fn not_published() -> ApiError {
    // The same answer whether the task does not exist or is not published yet.
    ApiError::NotFound("no published task with this id".into())
}

fn json<T: serde::Serialize>(value: &T) -> ApiResult<Built> {
    serde_json::to_vec(value)
        .map(Built::from)
        .map_err(|e| ApiError::Internal(e.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicTaskQuery {
    pub year: Option<i64>,
    /// Tasks a department took part in (comma-separated codes, at most 100).
    pub department: Option<String>,
    /// Tasks that drew institutions in these regions (comma-separated prefixes, at most 100).
    pub region_prefix: Option<String>,
    /// `published` or `closed` (comma-separated).
    pub state: Option<String>,
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The published inspection-item list (抽查事项清单): every active item by department and
/// institution kind, with its title and legal basis. Nothing outside it is checked
/// (清单之外无检查).
#[utoipa::path(get, path = "/public/v1/inspection-items", tag = "public",
    responses((status = 200, body = crate::publication::view::PublicItemList, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified")))]
async fn inspection_items(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let p = &state.publication;
    p.cache
        .serve(
            p.store(),
            &headers,
            "inspection-items".to_string(),
            "application/json",
            || async { json(&p.item_list().await?) },
        )
        .await
}

/// Published tasks.
#[utoipa::path(get, path = "/public/v1/tasks", tag = "public", params(PublicTaskQuery),
    responses((status = 200, body = PublicTaskList, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"), PublicInvalid))]
async fn public_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    ApiQuery(q): ApiQuery<PublicTaskQuery>,
) -> ApiResult<Response> {
    let p = &state.publication;
    let key = format!("list?{}", raw.unwrap_or_default());
    p.cache
        .serve(p.store(), &headers, key, "application/json", || async {
            let q = ListQuery {
                year: q.year,
                department: q.department,
                region_prefix: q.region_prefix,
                state: q.state,
                cursor: q.cursor,
                limit: q.limit,
            };
            json(&p.list(&q).await?)
        })
        .await
}

/// A published task: drawn institutions, teams, results, deadlines, timeliness.
#[utoipa::path(get, path = "/public/v1/tasks/{id}", tag = "public", params(("id" = String, Path)),
    responses((status = 200, body = PublicTask, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"), PublicNotFound))]
async fn public_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let p = &state.publication;
    let key = format!("task/{id}");
    p.cache
        .serve(p.store(), &headers, key, "application/json", || async {
            let view: std::sync::Arc<PublicTask> = p.task(&id).await?.ok_or_else(not_published)?;
            json(&*view)
        })
        .await
}

/// The bundle of a published task's draw, for `suiji verify`.
#[utoipa::path(get, path = "/public/v1/tasks/{id}/bundle", tag = "public", params(("id" = String, Path)),
    responses((status = 200, description = "The bundle (canonical JSON)", content_type = "application/json", body = Object,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"), PublicNotFound))]
async fn public_bundle(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let p = &state.publication;
    let key = format!("bundle/{id}");
    p.cache
        .serve(p.store(), &headers, key, "application/json", || async {
            Ok(p.bundle(&id).await?.ok_or_else(not_published)?.into())
        })
        .await
}

/// Every published inspection of one institution; 404 for an institution no published
/// task drew.
#[utoipa::path(get, path = "/public/v1/institutions/{id}/history", tag = "public",
    params(("id" = String, Path)),
    responses((status = 200, body = InstitutionHistory, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"), PublicNotFound))]
async fn institution_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let p = &state.publication;
    let key = format!("history/{id}");
    p.cache
        .serve(p.store(), &headers, key, "application/json", || async {
            let history = p.history(&id).await?.ok_or_else(|| {
                ApiError::NotFound(format!("no published inspection of institution {id}"))
            })?;
            json(&history)
        })
        .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsCsvQuery {
    /// The `X-Next-Cursor` of the previous page (also in its `Link: rel="next"` header).
    pub cursor: Option<String>,
    /// Rows per page, 1–10000 (default 1000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<i64>,
}

/// Published results, one row per inspection (the current version), in pages: CSV, UTF-8
/// with BOM so spreadsheet programs read the Chinese text correctly. When more rows
/// follow, `Link: <…>; rel="next"` and `X-Next-Cursor` point to the next page.
#[utoipa::path(get, path = "/public/v1/results.csv", tag = "public", params(ResultsCsvQuery),
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String,
               headers(("ETag" = String), ("Cache-Control" = String), ("Link" = String), ("X-Next-Cursor" = String))),
              (status = 304, description = "Not modified"), PublicInvalid))]
async fn results_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    ApiQuery(q): ApiQuery<ResultsCsvQuery>,
) -> ApiResult<Response> {
    let p = &state.publication;
    let key = format!("results.csv?{}", raw.unwrap_or_default());
    p.cache
        .serve(
            p.store(),
            &headers,
            key,
            "text/csv; charset=utf-8",
            || async { p.results_csv(&q.cursor, q.limit).await },
        )
        .await
}

/// New publications (drawn lists and results), newest first, as an Atom feed.
#[utoipa::path(get, path = "/public/v1/feed.atom", tag = "public",
    responses((status = 200, description = "Atom feed", content_type = "application/atom+xml", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified")))]
async fn feed(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let p = &state.publication;
    p.cache
        .serve(
            p.store(),
            &headers,
            "feed.atom".into(),
            "application/atom+xml; charset=utf-8",
            || async { Ok(p.feed().await?.into()) },
        )
        .await
}
