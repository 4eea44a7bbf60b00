//! Who may do what to a task, in one place.

use super::TaskError;
use crate::auth::{Principal, Role};
use crate::domain::DepartmentCode;
use crate::domain::filter::RegionPrefix;
use crate::domain::task::TaskInput;

/// Admins, or a coordinator of the task's lead department whose organization governs the
/// task's organization (the same one, or one above it: a city leads its counties' tasks):
/// create, seal, draw, cancel, publish, record and publish results, reveal a beacon.
pub fn lead(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    lead_department(who, task)?;
    governs(who, task)
}

/// [`lead`], and a cross-region task of a county (it takes the inspectors of the *other*
/// counties) is assigned by the level above, as 医疗保障基金使用监督管理条例 art. 26 wants:
/// a county's own coordinator cannot create one, its city (or the province) does; the
/// county then runs it.
pub fn create(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    lead(who, task)?;
    let region = task.organization_region.as_deref().unwrap_or("");
    match &who.organization {
        Some(o) if task.cross_region && region.len() == 6 && o.region_prefix.len() == 6 => {
            Err(TaskError::Forbidden(format!(
                "a cross-county task of county {region} is assigned by the level above: a coordinator of the city's or the province's organization creates it, not {}",
                o.code
            )))
        }
        _ => Ok(()),
    }
}

/// Admins, or a coordinator of the task's lead department, whatever its organization (the
/// first check of creating a task, before its organization is known).
pub fn lead_department(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    if department(who, &task.lead_department).is_err() {
        return Err(TaskError::Forbidden(format!(
            "only an admin or a coordinator of the lead department {} may do this",
            task.lead_department
        )));
    }
    Ok(())
}

/// Whether the caller's organization's region contains the task's organization's region.
/// Tasks created before organizations belong to the default organization (everywhere).
fn governs(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    let region = task.organization_region.as_deref().unwrap_or("");
    match &who.organization {
        Some(o) if !o.covers_prefix(region) => Err(TaskError::Forbidden(format!(
            "organization {} (region {}) does not govern the task's organization {} (region {})",
            o.code,
            o.region_prefix,
            task.organization
                .as_deref()
                .unwrap_or(task.lead_department.as_str()),
            if region.is_empty() {
                "everywhere"
            } else {
                region
            }
        ))),
        _ => Ok(()),
    }
}

/// Admins, or a coordinator of `code` whose organization governs the task's region: a
/// participating department's steps on a task (reveal its secret, enter its part, replace
/// its inspector). The call the other task modules use for "this department, this task".
pub fn may_act_for_department_in(
    who: &Principal,
    task: &TaskInput,
    code: &DepartmentCode,
) -> Result<(), TaskError> {
    department(who, code)?;
    governs(who, task)
}

/// Admins, or a coordinator (of any department) whose organization's region contains
/// `region`: register or change an institution there. Institutions are shared by the
/// departments, so only the region matters.
pub fn may_write_institution(who: &Principal, region: &str) -> Result<(), TaskError> {
    who.require_region(region, "an institution")
        .map_err(|e| TaskError::Forbidden(e.to_string()))
}

/// Admins, or a coordinator of the inspector's department whose organization's region
/// contains the inspector's region.
pub fn may_write_inspector(
    who: &Principal,
    department_code: &DepartmentCode,
    region: &str,
) -> Result<(), TaskError> {
    department(who, department_code)?;
    who.require_region(region, "an inspector")
        .map_err(|e| TaskError::Forbidden(e.to_string()))
}

/// Admins, or a coordinator of `code`: reveal the department's secret.
pub fn department(who: &Principal, code: &DepartmentCode) -> Result<(), TaskError> {
    match (&who.role, &who.department) {
        (Role::Admin, _) => Ok(()),
        (Role::Coordinator, Some(d)) if d == code => Ok(()),
        (Role::Auditor, _) => Err(TaskError::Forbidden(
            "auditors have read-only access".into(),
        )),
        (_, own) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} cannot act for department {code}",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
    }
}

/// Only the department's own coordinator commits to its secret (an admin must not know
/// it).
pub fn commit(who: &Principal, code: &DepartmentCode) -> Result<(), TaskError> {
    if who.role == Role::Coordinator && who.department.as_ref() == Some(code) {
        Ok(())
    } else {
        Err(TaskError::Forbidden(format!(
            "only a coordinator of {code} may commit for department:{code}"
        )))
    }
}

/// [`commit`] for a task: also the caller's organization must govern the task's.
pub fn commit_in(
    who: &Principal,
    task: &TaskInput,
    code: &DepartmentCode,
) -> Result<(), TaskError> {
    commit(who, code)?;
    governs(who, task)
}

/// The lead, or a coordinator of the team's department: replace an inspector.
pub fn replace(who: &Principal, task: &TaskInput, team: &str) -> Result<(), TaskError> {
    if lead(who, task).is_ok() {
        return Ok(());
    }
    match DepartmentCode::parse(team) {
        Ok(code) => may_act_for_department_in(who, task, &code),
        Err(_) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} cannot act for department {team}",
            who.department
                .as_ref()
                .map_or("no department", |d| d.as_str())
        ))),
    }
}

/// The region prefixes a registry listing (or export) of `who` filters by: the ones asked
/// for, narrowed to the caller's organization's region. When nothing asked for lies in
/// it, the listing is empty: the prefix `00` (no province has it) matches nothing.
pub fn scoped_prefixes(who: &Principal, asked: &[RegionPrefix]) -> Vec<RegionPrefix> {
    match crate::domain::organization::restrict_prefixes(asked, who.region_scope()) {
        Some(p) => p,
        None => vec![RegionPrefix::validated("00".to_string())],
    }
}

/// Admins and auditors read every record; a coordinator those in its organization's
/// region and below (a city reads its counties'): reading `what` in `region`.
pub fn may_read_region(who: &Principal, region: &str, what: &str) -> Result<(), TaskError> {
    match &who.organization {
        Some(o) if !o.covers_region(region) => Err(TaskError::Forbidden(format!(
            "organization {} governs region {}: {what} in region {region} is outside it",
            o.code, o.region_prefix
        ))),
        _ => Ok(()),
    }
}

/// Admins, or a coordinator of `code` whose organization governs the task's region:
/// enter that department's own part of a joint inspection's result (谁检查、谁录入).
pub fn part(who: &Principal, task: &TaskInput, code: &DepartmentCode) -> Result<(), TaskError> {
    may_act_for_department_in(who, task, code)
}

/// Admins, auditors, and coordinators of one of the task's departments whose
/// organization governs the task's region: print the check form (双随机实地核查表) of a
/// drawn institution.
pub fn form(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    match (&who.role, &who.department) {
        (Role::Admin | Role::Auditor, _) => Ok(()),
        (Role::Coordinator, Some(d)) if task.departments.iter().any(|t| &t.code == d) => {
            governs(who, task)
        }
        (_, own) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} does not take part in this task",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
    }
}

/// Whether the task lies in the caller's jurisdiction (its organization's region contains
/// the task's); always for admins, auditors and tokens without an organization. The inbox
/// shows a coordinator only these.
pub fn in_jurisdiction(who: &Principal, task: &TaskInput) -> bool {
    governs(who, task).is_ok()
}

/// Whether `code` is the task's lead or one of its participating departments.
fn takes_part(task: &TaskInput, code: &DepartmentCode) -> bool {
    &task.lead_department == code || task.departments.iter().any(|d| &d.code == code)
}

/// Admins, or a coordinator of the lead or of a participating department: attach evidence
/// to a drawn institution's result (谁检查、谁录入).
pub fn upload_evidence(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    match (&who.role, &who.department) {
        (Role::Admin, _) => Ok(()),
        (Role::Coordinator, Some(d)) if takes_part(task, d) => governs(who, task),
        (Role::Auditor, _) => Err(TaskError::Forbidden(
            "auditors have read-only access".into(),
        )),
        (_, own) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} takes no part in this task; only its departments' coordinators or an admin may attach evidence",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
    }
}

/// Admins, auditors, or a coordinator of the lead or of a participating department: read
/// a task's evidence (never public).
pub fn read_evidence(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    match (&who.role, &who.department) {
        (Role::Admin | Role::Auditor, _) => Ok(()),
        (Role::Coordinator, Some(d)) if takes_part(task, d) => governs(who, task),
        (_, own) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} takes no part in this task and may not read its evidence",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
    }
}

/// The department whose inbox the caller reads: a coordinator's own (asking for another
/// is refused); admins and auditors name one.
pub fn inbox_department(
    who: &Principal,
    asked: Option<DepartmentCode>,
) -> Result<DepartmentCode, TaskError> {
    match (&who.role, &who.department, asked) {
        (Role::Coordinator, Some(own), None) => Ok(own.clone()),
        (Role::Coordinator, Some(own), Some(a)) if &a == own => Ok(a),
        (Role::Coordinator, own, Some(a)) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} cannot read the inbox of {a}",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
        (_, _, Some(a)) => Ok(a),
        (_, _, None) => Err(TaskError::field(
            "department",
            "admins and auditors name the department whose inbox they read",
        )),
    }
}

/// The department a new webhook covers: a coordinator's own (another is refused); an
/// admin's choice, or every task (`None`). Auditors only read.
pub fn webhook_department(
    who: &Principal,
    asked: Option<DepartmentCode>,
) -> Result<Option<DepartmentCode>, TaskError> {
    match (&who.role, &who.department, asked) {
        (Role::Admin, _, asked) => Ok(asked),
        (Role::Coordinator, Some(own), None) => Ok(Some(own.clone())),
        (Role::Coordinator, Some(own), Some(a)) if &a == own => Ok(Some(a)),
        (Role::Coordinator, own, Some(a)) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} cannot subscribe for department {a}",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
        (Role::Coordinator, None, None) => Err(TaskError::Forbidden(
            "a coordinator without a department cannot subscribe".into(),
        )),
        (Role::Auditor, _, _) => Err(TaskError::Forbidden(
            "auditors have read-only access".into(),
        )),
    }
}

/// Admins, or a coordinator of the webhook's department: delete it, read its deliveries.
pub fn manage_webhook(who: &Principal, department: Option<&str>) -> Result<(), TaskError> {
    match (&who.role, &who.department, department) {
        (Role::Admin, _, _) => Ok(()),
        (Role::Coordinator, Some(own), Some(d)) if own.as_str() == d => Ok(()),
        _ => Err(TaskError::Forbidden(format!(
            "only an admin{} may manage this webhook",
            department.map_or(String::new(), |d| format!(" or a coordinator of {d}"))
        ))),
    }
}

/// Auditors too, besides those who manage it: read a webhook's delivery log.
pub fn read_webhook(who: &Principal, department: Option<&str>) -> Result<(), TaskError> {
    if who.role == Role::Auditor {
        Ok(())
    } else {
        manage_webhook(who, department)
    }
}

/// Admins, or a coordinator of the plan's lead department: create, edit, publish and amend
/// an annual plan, and create its round tasks.
pub fn plan_lead(who: &Principal, lead: &DepartmentCode) -> Result<(), TaskError> {
    department(who, lead).map_err(|_| {
        TaskError::Forbidden(format!(
            "only an admin or a coordinator of the plan's lead department {lead} may do this"
        ))
    })
}

/// [`plan_lead`], and the caller's organization governs the plan's organization (the same
/// one, or one above it: a city writes its counties' plans); plans written before plans
/// had organizations belong to the lead department's default organization (everywhere).
/// A cross-county plan of a county is assigned by the level above, as a cross-county task
/// is ([`create`]). Edit, publish, amend a plan and create its rounds' tasks.
pub fn plan(who: &Principal, plan: &crate::domain::plan::PlanInput) -> Result<(), TaskError> {
    plan_lead(who, &plan.lead_department)?;
    let region = plan.organization_region.as_deref().unwrap_or("");
    match &who.organization {
        Some(o) if !o.covers_prefix(region) => Err(TaskError::Forbidden(format!(
            "organization {} (region {}) does not govern the plan's organization {} (region {})",
            o.code,
            o.region_prefix,
            plan.organization
                .as_deref()
                .unwrap_or(plan.lead_department.as_str()),
            if region.is_empty() {
                "everywhere"
            } else {
                region
            }
        ))),
        Some(o) if plan.cross_region && region.len() == 6 && o.region_prefix.len() == 6 => {
            Err(TaskError::Forbidden(format!(
                "a cross-county plan of county {region} is assigned by the level above: a coordinator of the city's or the province's organization writes it, not {}",
                o.code
            )))
        }
        _ => Ok(()),
    }
}

/// Record lists (issue 14): admins and coordinators upload them; auditors only read.
pub fn upload_list(who: &Principal) -> Result<(), TaskError> {
    match who.role {
        Role::Admin | Role::Coordinator => Ok(()),
        Role::Auditor => Err(TaskError::Forbidden(
            "auditors have read-only access: only an admin or a coordinator uploads a list".into(),
        )),
    }
}

/// Deriving a list from lists (a top-N ranking, an intersection; issue 14 B.17): whoever
/// may upload a list.
pub fn derive_list(who: &Principal) -> Result<(), TaskError> {
    upload_list(who)
}

/// Deleting an unused list: an admin, or a coordinator of the organization that uploaded
/// it.
pub fn delete_list(who: &Principal, organization: Option<&str>) -> Result<(), TaskError> {
    upload_list(who)?;
    if who.role == Role::Admin || who.organization_code().as_deref() == organization {
        Ok(())
    } else {
        Err(TaskError::Forbidden(format!(
            "only an admin or a coordinator of organization {} (which uploaded the list) may delete it",
            organization.unwrap_or("?")
        )))
    }
}

/// A list's salt (which turns the member hashes of a public bundle back into records for
/// whoever holds the list): admins and auditors only.
pub fn read_list_salt(who: &Principal) -> Result<(), TaskError> {
    match who.role {
        Role::Admin | Role::Auditor => Ok(()),
        Role::Coordinator => Err(TaskError::Forbidden(
            "a list's salt is revealed to admins and auditors only".into(),
        )),
    }
}

/// Admins, auditors, or a coordinator of the lead or of a participating department of a
/// re-check whose organization governs it: read the re-check's comparison report.
pub fn read_recheck(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    match (&who.role, &who.department) {
        (Role::Admin | Role::Auditor, _) => Ok(()),
        (Role::Coordinator, Some(d)) if takes_part(task, d) => governs(who, task),
        (_, own) => Err(TaskError::Forbidden(format!(
            "a coordinator of {} takes no part in this re-check and may not read its report",
            own.as_ref().map_or("no department", |d| d.as_str())
        ))),
    }
}

/// Issue 15: the task's lead (as for results): order and follow a rectification, record
/// the institution's plan and completion on its behalf, verify it, refer the case, report
/// a major case.
pub fn rectify(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    lead(who, task)
}

/// Admins only (settings such as the major-case rule).
pub fn admin_only(who: &Principal, what: &str) -> Result<(), TaskError> {
    if who.role == Role::Admin {
        Ok(())
    } else {
        Err(TaskError::Forbidden(format!("only an admin may {what}")))
    }
}

/// Issue 15: submit an organization's monthly statistics: admins, or a coordinator of
/// that organization (a county submits its own report; the city aggregates).
pub fn submit_statistics(who: &Principal, organization: &str) -> Result<(), TaskError> {
    match (&who.role, who.organization_code()) {
        (Role::Admin, _) => Ok(()),
        (Role::Coordinator, Some(o)) if o == organization => Ok(()),
        _ => Err(TaskError::Forbidden(format!(
            "only a coordinator of organization {organization} (or an admin) submits its monthly report"
        ))),
    }
}

/// Issue 15 part 4: handle a clue of the ledger (receive, assign, investigate, answer,
/// close, turn into a targeted inspection): admins; a coordinator of the owning
/// department whose organization governs the owning organization's region (the
/// organization itself or one above it); or, once assigned, a coordinator of the assigned
/// organization's department governing its region. `owner` and `assigned` are
/// `(department, region prefix)`.
pub fn handle_clue(
    who: &Principal,
    owner: (&str, &str),
    assigned: Option<(&str, &str)>,
) -> Result<(), TaskError> {
    let may = |(dept, region): (&str, &str)| match (&who.role, &who.department) {
        (Role::Admin, _) => true,
        (Role::Coordinator, Some(d)) if d.as_str() == dept => who
            .organization
            .as_ref()
            .is_none_or(|o| o.covers_prefix(region)),
        _ => false,
    };
    if who.role == Role::Auditor {
        return Err(TaskError::Forbidden(
            "auditors have read-only access to the clue ledger".into(),
        ));
    }
    if may(owner) || assigned.is_some_and(may) {
        Ok(())
    } else {
        Err(TaskError::Forbidden(format!(
            "only a coordinator of {} governing region {} (or of the organization it is assigned to) handles this clue",
            owner.0,
            if owner.1.is_empty() {
                "everywhere"
            } else {
                owner.1
            }
        )))
    }
}

/// Issue 15 part 4: receive a clue into a ledger: admins and coordinators (auditors
/// only read); which ledger is checked by [`handle_clue`].
pub fn receive_clue(who: &Principal) -> Result<(), TaskError> {
    match who.role {
        Role::Admin | Role::Coordinator => Ok(()),
        Role::Auditor => Err(TaskError::Forbidden(
            "auditors have read-only access to the clue ledger".into(),
        )),
    }
}

/// Issue 15 part 4: read a clue: admins and auditors every clue; a coordinator the clues
/// it may handle ([`handle_clue`]). The reporter's personal data is shown only to those
/// who handle the clue, never to auditors, never in a list.
pub fn read_clue(
    who: &Principal,
    owner: (&str, &str),
    assigned: Option<(&str, &str)>,
) -> Result<(), TaskError> {
    match who.role {
        Role::Admin | Role::Auditor => Ok(()),
        Role::Coordinator => handle_clue(who, owner, assigned),
    }
}

/// Issue 15 part 5: decide an objection to a published result: the task's lead, as for
/// the result itself (谁公开、谁负责).
pub fn decide_objection(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    lead(who, task)
}
/// Listing an institution on the public blacklist and delisting it (issue 15 part 7): the
/// lead of the task whose published result the listing rests on, or an admin.
pub fn blacklist(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    lead(who, task)
}

/// The credit publicity export and its delivery log (issue 15 part 8): market regulation
/// passes its own results on (谁产生、谁公示、谁负责): a coordinator of the market
/// regulation department (within its organization's region), or an admin.
pub fn credit_export(who: &Principal) -> Result<(), TaskError> {
    let mr = DepartmentCode::parse("market_regulation")
        .map_err(|e| TaskError::internal(format!("market_regulation: {e}")))?;
    department(who, &mr).map_err(|_| {
        TaskError::Forbidden(
            "only a coordinator of market regulation (market_regulation) or an admin exports to the credit publicity system".into(),
        )
    })
}

/// Who a verified token acts as: a coordinator of a department that is not registered
/// acts for nobody; an organization named by the token must exist and belong to the
/// token's department, and narrows the caller to its jurisdiction (a department's
/// default organization, everywhere, leaves it `None`).
pub async fn acting(
    db: &crate::store::Store,
    mut principal: Principal,
    org: Option<String>,
) -> Result<Principal, TaskError> {
    if let Some(d) = &principal.department
        && !db.department_exists(d.as_str()).await?
    {
        return Err(TaskError::Forbidden(format!(
            "the token names department {d}, which is not registered"
        )));
    }
    if let (Some(code), Some(d)) = (org, &principal.department) {
        let Some(o) = db.organization(&code).await? else {
            return Err(TaskError::Forbidden(format!(
                "the token names organization {code}, which is not registered"
            )));
        };
        if &o.data.department != d {
            return Err(TaskError::Forbidden(format!(
                "the token's organization {code} belongs to department {}, not to the token's department {d}",
                o.data.department
            )));
        }
        if !o.data.region_prefix.is_empty() {
            principal.organization = Some(o.data.jurisdiction());
        }
    }
    Ok(principal)
}

/// Reading the records a sample drew, with their ids: auditors, and the task's lead (as
/// for [`lead`]).
pub fn read_task_records(who: &Principal, task: &TaskInput) -> Result<(), TaskError> {
    if who.role == Role::Auditor {
        return Ok(());
    }
    lead(who, task)
}
