//! `/api/v1/tasks/{id}/recheck`: how a re-check's results compare with the inspections it
//! re-checked (抽查复查, issue 14 part 4). Private: the lead's and participating
//! departments' coordinators of the governing organizations, admins and auditors.

use super::AppState;
use super::extract::ApiPath;
use super::problems::ReadOne;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::tasks::{self, policy, recheck::RecheckReport};
use axum::Json;
use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_recheck))
}

/// The re-check report: per drawn institution, the original result (task and version),
/// the re-check's latest published result and the verdict (confirmed, agreed_clean,
/// missed, overturned, not_comparable, pending), with counts.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/recheck", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RecheckReport), ReadOne))]
async fn get_recheck(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RecheckReport>> {
    let task = tasks::get(&state.store, &id).await?;
    policy::read_recheck(&who, &task.config)?;
    Ok(Json(tasks::recheck::report(&state.store, &id).await?))
}
