//! Dispatch (自动派发): which teams an inspector was drawn into, and which tasks await a
//! department's step. Reads only; nothing here changes a task.

use super::{TaskError, TaskResult, policy};
use crate::auth::Principal;
use crate::domain::DepartmentCode;
use crate::domain::calendar::Calendar;
use crate::domain::registry::InspectorInput;
use crate::domain::task::{Protocol, TaskState};
use crate::draw::{DrawResult, Replacement};
use crate::store::Store;
use crate::store::tasks::{self as store, TaskRow};
use serde::Serialize;
use utoipa::ToSchema;

/// An inspector's place in one drawn team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Assignment {
    pub task_id: String,
    pub title: String,
    pub state: TaskState,
    pub inspection_start: String,
    pub inspection_end: String,
    pub institution: String,
    /// The institution's registered name.
    pub institution_name: String,
    pub department: String,
    /// `leader` (组长: first of the lead department's team) or `member`.
    pub role: String,
    /// `draw` (drawn in the first draw) or `replacement` (递补: drawn to replace someone).
    pub via: String,
    /// The replacement's sequence number when `via` is `replacement`.
    pub replacement_seq: Option<u64>,
    /// Whether this inspector was later replaced in this team (no longer on it).
    pub replaced: bool,
    /// Who replaced this inspector, and why.
    pub replaced_by: Option<String>,
    pub replaced_reason: Option<String>,
}

/// An inspector's place in one team of one draw, before names are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub institution: String,
    pub department: String,
    /// `leader` or `member`.
    pub role: &'static str,
    /// Set when the inspector came in by this replacement.
    pub seq: Option<u64>,
    /// Who replaced the inspector later, and why.
    pub replaced: Option<(String, String)>,
}

/// Each institution's teams: (institution, [(department, inspectors)]).
type Teams = Vec<(String, Vec<(String, Vec<String>)>)>;

/// The placements of `inspector` in one draw: the teams as drawn, then replacements
/// applied one by one (a substitute takes the slot, so the leader's slot stays the
/// leader's). Pure.
pub fn assignments_in(
    result: &DrawResult,
    lead: &str,
    replacements: &[Replacement],
    inspector: &str,
) -> Vec<Placement> {
    let mut out: Vec<Placement> = Vec::new();
    let mut teams: Teams = result
        .selections
        .iter()
        .map(|s| {
            (
                s.institution.clone(),
                s.team
                    .iter()
                    .map(|t| (t.department.clone(), t.inspectors.clone()))
                    .collect(),
            )
        })
        .collect();
    let role = |department: &str, slot: usize| {
        if department == lead && slot == 0 {
            "leader"
        } else {
            "member"
        }
    };
    for (institution, team) in &teams {
        for (department, members) in team {
            if let Some(slot) = members.iter().position(|m| m == inspector) {
                out.push(Placement {
                    institution: institution.clone(),
                    department: department.clone(),
                    role: role(department, slot),
                    seq: None,
                    replaced: None,
                });
            }
        }
    }
    for r in replacements {
        let Some((_, team)) = teams.iter_mut().find(|(i, _)| *i == r.institution) else {
            continue;
        };
        let Some((_, members)) = team.iter_mut().find(|(d, _)| *d == r.department) else {
            continue;
        };
        let Some(slot) = members.iter().position(|m| *m == r.out) else {
            continue;
        };
        members[slot] = r.r#in.clone();
        if r.out == inspector
            && let Some(p) = out.iter_mut().rev().find(|p| {
                p.institution == r.institution
                    && p.department == r.department
                    && p.replaced.is_none()
            })
        {
            p.replaced = Some((r.r#in.clone(), r.reason.clone()));
        }
        if r.r#in == inspector {
            out.push(Placement {
                institution: r.institution.clone(),
                department: r.department.clone(),
                role: role(&r.department, slot),
                seq: Some(r.seq),
                replaced: None,
            });
        }
    }
    out
}

/// A page of an inspector's assignments, task by task in id order.
pub struct AssignmentPage {
    pub items: Vec<Assignment>,
    pub next_cursor: Option<String>,
}

/// Every drawn team the inspector was on, current and past, replacements included (any
/// authenticated reader). Paged by task: a page holds every assignment of up to `limit`
/// tasks.
pub async fn assignments(
    db: &Store,
    inspector: &str,
    after: Option<String>,
    limit: i64,
) -> TaskResult<AssignmentPage> {
    let exists = crate::store::records::get::<InspectorInput, _>(&mut *db.read().await?, inspector)
        .await?
        .is_some();
    if !exists {
        return Err(TaskError::NotFound(format!(
            "no inspector with id {inspector}"
        )));
    }
    let (tasks, next_cursor) = db.inspector_tasks(inspector, after, limit).await?;
    let mut items = Vec::new();
    for task in tasks {
        let mut conn = db.read().await?;
        let Some(result) = store::drawn_result(&mut conn, &task.id).await? else {
            continue;
        };
        let replacements = store::replacements(&mut *conn, &task.id).await?;
        drop(conn);
        let found = assignments_in(
            &result,
            task.config.lead_department.as_str(),
            &replacements,
            inspector,
        );
        let ids: Vec<String> = found.iter().map(|p| p.institution.clone()).collect();
        let names = db.institution_cards(&ids).await?;
        for Placement {
            institution,
            department,
            role,
            seq,
            replaced,
        } in found
        {
            items.push(Assignment {
                task_id: task.id.clone(),
                title: task.config.title.clone(),
                state: task.state,
                inspection_start: task.config.inspection_start.to_string(),
                inspection_end: task.config.inspection_end.to_string(),
                institution_name: names
                    .get(&institution)
                    .map(|c| c.0.clone())
                    .unwrap_or_default(),
                institution,
                department,
                role: role.into(),
                via: if seq.is_some() { "replacement" } else { "draw" }.into(),
                replacement_seq: seq,
                replaced: replaced.is_some(),
                replaced_reason: replaced.as_ref().map(|r| r.1.clone()),
                replaced_by: replaced.map(|r| r.0),
            });
        }
    }
    Ok(AssignmentPage { items, next_cursor })
}

/// One step a department has to take on a task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxItem {
    pub task_id: String,
    pub title: String,
    pub state: TaskState,
    pub lead_department: String,
    /// `commit` (post the department's commitment), `seal` (lead: every commitment is in),
    /// `reveal` (reveal the department's secret, or the lead's beacon), `draw` (lead:
    /// every source revealed, or the /2 reveal deadline passed), `publish` (lead: publish
    /// the drawn list), `results` (record the results still missing).
    pub step: String,
    /// The entropy source concerned (`commit`, `reveal`).
    pub source: Option<String>,
    /// When the step is due, where a rule sets it: the /2 reveal deadline (RFC 3339), the
    /// drawn list's publication date, the results' due date.
    pub deadline: Option<String>,
    /// For `results`: how many drawn institutions still have no result.
    pub missing: Option<i64>,
}

/// The steps awaiting one department.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Inbox {
    pub department: String,
    pub items: Vec<InboxItem>,
    /// True when the department has more open tasks than one inbox lists (500).
    pub truncated: bool,
}

/// The results a department still owes on a drawn task: in a joint task, the drawn
/// institutions (without a published result) still missing its own part (谁检查、谁录入);
/// in a sample without teams, every missing result, owed by the lead.
async fn results_owed(db: &Store, task: &TaskRow, department: &DepartmentCode) -> TaskResult<i64> {
    if task.config.departments.is_empty() {
        if &task.config.lead_department != department {
            return Ok(0);
        }
        return Ok(db.results_missing(&task.id).await?);
    }
    if !task
        .config
        .departments
        .iter()
        .any(|d| &d.code == department)
    {
        return Ok(0);
    }
    let missing = crate::store::parts::missing_parts(
        &mut *db.read().await?,
        &task.id,
        &[department.to_string()],
    )
    .await?;
    Ok(missing.len() as i64)
}

/// The tasks awaiting the department's step (a coordinator's own department; admins and
/// auditors name one), oldest task first.
pub async fn inbox(
    db: &Store,
    calendar: &Calendar,
    who: &Principal,
    asked: Option<DepartmentCode>,
) -> TaskResult<Inbox> {
    let department = policy::inbox_department(who, asked)?;
    let tasks = db.open_tasks_of(&department).await?;
    let truncated = tasks.len() as i64 >= crate::store::dispatch::INBOX_MAX;
    let own_source = format!("department:{department}");
    let now = db.clock().unix();
    let mut items = Vec::new();
    for task in tasks {
        if !policy::in_jurisdiction(who, &task.config) {
            continue;
        }
        let lead = task.config.lead_department == department;
        let entropy = store::entropy(&mut *db.read().await?, &task.id).await?;
        let reveal_deadline = task.config.reveal_deadline.map(|d| d.to_rfc3339());
        let item = |step: &str, source: Option<String>, deadline: Option<String>| InboxItem {
            task_id: task.id.clone(),
            title: task.config.title.clone(),
            state: task.state,
            lead_department: task.config.lead_department.to_string(),
            step: step.into(),
            source,
            deadline,
            missing: None,
        };
        match task.state {
            TaskState::Draft => {
                for e in entropy.iter().filter(|e| e.source == own_source) {
                    if e.commitment.is_none() {
                        items.push(item("commit", Some(e.source.clone()), None));
                    }
                }
                let all_committed = entropy
                    .iter()
                    .filter(|e| e.source.starts_with("department:"))
                    .all(|e| e.commitment.is_some());
                if lead && all_committed {
                    items.push(item("seal", None, None));
                }
            }
            TaskState::Sealed => {
                for e in entropy.iter().filter(|e| e.value.is_none()) {
                    let ours = e.source == own_source || (lead && e.source.starts_with("beacon:"));
                    if ours {
                        items.push(item(
                            "reveal",
                            Some(e.source.clone()),
                            reveal_deadline.clone(),
                        ));
                    }
                }
                let all_revealed = entropy.iter().all(|e| e.value.is_some());
                let past_deadline = task.config.protocol() == Protocol::V2
                    && task.config.reveal_deadline_unix().is_some_and(|d| now > d);
                if lead && (all_revealed || past_deadline) {
                    items.push(item("draw", None, None));
                }
            }
            TaskState::Drawn | TaskState::Published => {
                let deadlines = crate::publication::deadlines(calendar, &task.config);
                if lead && task.state == TaskState::Drawn {
                    items.push(item(
                        "publish",
                        None,
                        Some(deadlines.selection_publish_by.to_string()),
                    ));
                }
                let missing = results_owed(db, &task, &department).await?;
                if missing > 0 {
                    let mut i = item(
                        "results",
                        None,
                        deadlines.results_due.map(|d| d.to_string()),
                    );
                    i.missing = Some(missing);
                    items.push(i);
                }
            }
            _ => {}
        }
    }
    Ok(Inbox {
        department: department.to_string(),
        items,
        truncated,
    })
}
