//! `/api/v1/reports`: what is past its legal disclosure deadline.

use super::AppState;
use super::extract::{ApiQuery, Reader};
use super::problems::ListProblems;
use crate::error::ApiResult;
use crate::reports::{self, OverdueReport};
use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(overdue))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverdueQuery {
    /// The day to judge on (default: today in China).
    #[param(value_type = Option<String>, format = Date)]
    pub as_of: Option<NaiveDate>,
}

/// Tasks whose drawn list or results are past due, per lead department.
#[utoipa::path(get, path = "/api/v1/reports/overdue", tag = "publication",
    security(("bearer" = [])), params(OverdueQuery),
    responses((status = 200, body = OverdueReport), ListProblems))]
async fn overdue(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(q): ApiQuery<OverdueQuery>,
) -> ApiResult<Json<OverdueReport>> {
    let as_of = q.as_of.unwrap_or_else(|| state.store.clock().china_today());
    Ok(Json(
        reports::overdue(&state.store, &state.calendar, as_of).await?,
    ))
}
