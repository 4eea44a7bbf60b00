//! `/api/v1/organizations`: the organizations (省/市/县 jurisdictions) of each department.
//! Admins write them; every authenticated caller reads them.

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, IfMatch, Reader, content_type, read_upload};
use super::problems::{CreateProblems, ImportProblems, ReadOne, UpdateProblems};
use super::registry::{History, ListOf, created, update_outcome, with_etag};
use crate::auth::Principal;
use crate::bulk::source::format_of;
use crate::domain::organization::{Organization, OrganizationInput};
use crate::error::{ApiError, ApiResult};
use crate::organizations::{self as orgs, OrgImportReport};
use crate::store::records::Stored;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(get_organization, update_organization))
        .routes(routes!(organization_history))
        .routes(routes!(import_organizations))
}

fn shown(s: Stored<OrganizationInput>) -> Organization {
    Organization {
        version: s.version,
        data: s.data,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

/// Filters of the organization listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganizationQuery {
    /// Only this department's organizations.
    #[param(pattern = "^[a-z][a-z0-9_]{1,31}$")]
    pub department: Option<String>,
}

/// List organizations (every department's default organization included), by code.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "registries",
    security(("bearer" = [])), params(OrganizationQuery),
    responses((status = 200, body = ListOf<Organization>), super::problems::ListProblems))]
async fn list_organizations(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(query): ApiQuery<OrganizationQuery>,
) -> ApiResult<Json<ListOf<Organization>>> {
    if let Some(d) = &query.department {
        crate::domain::DepartmentCode::parse(d).map_err(|e| ApiError::field("department", e))?;
    }
    let items = state
        .store
        .organizations(query.department.as_deref())
        .await?;
    Ok(Json(ListOf {
        items: items.into_iter().map(shown).collect(),
        next_cursor: None,
    }))
}

/// Register an organization (admin): a province, city or county organization of one
/// department, under its parent one level above.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "registries",
    security(("bearer" = [])), request_body = OrganizationInput,
    responses((status = 201, body = Organization, headers(("ETag" = String), ("Location" = String))), CreateProblems))]
async fn create_organization(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<OrganizationInput>,
) -> ApiResult<Response> {
    let stored = orgs::create(&state.store, &who, &input).await?;
    Ok(created(
        format!("/api/v1/organizations/{}", stored.data.code),
        stored.version,
        shown(stored),
    ))
}

async fn fetch(state: &AppState, code: &str) -> ApiResult<Stored<OrganizationInput>> {
    // A malformed code names no organization: 404, like an unknown one.
    if crate::domain::organization::check_code(code).is_err() {
        return Err(ApiError::NotFound(format!("no organization {code}")));
    }
    state
        .store
        .organization(code)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no organization {code}")))
}

/// One organization.
#[utoipa::path(get, path = "/api/v1/organizations/{code}", tag = "registries",
    security(("bearer" = [])), params(("code" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{1,63}$")),
    responses((status = 200, body = Organization, headers(("ETag" = String))), ReadOne))]
async fn get_organization(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Response> {
    let s = fetch(&state, &code).await?;
    Ok(with_etag(StatusCode::OK, s.version, shown(s)))
}

/// Replace an organization's fields (admin; needs `If-Match`). The code never changes;
/// the children must still fit (level one below, region within, same department).
#[utoipa::path(put, path = "/api/v1/organizations/{code}", tag = "registries",
    security(("bearer" = [])), request_body = OrganizationInput,
    params(("code" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{1,63}$"), ("If-Match" = String, Header, description = "current ETag, the quoted version", pattern = "^\"[1-9][0-9]{0,17}\"$")),
    responses((status = 200, body = Organization, headers(("ETag" = String))), UpdateProblems))]
async fn update_organization(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(code): ApiPath<String>,
    IfMatch(version): IfMatch,
    ApiJson(input): ApiJson<OrganizationInput>,
) -> ApiResult<Response> {
    orgs::check_path_code(&code)?;
    let outcome = orgs::update(&state.store, &who, &code, version, &input).await?;
    let s = update_outcome(outcome, &code)?;
    Ok(with_etag(StatusCode::OK, s.version, shown(s)))
}

/// Every version of an organization.
#[utoipa::path(get, path = "/api/v1/organizations/{code}/history", tag = "registries",
    security(("bearer" = [])), params(("code" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{1,63}$")),
    responses((status = 200, body = History), ReadOne))]
async fn organization_history(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<History>> {
    let s = fetch(&state, &code).await?;
    Ok(Json(
        super::registry::history::<OrganizationInput>(&state, &s.id).await?,
    ))
}

/// How to import organizations.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrgImportQuery {
    /// Validate and count, write nothing.
    pub dry_run: Option<bool>,
}

/// Import a tree of organizations (admin), all or nothing: a JSON array of organizations
/// (item 1 is row 1), or a CSV (UTF-8 or GB18030) or XLSX file with the columns `code`
/// 机构代码, `name` 机构名称, `level` 级别 (province/city/county or 省/市/县),
/// `region_prefix` 区划代码, `parent` 上级机构 (may be empty), `department` 所属部门 (code or
/// Chinese name); the header is row 1. Rows may come in any order: parents are found in
/// the file or the registry. A row equal to a registered organization is counted
/// unchanged; a 422 lists every bad row and nothing is written.
#[utoipa::path(post, path = "/api/v1/organizations/import", tag = "registries",
    security(("bearer" = [])), params(OrgImportQuery),
    request_body(description = "The organizations",
        content((Vec<OrganizationInput> = "application/json"), (String = "text/csv"),
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = OrgImportReport), ImportProblems))]
async fn import_organizations(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(query): ApiQuery<OrgImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<OrgImportReport>> {
    who.require_admin()?;
    let content_type = content_type(&headers).unwrap_or("");
    let json = content_type
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        format_of(Some(content_type), b"PK\x03\x04").map_err(ApiError::UnsupportedMediaType)?;
    }
    let bytes = read_upload(state.import_limit, &headers, body).await?;
    let format = (!json)
        .then(|| format_of(Some(content_type), &bytes))
        .transpose()
        .map_err(ApiError::UnsupportedMediaType)?;
    let parsed = orgs::parse_upload(&state.store, &bytes, format).await?;
    let report = orgs::import(&state.store, &who, parsed, query.dry_run.unwrap_or(false)).await?;
    Ok(Json(report))
}
