//! Publishing a task's drawn list, and recording, correcting and publishing its results.

use super::AppState;
use super::extract::{ApiJson, ApiPath, OptionalJson, Reader};
use super::problems::{ReadOne, StepProblems};
use super::views::{TaskView, task_view};
use crate::auth::Principal;
use crate::domain::result::{ResultCategory, ResultInput};
use crate::domain::task::TaskState;
use crate::error::{ApiResult, Problem};
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
    /// The evidence attached to this result (listing only, and only for its readers:
    /// admins, auditors, coordinators of the task's departments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Vec<super::evidence::EvidenceView>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultList {
    pub items: Vec<InstitutionResults>,
}

fn group(rows: Vec<ResultRow>) -> Vec<InstitutionResults> {
    let mut out: Vec<InstitutionResults> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some(g) if g.institution == r.institution_id => g.versions.push(r.into()),
            _ => out.push(InstitutionResults {
                institution: r.institution_id.clone(),
                versions: vec![r.into()],
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
    let mut items = group(rows);
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
    let status = if recorded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let group = group(recorded.versions)
        .pop()
        .expect("a result was just recorded");
    Ok((status, Json(group)))
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
