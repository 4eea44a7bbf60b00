//! `/api/v1/calendar`: the official working-day calendar (国务院办公厅 holiday notices)
//! and the deadline arithmetic of the disclosure rules.

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::problems::WriteProblems;
use crate::admin;
use crate::auth::Principal;
use crate::domain::calendar::{CalendarError, YearCalendar};
use crate::error::{ApiError, ApiResult, Problem};
use crate::tasks::TaskError;
use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_years))
        .routes(routes!(deadline))
        .routes(routes!(get_year, put_year))
}

/// A year's official calendar.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearInput {
    /// Public holidays and the days off around them (a holiday run may reach a few
    /// days into the neighbouring years). At least one: every official calendar has
    /// public holidays.
    #[schema(value_type = Vec<String>, min_items = 1)]
    pub days_off: BTreeSet<NaiveDate>,
    /// Saturdays and Sundays that are working days (调休上班).
    #[schema(value_type = Vec<String>)]
    pub working_weekends: BTreeSet<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct YearView {
    pub year: i32,
    #[schema(value_type = Vec<String>)]
    pub days_off: BTreeSet<NaiveDate>,
    #[schema(value_type = Vec<String>)]
    pub working_weekends: BTreeSet<NaiveDate>,
}

impl From<&YearCalendar> for YearView {
    fn from(y: &YearCalendar) -> Self {
        Self {
            year: y.year,
            days_off: y.days_off.clone(),
            working_weekends: y.working_weekends.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Years {
    /// Years with an official calendar loaded; deadlines outside them are refused.
    pub years: Vec<i32>,
}

/// Years with a calendar loaded.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "calendar",
    responses((status = 200, body = Years)))]
async fn list_years(State(state): State<AppState>) -> Json<Years> {
    let years = state
        .calendar
        .read()
        .expect("calendar lock")
        .years()
        .collect();
    Json(Years { years })
}

/// One year's calendar.
#[utoipa::path(get, path = "/api/v1/calendar/{year}", tag = "calendar",
    params(("year" = i32, Path, minimum = 1949, maximum = 9999)),
    responses((status = 200, body = YearView),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn get_year(
    State(state): State<AppState>,
    ApiPath(year): ApiPath<String>,
) -> ApiResult<Json<YearView>> {
    let year = parse_year(&year)?;
    let calendar = state.calendar.read().expect("calendar lock");
    calendar
        .get(year)
        .map(|y| Json(YearView::from(y)))
        .ok_or_else(|| ApiError::NotFound(format!("no calendar is loaded for {year}")))
}

fn parse_year(raw: &str) -> ApiResult<i32> {
    raw.parse::<i32>()
        .ok()
        .filter(|y| (1949..=9999).contains(y))
        .ok_or_else(|| ApiError::field("year", "must be a year such as 2027"))
}

fn calendar_problem(e: CalendarError) -> ApiError {
    ApiError::from(TaskError::from(e))
}

/// Load or correct a year's official calendar (admin). Audited; earlier versions are kept.
#[utoipa::path(put, path = "/api/v1/calendar/{year}", tag = "calendar",
    security(("bearer" = [])), params(("year" = i32, Path, minimum = 1949, maximum = 9999)), request_body = YearInput,
    responses((status = 200, body = YearView), WriteProblems))]
async fn put_year(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(year): ApiPath<String>,
    ApiJson(input): ApiJson<YearInput>,
) -> ApiResult<Json<YearView>> {
    who.require_admin()?;
    let candidate = YearCalendar {
        year: parse_year(&year)?,
        days_off: input.days_off,
        working_weekends: input.working_weekends,
    };
    let loaded = admin::load_calendar_year(&state.store, &state.calendar, &who, candidate).await?;
    Ok(Json(YearView::from(&loaded)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadlineQuery {
    /// The day the period starts after (e.g. the inspection end date).
    #[param(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// N: the deadline is the N-th working day strictly after `from`.
    #[param(maximum = 3650)]
    pub working_days: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deadline {
    #[schema(value_type = String, format = Date)]
    pub deadline: NaiveDate,
}

/// The N-th working day strictly after a date ("within N working days after D").
#[utoipa::path(get, path = "/api/v1/calendar/deadline", tag = "calendar",
    params(DeadlineQuery),
    responses((status = 200, body = Deadline),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn deadline(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DeadlineQuery>,
) -> ApiResult<Json<Deadline>> {
    if q.working_days > 3650 {
        return Err(ApiError::field("working_days", "must be at most 3650"));
    }
    let calendar = state.calendar.read().expect("calendar lock");
    let deadline = calendar
        .add_working_days(q.from, q.working_days)
        .map_err(calendar_problem)?;
    Ok(Json(Deadline { deadline }))
}
