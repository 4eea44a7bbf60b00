//! `/api/v1/blacklist` (issue 15 part 7): listing an institution on the public blacklist
//! (黑名单) by a decision resting on a published result, delisting it as a new version;
//! thin adapters over `crate::blacklist`. The public list is `/public/v1/blacklist`.

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, Reader};
use super::problems::{CreateProblems, ListProblems, ReadOne, StepProblems};
use crate::auth::Principal;
use crate::blacklist::{self, EntryList, EntryView, MAX_LIST};
use crate::domain::blacklist::{DelistingInput, ListingInput};
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_institution, all_entries))
        .routes(routes!(get_entry))
        .routes(routes!(delist))
}

/// List an institution on the public blacklist: a decision (reason, start and end date)
/// resting on a published result whose handling includes 解除协议, 行政处罚 or 移送公安机关
/// (or 不配合检查情节严重); the task's lead or an admin decides. One open listing per
/// institution.
#[utoipa::path(post, path = "/api/v1/blacklist", tag = "publication",
    security(("bearer" = [])), request_body = ListingInput,
    responses((status = 201, body = EntryView), CreateProblems))]
async fn list_institution(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<ListingInput>,
) -> ApiResult<(StatusCode, Json<EntryView>)> {
    let e = blacklist::list(&state.store, &who, &input).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BlacklistQuery {
    /// Entries, 1–1000 (default 100), newest first.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Every listing (also delisted and ended ones), newest first.
#[utoipa::path(get, path = "/api/v1/blacklist", tag = "publication",
    security(("bearer" = [])), params(BlacklistQuery),
    responses((status = 200, body = EntryList), ListProblems))]
async fn all_entries(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(q): ApiQuery<BlacklistQuery>,
) -> ApiResult<Json<EntryList>> {
    let limit = match q.limit {
        None => 100,
        Some(n) if (1..=MAX_LIST).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::field(
                "limit",
                format!("must be between 1 and {MAX_LIST}"),
            ));
        }
    };
    Ok(Json(blacklist::all(&state.store, limit).await?))
}

/// One listing with every version.
#[utoipa::path(get, path = "/api/v1/blacklist/{id}", tag = "publication",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = EntryView), ReadOne))]
async fn get_entry(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EntryView>> {
    Ok(Json(blacklist::get(&state.store, &id).await?))
}

/// Take a listing off the list before its end date: a new version with the reason and the
/// date (the listing's first version stays in its history).
#[utoipa::path(post, path = "/api/v1/blacklist/{id}/delisting", tag = "publication",
    security(("bearer" = [])), request_body = DelistingInput, params(("id" = String, Path)),
    responses((status = 200, body = EntryView), StepProblems))]
async fn delist(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<DelistingInput>,
) -> ApiResult<Json<EntryView>> {
    Ok(Json(
        blacklist::delist(&state.store, &who, &id, &input).await?,
    ))
}
