//! `/api/v1/plans`: annual plans (抽查计划): write a draft (versioned, `If-Match`),
//! publish it, amend it with a reason, create each round's task, follow the progress.
//! Thin adapters over `crate::plans`.

use super::AppState;
use super::download::{CSV, XLSX, attachment};
use super::extract::{ApiJson, ApiPath, ApiQuery, IfMatch, Reader};
use super::problems::{CreateProblems, ListProblems, ReadOne, StepProblems, UpdateProblems};
use super::registry::{History, created, update_outcome, with_etag};
use super::views::{TaskView, created_task};
use crate::auth::Principal;
use crate::domain::plan::{PlanInput, PlanState};
use crate::error::{ApiError, ApiResult};
use crate::plans::{self, AmendmentInput, Progress, RoundTaskInput};
use crate::store::plans::{self as store, PlanRow};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(get_plan, update_plan))
        .routes(routes!(plan_history))
        .routes(routes!(publish_plan))
        .routes(routes!(amend_plan))
        .routes(routes!(create_round_task))
        .routes(routes!(plan_progress))
        .routes(routes!(plan_csv))
        .routes(routes!(plan_xlsx))
}

/// An amendment of a published plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct AmendmentView {
    /// The version the amendment created.
    pub version: i64,
    pub reason: String,
    pub actor: String,
    pub at: String,
}

/// A plan with its state and amendments.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub id: String,
    pub version: i64,
    pub state: PlanState,
    pub published_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub plan: PlanInput,
    pub amendments: Vec<AmendmentView>,
}

pub async fn plan_view(state: &AppState, row: PlanRow) -> ApiResult<PlanView> {
    let amendments = store::amendments(&mut *state.store.read().await?, &row.stored.id)
        .await?
        .into_iter()
        .map(|a| AmendmentView {
            version: a.version,
            reason: a.reason,
            actor: a.actor,
            at: a.at,
        })
        .collect();
    Ok(PlanView {
        id: row.stored.id,
        version: row.stored.version,
        state: row.state,
        published_at: row.published_at,
        created_at: row.stored.created_at,
        updated_at: row.stored.updated_at,
        plan: row.stored.data,
        amendments,
    })
}

/// Create a draft plan (admin, or a coordinator of its lead department).
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans",
    security(("bearer" = [])), request_body = PlanInput,
    responses((status = 201, body = PlanView, headers(("ETag" = String), ("Location" = String))), CreateProblems))]
async fn create_plan(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<PlanInput>,
) -> ApiResult<Response> {
    who.require_writer()?;
    let row = plans::create(&state.store, &who, &input).await?;
    let (id, version) = (row.stored.id.clone(), row.stored.version);
    Ok(created(
        format!("/api/v1/plans/{id}"),
        version,
        plan_view(&state, row).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    pub year: Option<i32>,
    /// `draft` or `published`.
    pub state: Option<String>,
}

/// Plans in a listing (at most 1,000, newest year first).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanList {
    pub items: Vec<PlanView>,
}

fn state_param(s: &Option<String>) -> ApiResult<Option<PlanState>> {
    match s.as_deref() {
        None => Ok(None),
        Some("draft") => Ok(Some(PlanState::Draft)),
        Some("published") => Ok(Some(PlanState::Published)),
        Some(other) => Err(ApiError::field(
            "state",
            format!("'{other}' is not one of: draft, published"),
        )),
    }
}

/// List plans.
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans",
    security(("bearer" = [])), params(PlanQuery),
    responses((status = 200, body = PlanList), ListProblems))]
async fn list_plans(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> ApiResult<Json<PlanList>> {
    let rows = store::list(
        &mut *state.store.read().await?,
        q.year,
        state_param(&q.state)?,
    )
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        items.push(plan_view(&state, r).await?);
    }
    Ok(Json(PlanList { items }))
}

/// One plan.
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PlanView, headers(("ETag" = String))), ReadOne))]
async fn get_plan(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let row = plans::get(&state.store, &id).await?;
    let version = row.stored.version;
    Ok(with_etag(
        StatusCode::OK,
        version,
        plan_view(&state, row).await?,
    ))
}

/// Replace a draft plan (needs `If-Match`); a published plan is amended instead (409).
#[utoipa::path(put, path = "/api/v1/plans/{id}", tag = "plans",
    security(("bearer" = [])), request_body = PlanInput,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "current ETag, the quoted version", pattern = "^\"[1-9][0-9]{0,17}\"$")),
    responses((status = 200, body = PlanView, headers(("ETag" = String))), UpdateProblems))]
async fn update_plan(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    IfMatch(version): IfMatch,
    ApiJson(input): ApiJson<PlanInput>,
) -> ApiResult<Response> {
    who.require_writer()?;
    let outcome = plans::update(&state.store, &who, &id, version, &input).await?;
    update_outcome(outcome, &id)?;
    let row = plans::get(&state.store, &id).await?;
    let version = row.stored.version;
    Ok(with_etag(
        StatusCode::OK,
        version,
        plan_view(&state, row).await?,
    ))
}

/// Every version of a plan (drafts, the published version, amendments).
#[utoipa::path(get, path = "/api/v1/plans/{id}/history", tag = "plans",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = History), ReadOne))]
async fn plan_history(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<History>> {
    Ok(Json(
        super::registry::history::<PlanInput>(&state, &id).await?,
    ))
}

/// Publish a draft plan (抽查计划公示): public from now on, immutable but for amendments.
/// Refused (422 naming `groups[i].filter`) while a group's population is empty.
#[utoipa::path(post, path = "/api/v1/plans/{id}/publish", tag = "plans",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PlanView), StepProblems))]
async fn publish_plan(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PlanView>> {
    who.require_writer()?;
    let row = plans::publish(&state.store, &who, &id).await?;
    Ok(Json(plan_view(&state, row).await?))
}

/// Amend a published plan: the whole new plan with a reason; a new version, public with
/// its reason, the earlier versions staying visible.
#[utoipa::path(post, path = "/api/v1/plans/{id}/amendments", tag = "plans",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = AmendmentInput,
    responses((status = 201, body = PlanView), StepProblems))]
async fn amend_plan(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<AmendmentInput>,
) -> ApiResult<Response> {
    who.require_writer()?;
    let row = plans::amend(&state.store, &who, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(plan_view(&state, row).await?)).into_response())
}

/// Create round `r`'s suiji-draw/2 task from the published plan (lead). Its strata are
/// the plan's groups with this round's counts; the counts are computed again, exactly,
/// when the task is sealed, which also excludes what earlier rounds drew and refuses
/// (409) while an earlier round is not drawn.
#[utoipa::path(post, path = "/api/v1/plans/{id}/rounds/{round}/task", tag = "plans",
    security(("bearer" = [])), params(("id" = String, Path), ("round" = u32, Path)),
    request_body = RoundTaskInput,
    responses((status = 201, body = TaskView, headers(("Location" = String))), StepProblems))]
async fn create_round_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, round)): ApiPath<(String, u32)>,
    ApiJson(input): ApiJson<RoundTaskInput>,
) -> ApiResult<Response> {
    who.require_writer()?;
    let task = plans::create_round_task(&state.store, &who, &id, round, &input).await?;
    created_task(&state, task).await
}

/// Progress against a plan: per group population now, drawn so far, goal, remaining; per
/// round state, task, window, overdue.
#[utoipa::path(get, path = "/api/v1/plans/{id}/progress", tag = "plans",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Progress), ReadOne))]
async fn plan_progress(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Progress>> {
    Ok(Json(plans::progress(&state.store, &id).await?))
}

/// The plan and its progress as CSV (UTF-8 with BOM, for spreadsheets): one row per
/// group, then one per round.
#[utoipa::path(get, path = "/api/v1/plans/{id}/export.csv", tag = "plans",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "CSV", content_type = "text/csv"), ReadOne))]
async fn plan_csv(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let plan = plans::get(&state.store, &id).await?;
    let progress = plans::progress(&state.store, &id).await?;
    let body =
        progress_csv(&plan.stored.data, &progress).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(attachment(CSV, &format!("plan-{id}.csv"), body))
}

/// The rows of a plan and its progress (CSV and XLSX alike): a header and one row per
/// group, then a header and one row per round.
pub fn progress_rows(plan: &PlanInput, p: &Progress) -> Vec<Vec<String>> {
    let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let mut out = vec![row(&[
        "section",
        "id",
        "name",
        "responsible_unit",
        "ratio_or_goal",
        "population",
        "drawn",
        "goal",
        "remaining",
    ])];
    for (g, gp) in plan.groups.iter().zip(&p.groups) {
        let share = match (&g.ratio, &g.goal) {
            (Some(r), _) => format!("{}/{} per round", r.num, r.den),
            (_, Some(crate::domain::plan::Goal::Share(r))) => format!("{}/{}", r.num, r.den),
            (_, Some(crate::domain::plan::Goal::Full(_))) => "full".into(),
            _ => String::new(),
        };
        out.push(vec![
            "group".to_string(),
            g.id.clone(),
            g.name.clone(),
            g.responsible_unit.clone(),
            share,
            gp.population.to_string(),
            gp.drawn.to_string(),
            gp.goal.to_string(),
            gp.remaining.to_string(),
        ]);
    }
    out.push(row(&[
        "section", "round", "start", "end", "state", "task_id", "drawn", "overdue",
    ]));
    for r in &p.rounds {
        out.push(vec![
            "round".to_string(),
            r.round.to_string(),
            r.start.map(|d| d.to_string()).unwrap_or_default(),
            r.end.map(|d| d.to_string()).unwrap_or_default(),
            r.state.clone(),
            r.task_id.clone().unwrap_or_default(),
            r.drawn.to_string(),
            r.overdue.to_string(),
        ]);
    }
    out
}

/// The plan and its progress as XLSX: the CSV's rows, every cell text.
#[utoipa::path(get, path = "/api/v1/plans/{id}/export.xlsx", tag = "plans",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "XLSX",
               content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ReadOne))]
async fn plan_xlsx(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let plan = plans::get(&state.store, &id).await?;
    let progress = plans::progress(&state.store, &id).await?;
    let body =
        progress_xlsx(&plan.stored.data, &progress).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(attachment(XLSX, &format!("plan-{id}.xlsx"), body))
}

/// The CSV of a plan and its progress; a cell that a spreadsheet could run as a formula
/// gets a leading apostrophe, as in every export.
pub fn progress_csv(plan: &PlanInput, p: &Progress) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for row in progress_rows(plan, p) {
        w.write_record(
            row.iter()
                .map(|c| crate::domain::spreadsheet::csv_cell(c).into_owned()),
        )?;
    }
    let mut out = "\u{feff}".as_bytes().to_vec();
    out.extend(w.into_inner().map_err(|e| e.into_error())?);
    Ok(out)
}

/// The XLSX of a plan and its progress: the same rows, every cell a string (so nothing
/// is ever a formula, and codes stay text).
pub fn progress_xlsx(
    plan: &PlanInput,
    p: &Progress,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("plan")?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (r, row) in progress_rows(plan, p).iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if row[0] == "section" {
                sheet.write_string_with_format(r as u32, c as u16, cell, &bold)?;
            } else {
                sheet.write_string(r as u32, c as u16, cell)?;
            }
        }
    }
    book.save_to_buffer()
}
