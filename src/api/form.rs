//! `GET /api/v1/tasks/{id}/selections/{institution_id}/form`: the printable on-site check
//! form (双随机实地核查表) of one drawn institution. The page comes from `crate::form`.

use super::AppState;
use super::extract::ApiPath;
use super::problems::StepProblems;
use super::registry::fetch;
use super::views::task_view;
use crate::auth::Principal;
use crate::domain::registry::InstitutionInput;
use crate::error::{ApiError, ApiResult};
use crate::form::{self, CheckForm, FormItem, FormMember, FormSection};
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
    let cfg = task.config.clone();
    let view = task_view(&state, task).await?.0;
    let Some(selection) = view
        .selections
        .into_iter()
        .find(|s| s.institution == institution)
    else {
        return Err(ApiError::NotFound(format!(
            "institution {institution} was not drawn in task {id}"
        )));
    };
    let inst = fetch::<InstitutionInput>(&state, &institution).await?.data;
    let items = tasks::results::form_items(&state.store, &cfg, inst.kind.as_str()).await?;
    let names = state.store.departments().await?;
    let name_of = |code: &str| {
        names
            .iter()
            .find(|d| d.data.code.as_str() == code)
            .map_or(code.to_string(), |d| d.data.name_zh.clone())
    };
    let sections = cfg
        .departments
        .iter()
        .map(|d| {
            let code = d.code.as_str();
            let members = selection
                .team
                .iter()
                .filter(|t| t.department == code)
                .flat_map(|t| t.members.iter())
                .map(|m| FormMember {
                    name: m.name.clone(),
                    certificate_no: m.certificate_no.clone(),
                    leader: selection.leader.as_deref() == Some(m.id.as_str()),
                })
                .collect();
            FormSection {
                department: code.to_string(),
                department_name: name_of(code),
                lead: d.code == cfg.lead_department,
                items: items
                    .iter()
                    .filter(|i| i.department == code)
                    .map(|i| FormItem {
                        code: i.code.clone(),
                        title: i.title.clone(),
                        legal_basis: i.legal_basis.clone(),
                    })
                    .collect(),
                members,
            }
        })
        .collect();
    let public_url = format!("{}/tasks/{id}", state.publication.public_url());
    let page = form::render(&CheckForm {
        task_title: cfg.title.clone(),
        inspection_start: cfg.inspection_start.to_string(),
        inspection_end: cfg.inspection_end.to_string(),
        institution_id: institution,
        institution_name: inst.name,
        credit_code: inst.credit_code.to_string(),
        address: inst.address,
        institution_kind_zh: inst.kind.label_zh().to_string(),
        sections,
        qr_svg: form::qr_svg(&public_url),
        public_url,
        task_id: id,
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response())
}
