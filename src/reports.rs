//! Reports over the lifecycle: what is past its legal disclosure deadline. A library the API
//! and the CLI can both call; storage stays behind `store`.

use crate::domain::calendar::Calendar;
use crate::domain::filter::TaskFilter;
use crate::domain::task::TaskState;
use crate::publication::deadlines;
use crate::store::Store;
use crate::store::tasks::TaskRow;
use crate::tasks::TaskResult;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::RwLock;
use utoipa::ToSchema;

/// What is late: the drawn list, or results.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OverdueKind {
    /// The drawn list is not published and its date has passed.
    Selection,
    /// Results are not all published and their deadline has passed.
    Results,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueItem {
    pub task_id: String,
    pub title: String,
    pub kind: OverdueKind,
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
    /// Working days from the deadline to `as_of`; null if the calendar does not cover it.
    pub working_days_late: Option<u32>,
    /// For results: drawn institutions still without a published result.
    pub pending_institutions: Option<i64>,
    /// For results of a joint task: per department, the institutions (without a published
    /// result) whose part that department has not entered — who is late, where.
    pub missing_parts: Vec<MissingParts>,
    /// `random` or `targeted` (定向): the two are counted apart.
    pub mode: crate::domain::targeted::TaskMode,
}

/// The institutions whose part one department has not entered.
#[derive(Debug, Serialize, ToSchema)]
pub struct MissingParts {
    pub department: String,
    pub institutions: Vec<String>,
}

/// How many result parts one department owes past the results deadline, over every task.
#[derive(Debug, Serialize, ToSchema)]
pub struct LateParts {
    pub department: String,
    /// Missing parts (one per institution and task).
    pub missing: usize,
    /// The tasks concerned.
    pub tasks: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentOverdue {
    /// The lead department, responsible for publication.
    pub department: String,
    pub items: Vec<OverdueItem>,
    /// Overdue items of random tasks (双随机) and of targeted ones (定向), apart.
    pub random: usize,
    pub targeted: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnknownDeadline {
    pub task_id: String,
    pub title: String,
    /// Why the results deadline cannot be computed (e.g. a year's calendar is missing).
    pub problem: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueReport {
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub departments: Vec<DepartmentOverdue>,
    /// Tasks whose results deadline cannot be computed: load the missing calendar.
    pub unknown_deadlines: Vec<UnknownDeadline>,
    /// Per department (participants too, not only leads): its result parts missing past
    /// the results deadline (joint tasks).
    pub late_parts: Vec<LateParts>,
    /// Issue 15: rectifications not completed by their due date (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rectifications: Vec<OverdueRectification>,
    /// Issue 15 part 4: clues of the ledger whose open step is past due (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clues: Vec<crate::clues::OverdueClue>,
    /// Objections (异议) filed and undecided past their due date, for the task's lead
    /// department to decide (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objections: Vec<crate::objections::OverdueObjection>,
}

/// A rectification past its due date and not completed.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueRectification {
    pub rectification_id: String,
    pub task_id: String,
    pub institution_id: String,
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
    /// Working days from the due date to `as_of`; null if the calendar does not cover it.
    pub working_days_late: Option<u32>,
    /// `ordered` or `plan_submitted`: how far it got.
    pub stored_state: String,
}

/// Drawn or published tasks whose drawn list or results are past due on `as_of`, per lead
/// department, and the tasks whose results deadline the loaded calendar cannot compute.
pub async fn overdue(
    db: &Store,
    calendar: &RwLock<Calendar>,
    as_of: NaiveDate,
) -> TaskResult<OverdueReport> {
    let filter = TaskFilter {
        state: vec![TaskState::Drawn, TaskState::Published],
        ..Default::default()
    };
    let mut by_department: BTreeMap<String, Vec<OverdueItem>> = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut late_parts: BTreeMap<String, LateParts> = BTreeMap::new();
    let mut after = None;
    loop {
        let (tasks, next) = db.tasks(&filter, after, 200).await?;
        for task in tasks {
            let (d, late) = {
                let calendar = calendar.read().expect("calendar lock");
                let d = deadlines(&calendar, &task.config);
                let late = |due: NaiveDate| calendar.working_days_between(due, as_of).ok();
                let late_selection = late(d.selection_publish_by);
                let late_results = d.results_due.and_then(late);
                (d, (late_selection, late_results))
            };
            let department = task.config.lead_department.to_string();
            let mode = task.mode();
            if task.state == TaskState::Drawn && as_of > d.selection_publish_by {
                by_department
                    .entry(department.clone())
                    .or_default()
                    .push(OverdueItem {
                        task_id: task.id.clone(),
                        title: task.config.title.clone(),
                        kind: OverdueKind::Selection,
                        due: d.selection_publish_by,
                        working_days_late: late.0,
                        pending_institutions: None,
                        missing_parts: Vec::new(),
                        mode,
                    });
            }
            match (d.results_due, d.results_due_problem) {
                (Some(due), _) if as_of > due => {
                    let pending = db.unpublished_count(&task.id).await?;
                    if pending > 0 {
                        let missing_parts = missing_parts(db, &task).await?;
                        for m in &missing_parts {
                            let l = late_parts.entry(m.department.clone()).or_insert_with(|| {
                                LateParts {
                                    department: m.department.clone(),
                                    missing: 0,
                                    tasks: Vec::new(),
                                }
                            });
                            l.missing += m.institutions.len();
                            l.tasks.push(task.id.clone());
                        }
                        by_department
                            .entry(department)
                            .or_default()
                            .push(OverdueItem {
                                task_id: task.id,
                                title: task.config.title,
                                kind: OverdueKind::Results,
                                due,
                                working_days_late: late.1,
                                pending_institutions: Some(pending),
                                missing_parts,
                                mode,
                            });
                    }
                }
                (None, Some(problem)) => unknown.push(UnknownDeadline {
                    task_id: task.id,
                    title: task.config.title,
                    problem,
                }),
                _ => {}
            }
        }
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let rectifications = {
        let open = crate::followup::overdue_rectifications(db, as_of).await?;
        let calendar = calendar.read().expect("calendar lock");
        open.into_iter()
            .map(|r| OverdueRectification {
                working_days_late: calendar.working_days_between(r.data.due_date, as_of).ok(),
                rectification_id: r.id,
                task_id: r.data.task_id,
                institution_id: r.data.institution_id,
                due: r.data.due_date,
                stored_state: r.data.state.code().into(),
            })
            .collect()
    };
    let clues = crate::clues::overdue(db, calendar, as_of).await?;
    let objections = crate::objections::overdue(db, calendar, as_of).await?;
    Ok(OverdueReport {
        as_of,
        rectifications,
        clues,
        objections,
        departments: by_department
            .into_iter()
            .map(|(department, items)| {
                let targeted = items
                    .iter()
                    .filter(|i| i.mode == crate::domain::targeted::TaskMode::Targeted)
                    .count();
                DepartmentOverdue {
                    department,
                    random: items.len() - targeted,
                    targeted,
                    items,
                }
            })
            .collect(),
        unknown_deadlines: unknown,
        late_parts: late_parts.into_values().collect(),
    })
}

/// For a joint task (more than one department), which department's part is missing where.
async fn missing_parts(db: &Store, task: &TaskRow) -> TaskResult<Vec<MissingParts>> {
    let departments = crate::tasks::results::departments(&task.config);
    if departments.len() < 2 {
        return Ok(Vec::new());
    }
    let missing =
        crate::store::parts::missing_parts(&mut *db.read().await?, &task.id, &departments).await?;
    Ok(departments
        .into_iter()
        .filter_map(|d| {
            let institutions: Vec<String> = missing
                .iter()
                .filter(|(_, ds)| ds.contains(&d))
                .map(|(i, _)| i.clone())
                .collect();
            (!institutions.is_empty()).then_some(MissingParts {
                department: d,
                institutions,
            })
        })
        .collect())
}
