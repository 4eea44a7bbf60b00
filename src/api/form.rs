//! `GET /api/v1/tasks/{id}/selections/{institution_id}/form`: the printable on-site check
//! form (双随机实地核查表) of one drawn institution. The page is assembled by
//! `crate::publication::form` and rendered by `crate::form`.

use super::AppState;
use super::extract::ApiPath;
use super::problems::StepProblems;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::publication::form::check_form as check_page;
use crate::tasks::{self, policy};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(check_form))
}

/// The on-site check form of a drawn institution (coordinators of the task's departments,
/// admins, auditors): a printable A4 HTML page with the task, the institution, one section
/// per department with its items for the institution's kind (outcome checkboxes, notes),
/// the team with its leader, signature lines and a QR code of the task's public page.
/// Print it from a browser (or headless Chromium `--print-to-pdf`) for a PDF.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/selections/{institution_id}/form",
    tag = "publication", security(("bearer" = [])),
    params(("id" = String, Path), ("institution_id" = String, Path)),
    responses((status = 200, description = "The check form (HTML, A4 print CSS)",
               content_type = "text/html", body = String), StepProblems))]
async fn check_form(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, institution)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let task = tasks::get(&state.store, &id).await?;
    policy::form(&who, &task.config)?;
    let public_url = state.publication.public_url();
    let page = check_page(&state.store, &state.calendar, public_url, task, institution).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response())
}
