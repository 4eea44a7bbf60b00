//! `/public/v1`: what suiji-draw/2 makes public before any randomness exists: a sealed
//! task's announcement (pool hash, strata sizes, commitments, reveal deadline, beacon
//! round; a task cancelled after sealing stays here with its reason), and the audit
//! chain's head with the anchors published at every seal, draw and publication.
//! Served fresh (no cache): they change with every lifecycle step.

use super::AppState;
use super::extract::ApiPath;
use super::problems::PublicNotFound;
use crate::error::{ApiError, ApiResult};
use crate::tasks::{self, Announcement};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(announcement))
        .routes(routes!(audit_head))
}

fn fresh<T: Serialize>(value: T) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(value),
    )
        .into_response()
}

/// A sealed task's announcement, public from sealing on (also after a cancellation).
#[utoipa::path(get, path = "/public/v1/tasks/{id}/announcement", tag = "public",
    params(("id" = String, Path)),
    responses((status = 200, body = Announcement), PublicNotFound))]
async fn announcement(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let a = tasks::announcement(&state.store, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no sealed task with this id".into()))?;
    Ok(fresh(a))
}

/// One published head of the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnchorView {
    pub seq: i64,
    pub hash: String,
    /// `task.seal`, `task.draw` or `task.publish`.
    pub action: String,
    /// The task, when it may be named in public (a /2 task from its seal on; a /1 task
    /// once published); otherwise null.
    pub task_id: Option<String>,
    pub at: String,
    /// `SEQ:HASH`, as `suiji audit verify --anchor` takes it.
    pub anchor: String,
}

/// The audit chain's head now, and the latest anchors.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
    /// `SEQ:HASH` of the head now.
    pub anchor: String,
    /// Heads published at seals, draws and publications, newest first (at most 100).
    pub anchors: Vec<AnchorView>,
}

/// The audit chain's head and its published anchors: save one, and `suiji audit verify
/// --anchor SEQ:HASH` shows any later rewrite of history.
#[utoipa::path(get, path = "/public/v1/audit/head", tag = "public",
    responses((status = 200, body = AuditHead)))]
async fn audit_head(State(state): State<AppState>) -> ApiResult<Response> {
    let ((seq, hash), anchors) = tasks::audit_anchors(&state.store, 100).await?;
    Ok(fresh(AuditHead {
        anchor: format!("{seq}:{hash}"),
        seq,
        hash,
        anchors: anchors
            .into_iter()
            .map(|a| AnchorView {
                anchor: format!("{}:{}", a.seq, a.hash),
                seq: a.seq,
                hash: a.hash,
                action: a.action,
                task_id: a.task_public.then_some(a.task_id),
                at: a.at,
            })
            .collect(),
    }))
}
