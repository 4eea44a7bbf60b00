//! Operations: liveness, readiness and the API description.

use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi_yaml))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the database cannot be reached.
    pub status: String,
    /// DEMO ONLY: the time the task lifecycle reads when the server runs on a simulated
    /// clock (`suiji serve --simulated-clock`); absent in service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulated_clock: Option<String>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let clock = state.store.clock();
    Json(Health {
        status: "ok".into(),
        simulated_clock: clock.is_simulated().then(|| clock.now().to_rfc3339()),
    })
}

/// The database is reachable.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok".into(),
                simulated_clock: None,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable".into(),
                    simulated_clock: None,
                }),
            )
        }
    }
}

/// This API description (OpenAPI 3.1, YAML).
#[utoipa::path(get, path = "/openapi.yaml", tag = "ops",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/yaml", body = String)))]
async fn openapi_yaml(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        state.openapi_yaml.to_string(),
    )
}
