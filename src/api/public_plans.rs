//! `/public/v1/plans`: published annual plans (抽查计划公示) with every published version
//! and the progress so far. No token, read-only; served through the publication cache
//! like the rest of `/public/v1` (every plan change is a write on `/api`, which moves the
//! cache's generation; progress also depends on today's date, which is in the key).

use super::AppState;
use super::extract::{ApiPath, ApiQuery};
use super::problems::{PublicInvalid, PublicNotFound};
use crate::error::{ApiError, ApiResult};
use crate::plans::{self, PublicPlan, PublicPlanSummary};
use crate::publication::Built;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tower_http::cors::{Any, CorsLayer};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// CORS like the rest of `/public/v1` (any origin, GET/HEAD, `ETag` exposed, preflights
/// answered), so portals elsewhere can show the plans with conditional requests.
pub fn router() -> OpenApiRouter<AppState> {
    let preflight = || axum::routing::options(|| async {});
    OpenApiRouter::new()
        .routes(routes!(public_plans))
        .routes(routes!(public_plan))
        .route("/public/v1/plans", preflight())
        .route("/public/v1/plans/{id}", preflight())
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD])
                .allow_headers(Any)
                .expose_headers([header::ETAG, header::LINK]),
        )
}

fn json<T: Serialize>(value: &T) -> ApiResult<Built> {
    serde_json::to_vec(value)
        .map(Built::from)
        .map_err(|e| ApiError::Internal(e.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicPlanQuery {
    pub year: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicPlanList {
    pub items: Vec<PublicPlanSummary>,
}

/// Published plans, newest year first.
#[utoipa::path(get, path = "/public/v1/plans", tag = "public", params(PublicPlanQuery),
    responses((status = 200, body = PublicPlanList, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"), PublicInvalid))]
async fn public_plans(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    ApiQuery(q): ApiQuery<PublicPlanQuery>,
) -> ApiResult<Response> {
    let p = &state.publication;
    let key = format!("plans?{}", raw.unwrap_or_default());
    p.cache
        .serve(p.store(), &headers, key, "application/json", || async {
            let items = plans::public_plans(p.store(), q.year).await?;
            json(&PublicPlanList { items })
        })
        .await
}

/// A published plan: groups, ratios or goals, rounds and windows, items, every published
/// version with its reason, and progress (per group and per round).
#[utoipa::path(get, path = "/public/v1/plans/{id}", tag = "public", params(("id" = String, Path)),
    responses((status = 200, body = PublicPlan, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"), PublicNotFound))]
async fn public_plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let p = &state.publication;
    let key = format!("plans/{id}@{}", p.store().clock().china_today());
    p.cache
        .serve(p.store(), &headers, key, "application/json", || async {
            let plan = plans::public_plan(p.store(), &id)
                .await?
                .ok_or_else(|| ApiError::NotFound("no published plan with this id".into()))?;
            json(&plan)
        })
        .await
}
