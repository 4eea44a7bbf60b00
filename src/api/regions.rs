//! `/api/v1/regions`: names of administrative divisions (行政区划名称) for the public pages.
//! The built-in set (鄂尔多斯市) plus the names administrators loaded.

use super::AppState;
use super::extract::{ApiJson, ApiPath};
use super::problems::WriteProblems;
use crate::admin;
use crate::auth::Principal;
use crate::domain::regions::RegionNames;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_regions))
        .routes(routes!(name_region))
}

/// A division's name as submitted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionNameInput {
    /// The division's name, e.g. `东胜区` (the prefecture's name is added on pages).
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegionName {
    /// Division code: 2, 4 or 6 digits.
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegionNameList {
    /// Every named division, by code: the built-in ones and those loaded by admins.
    pub regions: Vec<RegionName>,
}

/// Every named division (no token: the names are public).
#[utoipa::path(get, path = "/api/v1/regions", tag = "registries",
    responses((status = 200, body = RegionNameList)))]
async fn list_regions(State(state): State<AppState>) -> ApiResult<Json<RegionNameList>> {
    let names = RegionNames::with_stored(state.store.region_names().await?);
    Ok(Json(RegionNameList {
        regions: names
            .iter()
            .map(|(c, n)| RegionName {
                code: c.into(),
                name: n.into(),
            })
            .collect(),
    }))
}

/// Name or rename a division (admin). Audited; earlier versions are kept.
#[utoipa::path(put, path = "/api/v1/regions/{code}", tag = "registries",
    security(("bearer" = [])),
    params(("code" = String, Path, pattern = "^([0-9]{2}|[0-9]{4}|[0-9]{6})$")),
    request_body = RegionNameInput,
    responses((status = 200, body = RegionName), WriteProblems))]
async fn name_region(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<RegionNameInput>,
) -> ApiResult<Json<RegionName>> {
    who.require_admin()?;
    admin::name_region(&state.store, &who, &code, &input.name).await?;
    Ok(Json(RegionName {
        code,
        name: input.name,
    }))
}
