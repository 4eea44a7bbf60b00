//! Publishing a task's drawn list, and recording, correcting and publishing its results.

use super::AppState;
use super::extract::{ApiJson, ApiPath, OptionalJson, Reader};
use super::problems::{ReadOne, StepProblems};
use super::registry::created_or_ok;
use super::views::{TaskView, task_view};
use crate::auth::Principal;
use crate::domain::result::{ResultCategory, ResultInput};
use crate::domain::task::TaskState;
use crate::error::{ApiResult, Problem};
use crate::store::parts::PartRow;
use crate::store::publication::ResultRow;
use crate::tasks::{self, PublishResultsInput};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(publish_task))
        .routes(routes!(list_results))
        .routes(routes!(put_result))
        .routes(routes!(put_part))
        .routes(routes!(publish_results))
}

/// Publish the drawn list with its teams (lead; `drawn` → `published`).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/publish", tag = "publication",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = TaskView),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn publish_task(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskView>> {
    let task = tasks::publish(&state.store, &who, &id).await?;
    task_view(&state, task).await
}

/// One version of a result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultVersion {
    pub version: i64,
    #[serde(flatten)]
    pub data: ResultInput,
    pub category_zh: String,
    pub category_en: String,
    pub correction_reason: Option<String>,
    pub recorded_by: String,
    pub recorded_at: String,
    /// Null until published.
    pub published_at: Option<String>,
}

impl From<ResultRow> for ResultVersion {
    fn from(r: ResultRow) -> Self {
        Self {
            version: r.version,
            category_zh: r.data.category.label_zh().into(),
            category_en: r.data.category.label_en().into(),
            data: r.data,
            correction_reason: r.correction_reason,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at,
            published_at: r.published_at,
        }
    }
}

/// Every version of the result for one institution, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionResults {
    pub institution: String,
    pub versions: Vec<ResultVersion>,
    /// Each department's own part (joint inspections), every version, by department and
    /// version; empty where the lead entered the result alone.
    pub parts: Vec<PartVersion>,
    /// The evidence attached to this result (listing only, and only for its readers:
    /// admins, auditors, coordinators of the task's departments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Vec<super::views::EvidenceView>>,
}

/// One version of one department's part of a result.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartVersion {
    pub department: String,
    #[serde(flatten)]
    pub version: ResultVersion,
}

impl From<PartRow> for PartVersion {
    fn from(p: PartRow) -> Self {
        Self {
            department: p.department.clone(),
            version: ResultVersion::from(ResultRow {
                institution_id: p.institution_id,
                version: p.version,
                data: p.data,
                correction_reason: p.correction_reason,
                recorded_by: p.recorded_by,
                recorded_at: p.recorded_at,
                published_at: p.published_at,
            }),
        }
    }
}

/// Every version of one department's part for one institution, and what it did to the
/// institution's combined result.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionPart {
    pub institution: String,
    pub department: String,
    pub versions: Vec<ResultVersion>,
    /// The result version this call combined the parts into (every department's part is
    /// in, and the combination changed); null otherwise.
    pub combined_version: Option<i64>,
    /// Departments of the task whose part for this institution is still missing.
    pub missing_departments: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultList {
    pub items: Vec<InstitutionResults>,
}

fn group(rows: Vec<ResultRow>, parts: Vec<PartRow>) -> Vec<InstitutionResults> {
    let mut out: Vec<InstitutionResults> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some(g) if g.institution == r.institution_id => g.versions.push(r.into()),
            _ => out.push(InstitutionResults {
                institution: r.institution_id.clone(),
                versions: vec![r.into()],
                parts: Vec::new(),
                evidence: None,
            }),
        }
    }
    for p in parts {
        match out.iter_mut().find(|g| g.institution == p.institution_id) {
            Some(g) => g.parts.push(p.into()),
            None => out.push(InstitutionResults {
                institution: p.institution_id.clone(),
                versions: Vec::new(),
                parts: vec![p.into()],
                evidence: None,
            }),
        }
    }
    out
}

/// Every result of a task with every version (published or not).
#[utoipa::path(get, path = "/api/v1/tasks/{id}/results", tag = "publication",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ResultList), ReadOne))]
async fn list_results(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ResultList>> {
    let rows = tasks::results(&state.store, &id).await?;
    let parts = tasks::results::all_parts(&state.store, &id).await?;
    let mut items = group(rows, parts);
    if let Some(evidence) = tasks::evidence::of_task_for(&state.store, &who, &id).await? {
        for g in &mut items {
            g.evidence = Some(
                evidence
                    .iter()
                    .filter(|e| e.institution_id == g.institution)
                    .cloned()
                    .map(Into::into)
                    .collect(),
            );
        }
    }
    Ok(Json(ResultList { items }))
}

/// Record the result for one drawn institution (lead; task `drawn`, `published` or
/// `closed`). Each change is a new version; changing a published result needs
/// `correction_reason`, and the earlier versions stay visible.
#[utoipa::path(put, path = "/api/v1/tasks/{id}/results/{institution_id}", tag = "publication",
    security(("bearer" = [])), request_body = ResultInput,
    params(("id" = String, Path), ("institution_id" = String, Path)),
    responses((status = 200, body = InstitutionResults, description = "Unchanged"),
              (status = 201, body = InstitutionResults, description = "A new version"), StepProblems))]
async fn put_result(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, institution)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<ResultInput>,
) -> ApiResult<(StatusCode, Json<InstitutionResults>)> {
    let recorded = tasks::record_result(&state.store, &who, &id, &institution, &input).await?;
    let status = created_or_ok(recorded.created);
    let parts = tasks::results::all_parts(&state.store, &id)
        .await?
        .into_iter()
        .filter(|p| p.institution_id == institution)
        .collect();
    let group = group(recorded.versions, parts)
        .pop()
        .expect("a result was just recorded");
    Ok((status, Json(group)))
}

/// Record one department's own part of the result for one drawn institution (admin, or a
/// coordinator of that department; task `drawn`, `published` or `closed`): its outcomes
/// for its own items for the institution's kind, findings, amounts and inspection date.
/// Each change is a new version; changing a published part needs `correction_reason`.
/// Every department of the task enters a part; once all are in, the institution's result
/// is combined from them (the most serious category, amounts summed) as a new result
/// version, and each part is published with it under its department.
#[utoipa::path(put, path = "/api/v1/tasks/{id}/results/{institution_id}/departments/{department}",
    tag = "publication", security(("bearer" = [])), request_body = ResultInput,
    params(("id" = String, Path), ("institution_id" = String, Path), ("department" = String, Path)),
    responses((status = 200, body = InstitutionPart, description = "Unchanged"),
              (status = 201, body = InstitutionPart, description = "A new version"), StepProblems))]
async fn put_part(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, institution, department)): ApiPath<(String, String, String)>,
    ApiJson(input): ApiJson<ResultInput>,
) -> ApiResult<(StatusCode, Json<InstitutionPart>)> {
    let recorded =
        tasks::results::record_part(&state.store, &who, &id, &institution, &department, &input)
            .await?;
    let status = created_or_ok(recorded.created);
    Ok((
        status,
        Json(InstitutionPart::of(institution, department, recorded)),
    ))
}

impl InstitutionPart {
    /// A department's part of a result as recorded, with every version.
    fn of(institution: String, department: String, recorded: tasks::results::PartRecorded) -> Self {
        InstitutionPart {
            institution,
            department,
            versions: recorded
                .versions
                .into_iter()
                .map(|p| {
                    ResultVersion::from(ResultRow {
                        institution_id: p.institution_id,
                        version: p.version,
                        data: p.data,
                        correction_reason: p.correction_reason,
                        recorded_by: p.recorded_by,
                        recorded_at: p.recorded_at,
                        published_at: p.published_at,
                    })
                })
                .collect(),
            combined_version: recorded.combined_version,
            missing_departments: recorded.missing,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedResults {
    /// How many result versions were published by this call.
    pub published: u64,
    /// Drawn institutions still without a published result.
    pub pending: i64,
    pub state: TaskState,
}

/// Publish results: the latest version of every recorded result, or of the listed
/// institutions (lead; task `published` or `closed`). When every drawn institution has a
/// published result, the task is `closed`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/results/publish", tag = "publication",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = PublishResultsInput,
    responses((status = 200, body = PublishedResults), StepProblems))]
async fn publish_results(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    // The body is optional: none, `null` or `{}` publishes every recorded result.
    OptionalJson(input): OptionalJson<PublishResultsInput>,
) -> ApiResult<Json<PublishedResults>> {
    let done = tasks::publish_results(&state.store, &who, &id, &input).await?;
    Ok(Json(PublishedResults {
        published: done.published,
        pending: done.pending,
        state: done.state,
    }))
}

/// The stable result categories with their labels.
pub fn categories() -> Vec<(&'static str, &'static str, &'static str)> {
    ResultCategory::ALL
        .iter()
        .map(|c| (c.code(), c.label_zh(), c.label_en()))
        .collect()
}
