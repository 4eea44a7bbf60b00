//! `/api/v1/departments`: the departments taking part in joint inspections.

use super::AppState;
use super::extract::{ApiJson, Reader};
use super::problems::CreateProblems;
use super::registry::{ListOf, check};
use crate::auth::Principal;
use crate::domain::registry::{Department, DepartmentInput};
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::{self, audit, registry};
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
    check(input.validate())?;
    let mut tx = state.store.begin().await?;
    if registry::department_exists(&mut *tx, input.code.as_str()).await? {
        return Err(ApiError::Conflict(format!(
            "department {} already exists",
            input.code
        )));
    }
    let at = store::now();
    registry::insert_department(&mut tx, &input, &at).await?;
    audit::append(
        &mut tx,
        &who.actor(),
        "department.create",
        "department",
        input.code.as_str(),
        &audit::payload_digest(&input),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Department {
            data: input,
            created_at: at,
        }),
    ))
}
