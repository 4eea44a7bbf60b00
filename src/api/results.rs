//! Publishing a task's drawn list, and recording, correcting and publishing its results.

use super::extract::{ApiJson, ApiPath};
use super::registry::check;
use super::tasks::{TaskView, lock, require_lead, require_state};
use crate::app::AppState;
use crate::auth::Principal;
use crate::domain::result::{ResultCategory, ResultInput};
use crate::domain::task::TaskState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::publication::{self, ResultRow};
use crate::store::{audit, tasks as task_store};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
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
    let mut tx = state.store.begin().await?;
    let task = lock(&mut tx, &id).await?;
    require_lead(&who, &task.config)?;
    require_state(&task, &[TaskState::Drawn], "publish the drawn list")?;
    task_store::transition(&mut tx, &id, TaskState::Drawn, TaskState::Published).await?;
    audit::append(
        &mut tx,
        &who.actor(),
        "task.publish",
        "task",
        &id,
        &audit::payload_digest(&id),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(task = %id, "drawn list published");
    Ok(Json(super::tasks::get_view(&state, &id).await?))
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
            }),
        }
    }
    out
}

/// Every result of a task with every version (published or not).
#[utoipa::path(get, path = "/api/v1/tasks/{id}/results", tag = "publication",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ResultList),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn list_results(
    State(state): State<AppState>,
    _who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ResultList>> {
    task_store::get(state.store.pool(), &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no task with id {id}")))?;
    let rows = publication::results(state.store.pool(), &id).await?;
    Ok(Json(ResultList { items: group(rows) }))
}

/// Record the result for one drawn institution (lead; task `drawn`, `published` or
/// `closed`). Each change is a new version; changing a published result needs
/// `correction_reason`, and the earlier versions stay visible.
#[utoipa::path(put, path = "/api/v1/tasks/{id}/results/{institution_id}", tag = "publication",
    security(("bearer" = [])), request_body = ResultInput,
    params(("id" = String, Path), ("institution_id" = String, Path)),
    responses((status = 200, body = InstitutionResults, description = "Unchanged"),
              (status = 201, body = InstitutionResults, description = "A new version"),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn put_result(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, institution)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<ResultInput>,
) -> ApiResult<(StatusCode, Json<InstitutionResults>)> {
    let mut tx = state.store.begin().await?;
    let task = lock(&mut tx, &id).await?;
    require_lead(&who, &task.config)?;
    require_state(
        &task,
        &[TaskState::Drawn, TaskState::Published, TaskState::Closed],
        "record a result",
    )?;
    if !publication::is_selected(&mut *tx, &id, &institution).await? {
        return Err(ApiError::NotFound(format!(
            "institution {institution} was not drawn in task {id}"
        )));
    }
    check(input.validate(&task.config.items, task.config.inspection_start))?;
    let latest = publication::latest_result(&mut tx, &id, &institution).await?;
    let status = match &latest {
        Some(l) if l.data == input.content() => StatusCode::OK,
        Some(l) => {
            if l.published_at.is_some() && input.correction_reason.is_none() {
                return Err(ApiError::field(
                    "correction_reason",
                    format!(
                        "version {} is published; a correction needs a reason, and both versions stay visible",
                        l.version
                    ),
                ));
            }
            let version = l.version + 1;
            publication::insert_result(&mut tx, &id, &institution, version, &input, &who.actor())
                .await?;
            StatusCode::CREATED
        }
        None => {
            publication::insert_result(&mut tx, &id, &institution, 1, &input, &who.actor()).await?;
            StatusCode::CREATED
        }
    };
    if status == StatusCode::CREATED {
        audit::append(
            &mut tx,
            &who.actor(),
            "result.record",
            "task",
            &id,
            &audit::payload_digest(&(&institution, &input)),
        )
        .await?;
    }
    tx.commit().await?;
    let rows: Vec<ResultRow> = publication::results(state.store.pool(), &id)
        .await?
        .into_iter()
        .filter(|r| r.institution_id == institution)
        .collect();
    let group = group(rows).pop().expect("a result was just recorded");
    Ok((status, Json(group)))
}

/// Which results to publish; all when absent or empty.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishResultsInput {
    #[serde(default)]
    pub institutions: Vec<String>,
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
    responses((status = 200, body = PublishedResults),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn publish_results(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    request: axum::extract::Request,
) -> ApiResult<Json<PublishedResults>> {
    // The body is optional: none, `null` or `{}` publishes every recorded result.
    let has_body = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .is_some_and(|v| v != "0")
        || request
            .headers()
            .contains_key(axum::http::header::TRANSFER_ENCODING);
    let input = if has_body {
        use axum::extract::FromRequest;
        let ApiJson(b) = ApiJson::<Option<PublishResultsInput>>::from_request(request, &()).await?;
        b.unwrap_or_default()
    } else {
        PublishResultsInput::default()
    };
    let mut tx = state.store.begin().await?;
    let task = lock(&mut tx, &id).await?;
    require_lead(&who, &task.config)?;
    require_state(
        &task,
        &[TaskState::Published, TaskState::Closed],
        "publish results (publish the drawn list first)",
    )?;
    for (i, inst) in input.institutions.iter().enumerate() {
        if !publication::is_selected(&mut *tx, &id, inst).await? {
            return Err(ApiError::field(
                format!("institutions[{i}]"),
                format!("{inst} was not drawn in this task"),
            ));
        }
    }
    let published = publication::publish_results(&mut tx, &id, &input.institutions).await?;
    let pending = publication::unpublished_count(&mut *tx, &id).await?;
    let mut new_state = task.state;
    if pending == 0 && task.state == TaskState::Published {
        task_store::transition(&mut tx, &id, TaskState::Published, TaskState::Closed).await?;
        new_state = TaskState::Closed;
    }
    if published > 0 {
        audit::append(
            &mut tx,
            &who.actor(),
            "result.publish",
            "task",
            &id,
            &audit::payload_digest(&input),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Json(PublishedResults {
        published,
        pending,
        state: new_state,
    }))
}

/// The stable result categories with their labels.
pub fn categories() -> Vec<(&'static str, &'static str, &'static str)> {
    ResultCategory::ALL
        .iter()
        .map(|c| (c.code(), c.label_zh(), c.label_en()))
        .collect()
}
