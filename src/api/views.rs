//! The coordinator's view of a task and the verifiable bundle as HTTP answers, for the
//! task, plan, result and form endpoints, and a result's evidence as listed. Not a
//! resource: the view itself is built by the read model
//! (`crate::publication::coordinator`); this module only adapts it.

use super::AppState;
use crate::domain::task::TaskInput;
use crate::error::ApiResult;
use crate::store::evidence::EvidenceRow;
use crate::store::tasks::TaskRow;
use crate::tasks;
use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::publication::coordinator::{
    EntropyStatus, MemberView, ReplacementView, SelectionView, TaskView, TeamView, TrustView,
    Words, current_selections,
};

/// The disclosure deadlines of a task: one type, shared with the public read model.
pub use crate::publication::Deadlines;

/// Computes a task's deadlines on the loaded calendar; never guesses past it.
pub fn deadlines(state: &AppState, cfg: &TaskInput) -> Deadlines {
    crate::publication::deadlines(&state.calendar.read().expect("calendar lock"), cfg)
}

/// The answer to a call that created a task (a joint task, or a plan's round): 201, its
/// `Location`, and the coordinator's view.
pub async fn created_task(state: &AppState, task: TaskRow) -> ApiResult<Response> {
    let location = format!("/api/v1/tasks/{}", task.id);
    let body = view(state, task).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// The coordinator's view of `task`.
pub async fn view(state: &AppState, task: TaskRow) -> ApiResult<TaskView> {
    crate::publication::coordinator::view(&state.store, &state.calendar, task).await
}

/// The full view of a task by id.
pub async fn get_view(state: &AppState, id: &str) -> ApiResult<TaskView> {
    let task = tasks::get(&state.store, id).await?;
    view(state, task).await
}

/// The coordinator's view of a task a lifecycle step answered.
pub async fn task_view(state: &AppState, task: TaskRow) -> ApiResult<Json<TaskView>> {
    Ok(Json(view(state, task).await?))
}

/// The canonical JSON bundle of a draw, as a response anyone can verify offline.
pub async fn bundle_response(state: &AppState, task: &TaskRow) -> ApiResult<Response> {
    let bytes = tasks::bundle(&state.store, task).await?;
    let disposition = format!("inline; filename=\"suiji-{}-bundle.json\"", task.id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// One piece of evidence as listed with a result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceView {
    pub institution: String,
    /// Hex SHA-256 of the bytes: the evidence's name in storage, in its download URL and
    /// in the audit entry of its upload.
    pub sha256: String,
    pub size: i64,
    /// `image/jpeg`, `image/png` or `application/pdf`, as checked against the bytes.
    pub media_type: String,
    pub filename: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
    /// Where an authorized reader downloads it.
    pub href: String,
}

impl From<EvidenceRow> for EvidenceView {
    fn from(r: EvidenceRow) -> Self {
        Self {
            href: format!(
                "/api/v1/tasks/{}/results/{}/evidence/{}",
                r.task_id, r.institution_id, r.sha256
            ),
            institution: r.institution_id,
            sha256: r.sha256,
            size: r.size,
            media_type: r.media_type,
            filename: r.filename,
            uploaded_by: r.uploaded_by,
            uploaded_at: r.uploaded_at,
        }
    }
}
