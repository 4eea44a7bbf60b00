//! `/api/v1/departments`: the departments taking part in joint inspections.

use super::AppState;
use super::extract::{ApiJson, Reader};
use super::problems::CreateProblems;
use super::registry::ListOf;
use crate::admin;
use crate::auth::Principal;
use crate::domain::registry::{Department, DepartmentInput};
use crate::error::{ApiResult, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_departments, create_department))
}

/// List departments.
#[utoipa::path(get, path = "/api/v1/departments", tag = "registries",
    security(("bearer" = [])),
    responses((status = 200, body = ListOf<Department>),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn list_departments(
    State(state): State<AppState>,
    _: Reader,
) -> ApiResult<Json<ListOf<Department>>> {
    let items = state.store.departments().await?;
    Ok(Json(ListOf {
        items,
        next_cursor: None,
    }))
}

/// Add a department (admin).
#[utoipa::path(post, path = "/api/v1/departments", tag = "registries",
    security(("bearer" = [])), request_body = DepartmentInput,
    responses((status = 201, body = Department), CreateProblems))]
async fn create_department(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<DepartmentInput>,
) -> ApiResult<(StatusCode, Json<Department>)> {
    who.require_admin()?;
    let created = admin::create_department(&state.store, &who, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}
