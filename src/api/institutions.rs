//! `/api/v1/institutions`: the institution registry (检查对象名录库).

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, IfMatch, Reader, cursor, limit};
use super::filters::InstitutionQuery;
use super::problems::{CreateProblems, ListProblems, ScopedReadOne, UpdateProblems};
use super::registry::{History, ListOf, check, created, fetch, update_outcome, with_etag};
use crate::auth::Principal;
use crate::domain::CreditCode;
use crate::domain::registry::{Institution, InstitutionInput};
use crate::error::{ApiError, ApiResult};
use crate::store::records;
use crate::store::registry::{self, Page};
use crate::tasks::policy;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_institutions, create_institution))
        .routes(routes!(get_institution, update_institution))
        .routes(routes!(institution_history))
}

/// List institutions.
#[utoipa::path(get, path = "/api/v1/institutions", tag = "registries",
    security(("bearer" = [])), params(InstitutionQuery),
    responses((status = 200, body = ListOf<Institution>), ListProblems))]
async fn list_institutions(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiQuery(query): ApiQuery<InstitutionQuery>,
) -> ApiResult<Json<ListOf<Institution>>> {
    let mut filter = query.filter()?;
    filter.region_prefix = policy::scoped_prefixes(&who, &filter.region_prefix);
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
    policy::may_write_institution(&who, input.region.as_str())?;
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
    responses((status = 200, body = Institution, headers(("ETag" = String))), ScopedReadOne))]
async fn get_institution(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let s = fetch::<InstitutionInput>(&state, &id).await?;
    policy::may_read_region(&who, s.data.region.as_str(), "the institution")?;
    Ok(with_etag(StatusCode::OK, s.version, Institution::from(s)))
}

/// Replace an institution's fields (needs `If-Match`). Deactivate by setting `status`.
#[utoipa::path(put, path = "/api/v1/institutions/{id}", tag = "registries",
    security(("bearer" = [])), request_body = InstitutionInput,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "current ETag, the quoted version", pattern = "^\"[1-9][0-9]{0,17}\"$")),
    responses((status = 200, body = Institution, headers(("ETag" = String))), UpdateProblems))]
async fn update_institution(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    IfMatch(version): IfMatch,
    ApiJson(input): ApiJson<InstitutionInput>,
) -> ApiResult<Response> {
    who.require_writer()?;
    let current = fetch::<InstitutionInput>(&state, &id).await?;
    // Both where it is and where it would be: no moving an institution out of (or into)
    // another organization's region.
    policy::may_write_institution(&who, current.data.region.as_str())?;
    policy::may_write_institution(&who, input.region.as_str())?;
    check(input.validate())?;
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
    responses((status = 200, body = History), ScopedReadOne))]
async fn institution_history(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<History>> {
    let s = fetch::<InstitutionInput>(&state, &id).await?;
    policy::may_read_region(&who, s.data.region.as_str(), "the institution")?;
    Ok(Json(
        super::registry::history::<InstitutionInput>(&state, &id).await?,
    ))
}
