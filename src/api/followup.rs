//! After the inspection (issue 15): rectifications (整改) and their verification,
//! referrals (移送) and major cases (要情报告). Thin adapters over `crate::followup`.

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, Reader};
use super::problems::{ListProblems, ReadOne, StepProblems, WriteProblems};
use crate::auth::Principal;
use crate::domain::rectification::{CompleteInput, OrderInput, PlanInput, VerifyInput};
use crate::domain::referral::{MajorCaseReportInput, MajorCaseRule, ReferralInput, ReferralUpdate};
use crate::error::ApiResult;
use crate::followup::{self, MajorCase, MajorCaseList, RectificationView, ReferralView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(order_rectification))
        .routes(routes!(list_rectifications))
        .routes(routes!(get_rectification))
        .routes(routes!(submit_plan))
        .routes(routes!(complete_rectification))
        .routes(routes!(verify_rectification))
        .routes(routes!(create_referral))
        .routes(routes!(list_referrals))
        .routes(routes!(update_referral))
        .routes(routes!(major_cases))
        .routes(routes!(report_major_case))
        .routes(routes!(get_major_case_rule, put_major_case_rule))
}

/// Order a rectification (责令限期整改) on a recorded result (the task's lead): due on
/// `due_date`, or `due_working_days` working days after the order on the official calendar.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/results/{institution_id}/rectifications",
    tag = "publication", security(("bearer" = [])), request_body = OrderInput,
    params(("id" = String, Path), ("institution_id" = String, Path)),
    responses((status = 201, body = RectificationView), StepProblems))]
async fn order_rectification(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, institution)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<OrderInput>,
) -> ApiResult<(StatusCode, Json<RectificationView>)> {
    let r = followup::order(
        &state.store,
        &state.calendar,
        &who,
        &id,
        &institution,
        &input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultQuery {
    pub task_id: Option<String>,
    pub institution_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RectificationList {
    pub items: Vec<RectificationView>,
}

/// Rectifications, of one task and institution when given, with their state today.
#[utoipa::path(get, path = "/api/v1/rectifications", tag = "publication",
    security(("bearer" = [])), params(ResultQuery),
    responses((status = 200, body = RectificationList), ListProblems))]
async fn list_rectifications(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(q): ApiQuery<ResultQuery>,
) -> ApiResult<Json<RectificationList>> {
    let items = followup::list_rectifications(
        &state.store,
        q.task_id.as_deref(),
        q.institution_id.as_deref(),
    )
    .await?;
    Ok(Json(RectificationList { items }))
}

/// One rectification.
#[utoipa::path(get, path = "/api/v1/rectifications/{id}", tag = "publication",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RectificationView), ReadOne))]
async fn get_rectification(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RectificationView>> {
    Ok(Json(followup::get_rectification(&state.store, &id).await?))
}

/// Record the institution's rectification plan: measures with their timetable
/// (`ordered` or `plan_submitted` → `plan_submitted`).
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/plan", tag = "publication",
    security(("bearer" = [])), request_body = PlanInput, params(("id" = String, Path)),
    responses((status = 200, body = RectificationView), StepProblems))]
async fn submit_plan(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<PlanInput>,
) -> ApiResult<Json<RectificationView>> {
    Ok(Json(
        followup::submit_plan(&state.store, &who, &id, &input).await?,
    ))
}

/// Record the institution's completion report (`plan_submitted` → `completed`).
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/complete", tag = "publication",
    security(("bearer" = [])), request_body = CompleteInput, params(("id" = String, Path)),
    responses((status = 200, body = RectificationView), StepProblems))]
async fn complete_rectification(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CompleteInput>,
) -> ApiResult<Json<RectificationView>> {
    Ok(Json(
        followup::complete(&state.store, &who, &id, &input).await?,
    ))
}

/// 整改核查 by the team drawn in `task_id` (a task that drew exactly this institution; it
/// is recorded as a verification task, exempt from frequency caps). Passed: `verified`;
/// failed: back to `ordered` with `new_due_date`.
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/verify", tag = "publication",
    security(("bearer" = [])), request_body = VerifyInput, params(("id" = String, Path)),
    responses((status = 200, body = RectificationView), StepProblems))]
async fn verify_rectification(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<VerifyInput>,
) -> ApiResult<Json<RectificationView>> {
    Ok(Json(
        followup::verify(&state.store, &who, &id, &input).await?,
    ))
}

/// Refer a result's case (移送公安、纪检监察或其他部门; the task's lead).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/results/{institution_id}/referrals",
    tag = "publication", security(("bearer" = [])), request_body = ReferralInput,
    params(("id" = String, Path), ("institution_id" = String, Path)),
    responses((status = 201, body = ReferralView), StepProblems))]
async fn create_referral(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, institution)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<ReferralInput>,
) -> ApiResult<(StatusCode, Json<ReferralView>)> {
    let r = followup::refer(&state.store, &who, &id, &institution, &input).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralList {
    pub items: Vec<ReferralView>,
}

/// Referrals, of one task and institution when given.
#[utoipa::path(get, path = "/api/v1/referrals", tag = "publication",
    security(("bearer" = [])), params(ResultQuery),
    responses((status = 200, body = ReferralList), ListProblems))]
async fn list_referrals(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(q): ApiQuery<ResultQuery>,
) -> ApiResult<Json<ReferralList>> {
    let items = followup::list_referrals(
        &state.store,
        q.task_id.as_deref(),
        q.institution_id.as_deref(),
    )
    .await?;
    Ok(Json(ReferralList { items }))
}

/// A referral's status: accepted (with the receiving case number), returned or closed.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/status", tag = "publication",
    security(("bearer" = [])), request_body = ReferralUpdate, params(("id" = String, Path)),
    responses((status = 200, body = ReferralView), StepProblems))]
async fn update_referral(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReferralUpdate>,
) -> ApiResult<Json<ReferralView>> {
    Ok(Json(
        followup::update_referral(&state.store, &who, &id, &input).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MajorCaseQuery {
    /// The day to judge on (default: today in China).
    #[param(value_type = Option<String>, format = Date)]
    pub as_of: Option<NaiveDate>,
    /// Also the cases already reported (default: only those still to report).
    pub all: Option<bool>,
}

/// Major cases (要情报告) under the configured rule: each stays listed until reported,
/// with its report deadline and whether it is overdue.
#[utoipa::path(get, path = "/api/v1/reports/major-cases", tag = "publication",
    security(("bearer" = [])), params(MajorCaseQuery),
    responses((status = 200, body = MajorCaseList), ListProblems))]
async fn major_cases(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(q): ApiQuery<MajorCaseQuery>,
) -> ApiResult<Json<MajorCaseList>> {
    let as_of = q.as_of.unwrap_or_else(|| followup::today(&state.store));
    Ok(Json(
        followup::major_cases(
            &state.store,
            &state.calendar,
            as_of,
            !q.all.unwrap_or(false),
        )
        .await?,
    ))
}

/// Record that a major case was reported to the level above (the task's lead; once).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/results/{institution_id}/major-case-report",
    tag = "publication", security(("bearer" = [])), request_body = MajorCaseReportInput,
    params(("id" = String, Path), ("institution_id" = String, Path)),
    responses((status = 201, body = MajorCase), StepProblems))]
async fn report_major_case(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, institution)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<MajorCaseReportInput>,
) -> ApiResult<(StatusCode, Json<MajorCase>)> {
    let c = followup::report_major_case(
        &state.store,
        &state.calendar,
        &who,
        &id,
        &institution,
        &input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// The major-case rule in force (default: 涉案金额 ≥ 500,000 yuan or referred to the
/// police; report within 3 calendar days).
#[utoipa::path(get, path = "/api/v1/settings/major-case-rule", tag = "publication",
    security(("bearer" = [])),
    responses((status = 200, body = MajorCaseRule), ListProblems))]
async fn get_major_case_rule(
    State(state): State<AppState>,
    _: Reader,
) -> ApiResult<Json<MajorCaseRule>> {
    Ok(Json(followup::major_case_rule(&state.store).await?))
}

/// Change the major-case rule (admins; audited).
#[utoipa::path(put, path = "/api/v1/settings/major-case-rule", tag = "publication",
    security(("bearer" = [])), request_body = MajorCaseRule,
    responses((status = 200, body = MajorCaseRule), WriteProblems))]
async fn put_major_case_rule(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(rule): ApiJson<MajorCaseRule>,
) -> ApiResult<Json<MajorCaseRule>> {
    Ok(Json(
        followup::set_major_case_rule(&state.store, &who, &rule).await?,
    ))
}
