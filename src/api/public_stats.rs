//! `/public/v1/statistics` and `/public/v1/institutions` (issue 15 part 7): the public
//! statistics the portal's charts show, and the institution search. No token, CORS open,
//! strong ETags and 304 like the other `/public/v1` routes; built by the publication read
//! model (`crate::publication::stats`).

use super::AppState;
use super::extract::ApiQuery;
use super::problems::PublicInvalid;
use crate::error::{ApiError, ApiResult};
use crate::publication::Built;
use crate::publication::stats::{PublicBlacklist, PublicInstitutionSearch, PublicStatistics};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde::Deserialize;
use tower_http::cors::{Any, CorsLayer};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    let preflight = || axum::routing::options(|| async {});
    OpenApiRouter::new()
        .routes(routes!(public_statistics))
        .routes(routes!(public_institutions))
        .routes(routes!(public_blacklist))
        .route("/public/v1/statistics", preflight())
        .route("/public/v1/blacklist", preflight())
        .route("/public/v1/institutions", preflight())
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD])
                .allow_headers(Any)
                .expose_headers([header::ETAG, header::LINK]),
        )
}

fn json<T: serde::Serialize>(value: &T) -> ApiResult<Built> {
    serde_json::to_vec(value)
        .map(Built::from)
        .map_err(|e| ApiError::Internal(e.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatisticsQuery {
    /// The year (inspection date of the results; the task's year for on-time
    /// publication); default: this year.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i64>,
    /// Division code prefix (2, 4 or 6 digits); empty or absent: everywhere. The lines
    /// are the divisions one level below.
    #[param(pattern = "^(?:[0-9]{2}|[0-9]{4}|[0-9]{6})?$")]
    pub region_prefix: Option<String>,
}

/// Public statistics of a year and a region, on published data only: inspections random
/// vs targeted, problems found, funds recovered, penalties, and the share of tasks whose
/// results were published by their deadline. The same numbers as the portal's
/// `/statistics` page; problems and funds equal the summary's columns 3 and 15.
#[utoipa::path(get, path = "/public/v1/statistics", tag = "public", params(StatisticsQuery),
    responses((status = 200, body = PublicStatistics, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"), PublicInvalid))]
async fn public_statistics(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    ApiQuery(q): ApiQuery<StatisticsQuery>,
) -> ApiResult<Response> {
    let p = &state.publication;
    // Lateness depends on today's date as well as on the data.
    let key = format!(
        "statistics@{}?{}",
        p.store().clock().china_today(),
        raw.unwrap_or_default()
    );
    p.cache
        .serve(p.store(), &headers, key, "application/json", || async {
            let s: PublicStatistics = p.statistics(q.year, q.region_prefix.as_deref()).await?;
            json(&s)
        })
        .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstitutionSearchQuery {
    /// A part of the institution's name, or its whole 统一社会信用代码 (exact).
    #[param(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub q: String,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Hits per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Institutions that a published task drew, by name (substring) or credit code (exact),
/// by name; each with its public history.
#[utoipa::path(get, path = "/public/v1/institutions", tag = "public", params(InstitutionSearchQuery),
    responses((status = 200, body = PublicInstitutionSearch, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"), PublicInvalid))]
async fn public_institutions(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    ApiQuery(q): ApiQuery<InstitutionSearchQuery>,
) -> ApiResult<Response> {
    let p = &state.publication;
    let key = format!("institutions?{}", raw.unwrap_or_default());
    p.cache
        .serve(p.store(), &headers, key, "application/json", || async {
            json(
                &p.search_institutions(Some(&q.q), q.cursor.as_deref(), q.limit)
                    .await?,
            )
        })
        .await
}

/// The public blacklist (黑名单): institutions listed today by a decision resting on a
/// published result (解除协议, 行政处罚, 移送公安机关 …), with the reason and the dates.
#[utoipa::path(get, path = "/public/v1/blacklist", tag = "public",
    responses((status = 200, body = PublicBlacklist, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified")))]
async fn public_blacklist(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let p = &state.publication;
    // Listings start and end on dates: the list depends on today as well as on the data.
    let key = format!("blacklist@{}", p.store().clock().china_today());
    p.cache
        .serve(p.store(), &headers, key, "application/json", || async {
            json(&p.blacklist().await?)
        })
        .await
}
