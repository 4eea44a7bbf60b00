//! `/api/v1/reports/summary` and the monthly submissions (issue 15 part 6): the seed 001
//! monthly table as JSON, CSV or XLSX; a county submits its month (frozen, hashed,
//! audited); the city sees who submitted, who is late, and the aggregate.

use super::AppState;
use super::download::{CSV, XLSX, attachment};
use super::extract::{ApiPath, ApiQuery, Reader};
use super::problems::{ListProblems, StepProblems};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::statistics::{self, GroupBy, MonthOverview, SubmissionView, Summary};
use crate::tasks::TaskError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(submit_month))
        .routes(routes!(month_overview))
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SummaryFormat {
    Json,
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// First day (inspection date), inclusive.
    #[param(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Last day, inclusive.
    #[param(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Region code prefix (2, 4 or 6 digits); default: the caller's jurisdiction.
    pub region_prefix: Option<String>,
    /// One row per organization, month, lead department or institution kind; without it,
    /// the total only.
    pub group_by: Option<GroupBy>,
    /// `json` (default), `csv` (UTF-8 with BOM) or `xlsx`.
    #[param(inline)]
    pub format: Option<SummaryFormat>,
}

fn scope(who: &Principal, asked: Option<String>) -> Result<String, TaskError> {
    let prefix = match asked {
        Some(p) => {
            if !(p.len() <= 6 && p.len() % 2 == 0 && p.chars().all(|c| c.is_ascii_digit())) {
                return Err(TaskError::field(
                    "region_prefix",
                    "must be 2, 4 or 6 digits of a division code",
                ));
            }
            p
        }
        None => who
            .organization
            .as_ref()
            .map(|o| o.region_prefix.clone())
            .unwrap_or_default(),
    };
    crate::tasks::policy::may_read_region(who, &prefix, "statistics")?;
    Ok(prefix)
}

/// The monthly table of seed 001 (统计表: columns 1–18 numbered as there, 19–22 from seed
/// 002) over `[from, to]`, with its consistency rules checked ("4 ≤ 5+…+12", "15 = 16 +
/// 17" …), coverage, result-entry and publication rates.
#[utoipa::path(get, path = "/api/v1/reports/summary", tag = "publication",
    security(("bearer" = [])), params(SummaryQuery),
    responses((status = 200, description = "The summary",
               content((Summary = "application/json"), (String = "text/csv"),
                       (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              ListProblems))]
async fn summary(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> ApiResult<Response> {
    let prefix = scope(&who, q.region_prefix)?;
    let s = statistics::summary(&state.store, q.from, q.to, &prefix, q.group_by).await?;
    let title = statistics::title(q.from, q.to, &prefix);
    Ok(match q.format.unwrap_or(SummaryFormat::Json) {
        SummaryFormat::Json => Json(s).into_response(),
        SummaryFormat::Csv => attachment(
            CSV,
            "summary.csv",
            format!("\u{feff}{}", statistics::csv(&s, &title)),
        ),
        SummaryFormat::Xlsx => attachment(
            XLSX,
            "summary.xlsx",
            statistics::xlsx(&s, &title).map_err(|e| TaskError::internal(format!("xlsx: {e}")))?,
        ),
    })
}

/// An organization submits its month's report (after the month ends; once): the summary
/// of its region by institution kind, frozen, hashed (SHA-256 of its canonical JSON) and
/// audited. Due the 5th of the next month (calendar date).
#[utoipa::path(post, path = "/api/v1/reports/monthly/{organization}/{month}/submission",
    tag = "publication", security(("bearer" = [])),
    params(("organization" = String, Path), ("month" = String, Path, description = "YYYY-MM", pattern = "^[0-9]{4}-(?:0[1-9]|1[0-2])$")),
    responses((status = 201, body = SubmissionView), StepProblems))]
async fn submit_month(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((organization, month)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<SubmissionView>)> {
    let s = statistics::submit(&state.store, &who, &organization, &month).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// The day to judge lateness on (default: today in China).
    #[param(value_type = Option<String>, format = Date)]
    pub as_of: Option<NaiveDate>,
}

/// A month for an organization (a city): each subordinate's submission or lateness, and
/// the aggregate of the submitted reports.
#[utoipa::path(get, path = "/api/v1/reports/monthly/{organization}/{month}",
    tag = "publication", security(("bearer" = [])),
    params(("organization" = String, Path), ("month" = String, Path, description = "YYYY-MM", pattern = "^[0-9]{4}-(?:0[1-9]|1[0-2])$"), OverviewQuery),
    responses((status = 200, body = MonthOverview), StepProblems))]
async fn month_overview(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiPath((organization, month)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<OverviewQuery>,
) -> ApiResult<Json<MonthOverview>> {
    let as_of = q
        .as_of
        .unwrap_or_else(|| crate::followup::today(&state.store));
    Ok(Json(
        statistics::overview(&state.store, &who, &organization, &month, as_of).await?,
    ))
}
