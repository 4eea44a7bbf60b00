//! `/api/v1/institutions`: the institution registry (检查对象名录库).

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, IfMatch, Reader, cursor, limit, list_param};
use super::problems::{CreateProblems, ListProblems, ReadOne, UpdateProblems};
use super::registry::{History, ListOf, check, created, fetch, update_outcome, with_etag};
use crate::auth::Principal;
use crate::domain::CreditCode;
use crate::domain::codes::parse_region_prefix;
use crate::domain::registry::{
    Institution, InstitutionInput, InstitutionKind, InstitutionStatus, Level, Ownership, RiskGrade,
};
use crate::error::{ApiError, ApiResult};
use crate::store::records;
use crate::store::registry::{self, InstitutionFilter, Page};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_institutions, create_institution))
        .routes(routes!(get_institution, update_institution))
        .routes(routes!(institution_history))
}

/// Filters: each takes a comma-separated list (any of); filters combine with and.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstitutionQuery {
    /// e.g. `designated_hospital,retail_pharmacy`
    pub kind: Option<String>,
    pub level: Option<String>,
    pub ownership: Option<String>,
    pub risk_grade: Option<String>,
    pub status: Option<String>,
    /// Region code prefixes (2, 4 or 6 digits), e.g. `1506`.
    pub region_prefix: Option<String>,
    /// Institutions carrying any of these tags.
    pub tags: Option<String>,
    /// Substring of the name.
    pub q: Option<String>,
    /// Exact credit code.
    pub credit_code: Option<String>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl InstitutionQuery {
    /// Checks every filter value against its vocabulary.
    pub fn filter(&self) -> ApiResult<InstitutionFilter> {
        fn vocab<T>(p: fn(&str) -> Result<T, String>) -> impl Fn(&str) -> Result<String, String> {
            move |s| p(s).map(|_| s.to_string())
        }
        Ok(InstitutionFilter {
            kind: list_param("kind", &self.kind, vocab(InstitutionKind::parse))?,
            level: list_param("level", &self.level, vocab(Level::parse))?,
            ownership: list_param("ownership", &self.ownership, vocab(Ownership::parse))?,
            risk_grade: list_param("risk_grade", &self.risk_grade, vocab(RiskGrade::parse))?,
            status: list_param("status", &self.status, vocab(InstitutionStatus::parse))?,
            region_prefix: list_param("region_prefix", &self.region_prefix, parse_region_prefix)?,
            tags: list_param("tags", &self.tags, |s| Ok(s.to_string()))?,
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            credit_code: self
                .credit_code
                .as_deref()
                .map(|c| {
                    CreditCode::parse(c)
                        .map(|c| c.as_str().to_string())
                        .map_err(|r| ApiError::field("credit_code", r))
                })
                .transpose()?,
        })
    }
}

/// List institutions.
#[utoipa::path(get, path = "/api/v1/institutions", tag = "registries",
    security(("bearer" = [])), params(InstitutionQuery),
    responses((status = 200, body = ListOf<Institution>), ListProblems))]
async fn list_institutions(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(query): ApiQuery<InstitutionQuery>,
) -> ApiResult<Json<ListOf<Institution>>> {
    let filter = query.filter()?;
    let page = Page {
        after: cursor(query.cursor)?,
        limit: limit(query.limit)?,
    };
    let (items, next_cursor) = state.store.institutions(&filter, &page).await?;
    Ok(Json(ListOf {
        items: items.into_iter().map(Institution::from).collect(),
        next_cursor,
    }))
}

async fn ensure_credit_code_free(
    tx: &mut crate::store::Tx,
    code: &CreditCode,
    except: Option<&str>,
) -> ApiResult<()> {
    if let Some(id) =
        registry::id_by::<InstitutionInput, _>(&mut **tx, "credit_code", code.as_str()).await?
        && Some(id.as_str()) != except
    {
        return Err(ApiError::Conflict(format!(
            "credit_code {code} is already registered as institution {id}"
        )));
    }
    Ok(())
}

/// Register an institution (admin, coordinator).
#[utoipa::path(post, path = "/api/v1/institutions", tag = "registries",
    security(("bearer" = [])), request_body = InstitutionInput,
    responses((status = 201, body = Institution, headers(("ETag" = String), ("Location" = String))), CreateProblems))]
async fn create_institution(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<InstitutionInput>,
) -> ApiResult<Response> {
    who.require_writer()?;
    check(input.validate())?;
    let mut tx = state.store.begin().await?;
    ensure_credit_code_free(&mut tx, &input.credit_code, None).await?;
    let stored = records::insert(&mut tx, &who.actor(), &input).await?;
    tx.commit().await?;
    tracing::info!(id = %stored.id, credit_code = %input.credit_code, "institution registered");
    Ok(created(
        format!("/api/v1/institutions/{}", stored.id),
        stored.version,
        Institution::from(stored),
    ))
}

/// One institution.
#[utoipa::path(get, path = "/api/v1/institutions/{id}", tag = "registries",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Institution, headers(("ETag" = String))), ReadOne))]
async fn get_institution(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let s = fetch::<InstitutionInput>(&state, &id).await?;
    Ok(with_etag(StatusCode::OK, s.version, Institution::from(s)))
}

/// Replace an institution's fields (needs `If-Match`). Deactivate by setting `status`.
#[utoipa::path(put, path = "/api/v1/institutions/{id}", tag = "registries",
    security(("bearer" = [])), request_body = InstitutionInput,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "current ETag")),
    responses((status = 200, body = Institution, headers(("ETag" = String))), UpdateProblems))]
async fn update_institution(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    IfMatch(version): IfMatch,
    ApiJson(input): ApiJson<InstitutionInput>,
) -> ApiResult<Response> {
    who.require_writer()?;
    check(input.validate())?;
    fetch::<InstitutionInput>(&state, &id).await?;
    let mut tx = state.store.begin().await?;
    ensure_credit_code_free(&mut tx, &input.credit_code, Some(&id)).await?;
    let outcome = records::update(&mut tx, &who.actor(), &id, version, &input).await?;
    let s = update_outcome(outcome, &id)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, s.version, Institution::from(s)))
}

/// Every version of an institution.
#[utoipa::path(get, path = "/api/v1/institutions/{id}/history", tag = "registries",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = History), ReadOne))]
async fn institution_history(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<History>> {
    Ok(Json(
        super::registry::history::<InstitutionInput>(&state, &id).await?,
    ))
}
