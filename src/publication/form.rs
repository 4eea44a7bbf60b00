//! The on-site check form of one drawn institution, assembled from the coordinator's view
//! of the task, the institution's record, the task's items and the department names; the
//! page itself is rendered by the pure `crate::form`.

use super::coordinator::{self, SelectionView};
use crate::domain::calendar::Calendar;
use crate::domain::registry::InstitutionInput;
use crate::domain::task::TaskInput;
use crate::error::{ApiError, ApiResult};
use crate::form::{self, CheckForm, FormItem, FormMember, FormSection};
use crate::store::Store;
use crate::store::tasks::TaskRow;
use crate::tasks;
use std::sync::RwLock;

/// The printable check form (HTML) of `institution` in `task`; not found when it was not
/// drawn. `public_url` is the portal's base address, for the QR code.
pub async fn check_form(
    db: &Store,
    calendar: &RwLock<Calendar>,
    public_url: &str,
    task: TaskRow,
    institution: String,
) -> ApiResult<String> {
    let id = task.id.clone();
    let cfg = task.config.clone();
    let view = coordinator::view(db, calendar, task).await?;
    let Some(selection) = view
        .selections
        .into_iter()
        .find(|s| s.institution == institution)
    else {
        return Err(ApiError::NotFound(format!(
            "institution {institution} was not drawn in task {id}"
        )));
    };
    let inst = db
        .record::<InstitutionInput>(&institution)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no institution with id {institution}")))?
        .data;
    let items = tasks::results::form_items(db, &cfg, inst.kind.as_str()).await?;
    let names = db.departments().await?;
    let name_of = |code: &str| {
        names
            .iter()
            .find(|d| d.data.code.as_str() == code)
            .map_or(code.to_string(), |d| d.data.name_zh.clone())
    };
    let sections = sections(&cfg, &selection, &items, name_of);
    let public_url = format!("{public_url}/tasks/{id}");
    Ok(form::render(&CheckForm {
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
    }))
}

/// One section per department of the task: its items and its members of the team.
fn sections(
    cfg: &TaskInput,
    selection: &SelectionView,
    items: &[crate::store::parts::ItemCard],
    name_of: impl Fn(&str) -> String,
) -> Vec<FormSection> {
    cfg.departments
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
        .collect()
}
