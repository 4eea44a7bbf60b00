//! `/api/v1/webhooks`: subscriptions to lifecycle events and their delivery log.

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, cursor, limit};
use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::store::webhooks::DeliveryRow;
use crate::webhooks::{self, Webhook, WebhookInput};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(list_deliveries))
}

#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum Problems {
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

/// Subscribe to lifecycle events (admin, or a coordinator for its own department's tasks).
///
/// Each `seal`, `draw`, `publish`, `replacement` or `results.publish` of a covered task
/// POSTs `{event, task_id, occurred_at, delivery_id, webhook_id, task_url}` as JSON to
/// `url`, with headers `X-Suiji-Event`, `X-Suiji-Delivery`, `X-Suiji-Timestamp` (Unix
/// seconds) and `X-Suiji-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with
/// the secret>`. Any 2xx answer is success; otherwise it is retried with exponential
/// backoff (`SUIJI_WEBHOOK_RETRY`, default 10 s, doubled each time), 8 attempts at most.
/// URLs are trusted as given (the server connects to internal hosts too); only http and
/// https are accepted, and this build sends over plain http unless built with the
/// `webhooks-tls` feature. The secret is shown only in this answer.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "tasks",
    security(("bearer" = [])), request_body = WebhookInput,
    responses((status = 201, body = Webhook, description = "Created; `secret` is shown this once"), Problems))]
async fn create_webhook(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult<(StatusCode, Json<Webhook>)> {
    let hook = webhooks::create(&state.store, &who, &input).await?;
    Ok((StatusCode::CREATED, Json(hook)))
}

/// The live subscriptions: all for admins and auditors, a coordinator's department's.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "tasks",
    security(("bearer" = [])),
    responses((status = 200, body = WebhookList), Problems))]
async fn list_webhooks(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<WebhookList>> {
    Ok(Json(WebhookList {
        items: webhooks::list(&state.store, &who).await?,
    }))
}

/// Delete a subscription (admin, or a coordinator of its department; audited). Its
/// delivery log stays readable; pending deliveries are not sent.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), Problems))]
async fn delete_webhook(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    webhooks::delete(&state.store, &who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Deliveries per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// One attempt to deliver.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i64,
    pub at: String,
    /// The receiver's HTTP status; null when nothing was answered.
    pub status_code: Option<i64>,
    /// Why the attempt failed; null on success.
    pub error: Option<String>,
}

/// A delivery and every attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event: String,
    pub task_id: String,
    pub occurred_at: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// When a pending delivery is tried next.
    pub next_attempt_at: String,
    pub delivered_at: Option<String>,
    pub log: Vec<AttemptView>,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(d: DeliveryRow) -> Self {
        Self {
            id: d.id,
            event: d.event,
            task_id: d.task_id,
            occurred_at: d.occurred_at,
            state: d.state,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
            log: d
                .log
                .into_iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    at: a.at,
                    status_code: a.status_code,
                    error: a.error,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

/// A subscription's deliveries, newest first, each with every attempt (admin, auditor,
/// or a coordinator of its department).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "tasks",
    security(("bearer" = [])), params(("id" = String, Path), DeliveryQuery),
    responses((status = 200, body = DeliveryList), Problems))]
async fn list_deliveries(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<DeliveryList>> {
    webhooks::managed(&state.store, &who, &id, false).await?;
    let (rows, next_cursor) = state
        .store
        .deliveries(&id, cursor(q.cursor)?, limit(q.limit)?)
        .await?;
    Ok(Json(DeliveryList {
        items: rows.into_iter().map(DeliveryView::from).collect(),
        next_cursor,
    }))
}
