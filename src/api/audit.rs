//! `/api/v1/audit-log`: the append-only record of every change (全程留痕).

use super::AppState;
use super::extract::{ApiQuery, limit};
use super::problems::WriteProblems;
use crate::auth::{Principal, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::audit::{self, AuditFilter};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit_log))
        .routes(routes!(verify_audit_log))
}

fn require_reader(who: &Principal) -> ApiResult<()> {
    match who.role {
        Role::Admin | Role::Auditor => Ok(()),
        Role::Coordinator => Err(ApiError::Forbidden(
            "the audit log is for admins and auditors".into(),
        )),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// e.g. `task.draw`
    pub action: Option<String>,
    /// Token subject of the actor.
    pub actor: Option<String>,
    /// From `next_cursor` of the previous page (a sequence number).
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// One link of the chain.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor_sub: String,
    pub actor_role: String,
    /// What was done, e.g. `institution.create`, `task.draw`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// SHA-256 of the canonical JSON of the request payload.
    pub payload_sha256: String,
    pub prev_hash: String,
    /// SHA-256 of the canonical JSON of every other field of this entry.
    pub entry_hash: String,
}

impl From<audit::AuditEntry> for AuditEntry {
    fn from(e: audit::AuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            actor_sub: e.actor_sub,
            actor_role: e.actor_role,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            payload_sha256: e.payload_sha256,
            prev_hash: e.prev_hash,
            entry_hash: e.entry_hash,
        }
    }
}

/// The outcome of rechecking the whole chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainReport {
    /// True when every link holds.
    pub ok: bool,
    /// How many entries were checked.
    pub entries: i64,
    /// Hash of the last entry (the chain head).
    pub head: String,
    /// The first broken link, if any; also the first row of current state (a task, a
    /// finding) that contradicts the entries of its object.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

impl From<audit::ChainReport> for ChainReport {
    fn from(r: audit::ChainReport) -> Self {
        Self {
            ok: r.ok,
            entries: r.entries,
            head: r.head,
            first_broken: r.first_broken.map(|b| BrokenLink {
                seq: b.seq,
                reason: b.reason,
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// The store's filter for a page of `limit` entries (one more is read to know if another
/// page follows).
fn audit_filter(q: AuditQuery, limit: i64) -> ApiResult<AuditFilter> {
    let after_seq = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::field("cursor", "not a cursor returned by a previous page"))
        })
        .transpose()?;
    Ok(AuditFilter {
        after_seq,
        object_type: q.object_type,
        object_id: q.object_id,
        action: q.action,
        actor: q.actor,
        limit: limit + 1,
    })
}

/// Audit-log entries in order (admin, auditor).
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit",
    security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = AuditPage), WriteProblems))]
async fn list_audit_log(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    require_reader(&who)?;
    let limit = limit(q.limit)?;
    let filter = audit_filter(q, limit)?;
    let mut entries = state.store.audit_log(&filter).await?;
    let next_cursor = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    let items = entries.into_iter().map(AuditEntry::from).collect();
    Ok(Json(AuditPage { items, next_cursor }))
}

/// Recheck the whole hash chain and report the first broken link (admin, auditor).
#[utoipa::path(get, path = "/api/v1/audit-log/verify", tag = "audit",
    security(("bearer" = [])),
    responses((status = 200, body = ChainReport),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn verify_audit_log(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<ChainReport>> {
    require_reader(&who)?;
    Ok(Json(state.store.verify_audit_chain().await?.into()))
}
