//! The clue ledger (举报线索台账, issue 15 part 4): receive, assign, investigate, answer
//! and close a clue with working-day time limits, list the overdue ones, and turn a clue
//! into a targeted inspection (定向检查) linked both ways. A library the API (and a CLI)
//! call; storage stays behind `store::clues`; who may do what is in `tasks::policy`.

use crate::auth::Principal;
use crate::domain::calendar::Calendar;
use crate::domain::clue::{
    Answer, AnswerClueInput, AssignClueInput, Assignment, CloseClueInput, Closure, Clue,
    ClueSource, ClueState, InvestigateClueInput, Investigation, ReceiveClueInput, Reporter,
    STORED_CLUE_VERSION, Subject, TimeLimits,
};
use crate::domain::result::ResultCategory;
use crate::domain::targeted::{NamedTarget, ReasonKind, TaskMode};
use crate::domain::task::{TaskInput, TaskState};
use crate::error::FieldError;
use crate::store::clues::{self as store, ClueFilter};
use crate::store::versioned::Versioned;
use crate::store::{Store, Tx, audit, new_id};
use crate::tasks::{TaskError, TaskResult, policy};
use chrono::NaiveDate;
use serde::Serialize;
use std::sync::RwLock;
use utoipa::ToSchema;

const TIME_LIMITS: &str = "clue_time_limits";

/// The ledger's time limits in force (defaults until an admin sets them).
pub async fn time_limits(db: &Store) -> TaskResult<TimeLimits> {
    let raw = crate::store::followup::setting(&mut *db.read().await?, TIME_LIMITS).await?;
    Ok(match raw {
        Some(s) => serde_json::from_str(&s).map_err(|e| TaskError::internal(e.to_string()))?,
        None => TimeLimits::default(),
    })
}

/// Changes the time limits (admins; audited). Clues already received keep theirs.
pub async fn set_time_limits(
    db: &Store,
    who: &Principal,
    limits: &TimeLimits,
) -> TaskResult<TimeLimits> {
    policy::admin_only(who, "change the clue ledger's time limits")?;
    TaskError::check(limits.validate())?;
    let mut tx = db.begin().await?;
    let actor = who.actor();
    let json = serde_json::to_string(limits).map_err(|e| TaskError::internal(e.to_string()))?;
    crate::store::followup::put_setting(&mut tx, TIME_LIMITS, &json, &actor).await?;
    audit::append(
        &mut tx,
        &actor,
        "clue_time_limits.set",
        "setting",
        TIME_LIMITS,
        &audit::payload_digest(limits),
    )
    .await?;
    tx.commit().await?;
    Ok(*limits)
}

/// The targeted inspection made from a clue, and its result for the clue's subject.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClueTask {
    pub task_id: String,
    pub title: String,
    pub state: TaskState,
    /// The latest result recorded for the subject in that task, if any.
    pub result: Option<ClueTaskResult>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClueTaskResult {
    pub version: i64,
    pub category: ResultCategory,
    pub category_zh: String,
    pub findings: String,
    /// Null until published.
    pub published_at: Option<String>,
}

/// A clue as the API answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClueView {
    pub id: String,
    pub version: i64,
    /// 台账编号
    pub reference: String,
    pub source: ClueSource,
    pub source_zh: String,
    #[schema(value_type = String, format = Date)]
    pub received_on: NaiveDate,
    #[schema(value_type = crate::domain::clue::Subject)]
    pub subject: Subject,
    pub summary: String,
    /// The reporter's personal data: only in the answer to one who handles the clue
    /// (never to auditors, never in a list, an export or a public view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Reporter>,
    /// Whether the reporter left no name nor phone (匿名举报).
    pub anonymous: bool,
    pub organization: Option<String>,
    pub region_prefix: String,
    pub department: String,
    /// The stored state (never `overdue`).
    pub state: ClueState,
    /// The state on `as_of` (`overdue` when the open step's due date has passed).
    pub current_state: ClueState,
    pub current_state_zh: String,
    /// The open step (`assign`, `investigate`, `answer`), null once answered.
    pub next_step: Option<String>,
    /// The open step's due date (working days on the official calendar).
    #[schema(value_type = String, format = Date)]
    pub due_date: NaiveDate,
    /// Working days past `due_date` on `as_of` when overdue.
    pub working_days_late: Option<u32>,
    pub limits: TimeLimits,
    pub assignment: Option<Assignment>,
    pub investigation: Option<Investigation>,
    pub answer: Option<Answer>,
    pub closure: Option<Closure>,
    /// The targeted inspection made from this clue, with its result.
    pub task: Option<ClueTask>,
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub created_at: String,
    pub updated_at: String,
}

fn today(db: &Store) -> NaiveDate {
    db.clock().china_today()
}

fn owner(c: &Clue) -> (&str, &str) {
    (&c.department, &c.region_prefix)
}

fn assigned(c: &Clue) -> Option<(&str, &str)> {
    match (&c.assignment, &c.assigned_region) {
        (Some(_), Some(r)) => Some((
            c.assigned_department.as_deref().unwrap_or(&c.department),
            r.as_str(),
        )),
        _ => None,
    }
}

async fn view(
    db: &Store,
    calendar: &RwLock<Calendar>,
    c: Versioned<Clue>,
    as_of: NaiveDate,
    with_reporter: bool,
) -> TaskResult<ClueView> {
    let current = c.data.state_on(as_of);
    let working_days_late = (current == ClueState::Overdue).then(|| {
        calendar
            .read()
            .expect("calendar lock")
            .working_days_between(c.data.due_date, as_of)
            .ok()
    });
    let task = match &c.data.task_id {
        Some(t) => task_of(db, t, c.data.subject.institution_id.as_deref()).await?,
        None => None,
    };
    let d = c.data;
    let anonymous = d
        .reporter
        .as_ref()
        .is_none_or(|r| r.name.trim().is_empty() && r.phone.trim().is_empty());
    Ok(ClueView {
        id: c.id,
        version: c.version,
        reference: d.reference,
        source: d.source,
        source_zh: d.source.label_zh().into(),
        received_on: d.received_on,
        subject: d.subject,
        summary: d.summary,
        reporter: if with_reporter { d.reporter } else { None },
        anonymous,
        organization: d.organization,
        region_prefix: d.region_prefix,
        department: d.department,
        state: d.state,
        current_state: current,
        current_state_zh: current.label_zh().into(),
        next_step: match d.state {
            ClueState::Received => Some("assign".into()),
            ClueState::Assigned => Some("investigate".into()),
            ClueState::Investigated => Some("answer".into()),
            _ => None,
        },
        due_date: d.due_date,
        working_days_late: working_days_late.flatten(),
        limits: d.limits,
        assignment: d.assignment,
        investigation: d.investigation,
        answer: d.answer,
        closure: d.closure,
        task,
        as_of,
        created_at: c.created_at,
        updated_at: c.updated_at,
    })
}

async fn task_of(
    db: &Store,
    task_id: &str,
    institution: Option<&str>,
) -> TaskResult<Option<ClueTask>> {
    let mut tx = db.begin().await?;
    let Some(t) = crate::store::tasks::get(&mut *tx, task_id).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    let result = match institution {
        Some(i) => crate::store::publication::latest_result(&mut tx, task_id, i)
            .await?
            .map(|r| ClueTaskResult {
                version: r.version,
                category: r.data.category,
                category_zh: r.data.category.label_zh().into(),
                findings: r.data.findings.clone(),
                published_at: r.published_at,
            }),
        None => None,
    };
    tx.commit().await?;
    Ok(Some(ClueTask {
        task_id: t.id,
        title: t.config.title,
        state: t.state,
        result,
    }))
}

async fn load(tx: &mut Tx, id: &str) -> TaskResult<Versioned<Clue>> {
    store::get(&mut **tx, id)
        .await?
        .ok_or_else(|| TaskError::NotFound(format!("no clue with id {id}")))
}

/// The organization `code` as `(code, region prefix, department)`, or a 422 on `field`.
async fn organization(
    tx: &mut Tx,
    field: &str,
    code: &str,
) -> TaskResult<(String, String, String)> {
    match crate::store::organizations::by_code(&mut **tx, code).await? {
        Some(o) => Ok((
            o.data.code.clone(),
            o.data.region_prefix.clone(),
            o.data.department.as_str().to_string(),
        )),
        None => Err(TaskError::field(field, format!("no organization {code}"))),
    }
}

/// 受理登记: records a received clue in the ledger of the caller's organization (or of the
/// organization named, which the caller must govern). Due: assigned within the time
/// limit's working days.
pub async fn receive(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    input: &ReceiveClueInput,
) -> TaskResult<ClueView> {
    policy::receive_clue(who)?;
    TaskError::check(input.validate())?;
    let limits = time_limits(db).await?;
    let mut tx = db.begin().await?;
    let (organization, region_prefix, department) = match (&input.organization, who) {
        (Some(code), _) => {
            let (c, r, d) = organization(&mut tx, "organization", code).await?;
            (Some(c), r, d)
        }
        (
            None,
            Principal {
                organization: Some(o),
                ..
            },
        ) => (
            Some(o.code.clone()),
            o.region_prefix.clone(),
            o.department.as_str().to_string(),
        ),
        (
            None,
            Principal {
                department: Some(d),
                ..
            },
        ) => (None, String::new(), d.to_string()),
        (None, _) => {
            return Err(TaskError::field(
                "organization",
                "name the organization whose ledger holds the clue (an admin has none of its own)",
            ));
        }
    };
    policy::handle_clue(who, (&department, &region_prefix), None)?;
    let subject = match &input.subject.institution_id {
        Some(id) => {
            let Some(card) = store::institution(&mut *tx, id).await? else {
                return Err(TaskError::field(
                    "subject.institution_id",
                    format!("no institution {id}"),
                ));
            };
            if !card.region.starts_with(&region_prefix) {
                return Err(TaskError::field(
                    "subject.institution_id",
                    format!(
                        "institution {id} (region {}) lies outside the ledger's region {region_prefix}",
                        card.region
                    ),
                ));
            }
            Subject {
                institution_id: Some(id.clone()),
                name: card.name,
                credit_code: Some(card.credit_code),
                region: Some(card.region),
            }
        }
        None => Subject {
            institution_id: None,
            name: input
                .subject
                .name
                .clone()
                .unwrap_or_default()
                .trim()
                .to_string(),
            credit_code: input
                .subject
                .credit_code
                .as_deref()
                .and_then(|c| crate::domain::CreditCode::parse(c).ok())
                .map(|c| c.as_str().to_string()),
            region: None,
        },
    };
    let received_on = input.received_on.unwrap_or_else(|| today(db));
    if received_on > today(db) {
        return Err(TaskError::field(
            "received_on",
            format!("must not be after today ({})", today(db)),
        ));
    }
    let due_date = due(calendar, "received_on", received_on, limits.assign_within)?;
    let reference = match &input.reference {
        Some(r) => r.trim().to_string(),
        None => {
            let prefix = format!("XS-{}-", received_on.format("%Y%m%d"));
            let n = store::count_with_prefix(&mut tx, &prefix).await?;
            format!("{prefix}{:03}", n + 1)
        }
    };
    let clue = Clue {
        stored_version: STORED_CLUE_VERSION,
        reference: reference.clone(),
        source: input.source,
        received_on,
        subject,
        summary: input.summary.trim().to_string(),
        reporter: input.reporter.clone(),
        organization,
        region_prefix,
        department,
        state: ClueState::Received,
        due_date,
        limits,
        assignment: None,
        assigned_region: None,
        assigned_department: None,
        investigation: None,
        answer: None,
        closure: None,
        task_id: None,
    };
    let id = new_id();
    let actor = who.actor();
    if !store::save(&mut tx, &id, 1, &clue, &actor).await? {
        return Err(TaskError::Conflict(format!(
            "the ledger already holds a clue numbered {reference}"
        )));
    }
    audit::append(
        &mut tx,
        &actor,
        "clue.receive",
        "clue",
        &id,
        &audit::payload_digest(&clue),
    )
    .await?;
    tx.commit().await?;
    get(db, calendar, who, &id).await
}

/// `from` plus `n` working days on the calendar, or a 422 on `field` when the calendar
/// does not cover it.
fn due(calendar: &RwLock<Calendar>, field: &str, from: NaiveDate, n: u32) -> TaskResult<NaiveDate> {
    calendar
        .read()
        .expect("calendar lock")
        .add_working_days(from, n)
        .map_err(|e| TaskError::field(field, format!("cannot count {n} working days: {e}")))
}

/// One clue; the reporter's data only for those who handle it.
pub async fn get(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    id: &str,
) -> TaskResult<ClueView> {
    let c = store::get(&mut *db.read().await?, id)
        .await?
        .ok_or_else(|| TaskError::NotFound(format!("no clue with id {id}")))?;
    policy::read_clue(who, owner(&c.data), assigned(&c.data))?;
    let handles = policy::handle_clue(who, owner(&c.data), assigned(&c.data)).is_ok();
    view(db, calendar, c, today(db), handles).await
}

/// What a ledger listing asks for.
#[derive(Debug, Default)]
pub struct ClueQuery {
    pub states: Vec<ClueState>,
    /// Only the clues overdue on `as_of`.
    pub overdue: bool,
    pub as_of: Option<NaiveDate>,
    pub task_id: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// The ledger's filters as given: a task id of at most 64 characters, a date the server
/// holds.
pub fn check_filters(task_id: Option<&str>, as_of: Option<NaiveDate>) -> TaskResult<()> {
    if task_id.is_some_and(|t| t.chars().count() > 64) {
        return Err(TaskError::field("task_id", "must be at most 64 characters"));
    }
    let mut errors = Vec::new();
    if let Some(d) = as_of {
        crate::domain::registry::check_date(&mut errors, "as_of", d);
    }
    TaskError::check(errors)
}

/// The ledger as the caller may read it (a coordinator: its jurisdiction), oldest first,
/// without the reporters' data.
pub async fn list(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    q: &ClueQuery,
) -> TaskResult<(NaiveDate, Vec<ClueView>)> {
    let as_of = q.as_of.unwrap_or_else(|| today(db));
    let mut states: Vec<String> = Vec::new();
    let mut overdue = q.overdue;
    for s in &q.states {
        if *s == ClueState::Overdue {
            overdue = true;
        } else {
            states.push(s.code().into());
        }
    }
    let mut f = ClueFilter {
        region_prefix: who.region_scope().to_string(),
        states,
        open_due_before: overdue.then_some(as_of),
        task_id: q.task_id.clone(),
        limit: q.limit,
        offset: q.offset,
    };
    // The store limits the region; a coordinator sees, within it, only its department's
    // clues and those assigned to it, which the store cannot tell. So a coordinator's
    // `offset` and `limit` count the clues it may read: the store is read page by page
    // until `limit` of them are found (never a short page while more exist).
    let everything = who.role != crate::auth::Role::Coordinator;
    if !everything {
        (f.limit, f.offset) = (500, 0);
    }
    let (mut skipped, mut out) = (0, Vec::new());
    loop {
        let rows = store::list(&mut *db.read().await?, &f).await?;
        let last = everything || (rows.len() as i64) < f.limit;
        f.offset += rows.len() as i64;
        for c in rows {
            if policy::read_clue(who, owner(&c.data), assigned(&c.data)).is_err() {
                continue;
            }
            if skipped < q.offset && !everything {
                skipped += 1;
                continue;
            }
            out.push(view(db, calendar, c, as_of, false).await?);
            if out.len() as i64 >= q.limit {
                return Ok((as_of, out));
            }
        }
        if last {
            return Ok((as_of, out));
        }
    }
}

/// One step on a clue: loads it, checks the caller and the state, applies `change`,
/// saves the next version and audits it.
async fn step(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    id: &str,
    action: &str,
    allowed: &[ClueState],
    change: impl AsyncChange,
) -> TaskResult<ClueView> {
    let mut tx = db.begin().await?;
    let current = load(&mut tx, id).await?;
    policy::handle_clue(who, owner(&current.data), assigned(&current.data))?;
    if !allowed.contains(&current.data.state) {
        let names: Vec<&str> = allowed.iter().map(|s| s.code()).collect();
        return Err(TaskError::Conflict(format!(
            "cannot {action}: the clue is {}, and this step needs it {}",
            current.data.state.code(),
            names.join(" or ")
        )));
    }
    let mut next = current.data.clone();
    change.apply(&mut tx, &mut next, calendar).await?;
    let actor = who.actor();
    if !store::save(&mut tx, id, current.version + 1, &next, &actor).await? {
        return Err(TaskError::Conflict(format!(
            "clue {id} changed meanwhile; read it again"
        )));
    }
    audit::append(
        &mut tx,
        &actor,
        &format!("clue.{action}"),
        "clue",
        id,
        &audit::payload_digest(&next),
    )
    .await?;
    tx.commit().await?;
    get(db, calendar, who, id).await
}

/// A change one step makes, which may read the database (the assigned organization).
trait AsyncChange {
    async fn apply(self, tx: &mut Tx, c: &mut Clue, calendar: &RwLock<Calendar>) -> TaskResult<()>;
}

/// A step's day: a valid date, not before the step before, not after today.
fn step_day(
    e: &mut Vec<FieldError>,
    field: &str,
    day: NaiveDate,
    earlier: NaiveDate,
    what: &str,
    today: NaiveDate,
) {
    crate::domain::registry::check_date(e, field, day);
    if day < earlier {
        e.push(FieldError::new(
            field,
            format!("must not be before {what} ({earlier})"),
        ));
    } else if day > today {
        e.push(FieldError::new(
            field,
            format!("must not be after today ({today})"),
        ));
    }
}

struct Assign<'a>(&'a AssignClueInput, NaiveDate);

impl AsyncChange for Assign<'_> {
    async fn apply(self, tx: &mut Tx, c: &mut Clue, calendar: &RwLock<Calendar>) -> TaskResult<()> {
        let (input, today) = (self.0, self.1);
        let mut e = Vec::new();
        crate::domain::registry::check_text(&mut e, "handler", &input.handler, true, 200);
        crate::domain::registry::check_text(&mut e, "note", &input.note, false, 2000);
        let on = input.assigned_on.unwrap_or(today);
        step_day(
            &mut e,
            "assigned_on",
            on,
            c.received_on,
            "the receipt",
            today,
        );
        if let Some(o) = &input.organization {
            crate::domain::registry::check_text(&mut e, "organization", o, true, 64);
        }
        TaskError::check(e)?;
        let (org, region, dept) = match &input.organization {
            Some(code) => {
                let (code, region, dept) = organization(tx, "organization", code).await?;
                if !region.starts_with(&c.region_prefix) {
                    return Err(TaskError::field(
                        "organization",
                        format!(
                            "organization {code} (region {region}) lies outside the clue's organization's region {}",
                            c.region_prefix
                        ),
                    ));
                }
                (Some(code), region, dept)
            }
            None => (None, c.region_prefix.clone(), c.department.clone()),
        };
        c.due_date = due(calendar, "assigned_on", on, c.limits.investigate_within)?;
        c.assignment = Some(Assignment {
            organization: org,
            handler: input.handler.trim().to_string(),
            note: input.note.clone(),
            assigned_on: on,
        });
        c.assigned_region = Some(region);
        c.assigned_department = Some(dept);
        c.state = ClueState::Assigned;
        Ok(())
    }
}

/// 交办: the clue goes to an organization (the clue's own by default, or one in its
/// jurisdiction) and its handling office; due: investigated within the limit.
pub async fn assign(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    id: &str,
    input: &AssignClueInput,
) -> TaskResult<ClueView> {
    let today = today(db);
    step(
        db,
        calendar,
        who,
        id,
        "assign",
        &[ClueState::Received],
        Assign(input, today),
    )
    .await
}

struct Investigate<'a>(&'a InvestigateClueInput, NaiveDate);

impl AsyncChange for Investigate<'_> {
    async fn apply(self, _: &mut Tx, c: &mut Clue, calendar: &RwLock<Calendar>) -> TaskResult<()> {
        let (input, today) = (self.0, self.1);
        let mut e = Vec::new();
        crate::domain::registry::check_text(&mut e, "finding", &input.finding, true, 4000);
        let on = input.investigated_on.unwrap_or(today);
        let since = c
            .assignment
            .as_ref()
            .map_or(c.received_on, |a| a.assigned_on);
        step_day(
            &mut e,
            "investigated_on",
            on,
            since,
            "the assignment",
            today,
        );
        TaskError::check(e)?;
        c.due_date = due(calendar, "investigated_on", on, c.limits.answer_within)?;
        c.investigation = Some(Investigation {
            substantiated: input.substantiated,
            finding: input.finding.trim().to_string(),
            investigated_on: on,
        });
        c.state = ClueState::Investigated;
        Ok(())
    }
}

/// 查处: the finding (查实 or not); due: the reporter answered within the limit.
pub async fn investigate(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    id: &str,
    input: &InvestigateClueInput,
) -> TaskResult<ClueView> {
    let today = today(db);
    step(
        db,
        calendar,
        who,
        id,
        "investigate",
        &[ClueState::Assigned],
        Investigate(input, today),
    )
    .await
}

struct AnswerStep<'a>(&'a AnswerClueInput, NaiveDate);

impl AsyncChange for AnswerStep<'_> {
    async fn apply(self, _: &mut Tx, c: &mut Clue, _: &RwLock<Calendar>) -> TaskResult<()> {
        let (input, today) = (self.0, self.1);
        let mut e = Vec::new();
        crate::domain::registry::check_text(&mut e, "feedback", &input.feedback, true, 4000);
        crate::domain::registry::check_text(&mut e, "channel", &input.channel, false, 100);
        let on = input.answered_on.unwrap_or(today);
        let since = c
            .investigation
            .as_ref()
            .map_or(c.received_on, |i| i.investigated_on);
        step_day(&mut e, "answered_on", on, since, "the finding", today);
        TaskError::check(e)?;
        c.answer = Some(Answer {
            feedback: input.feedback.trim().to_string(),
            channel: input.channel.trim().to_string(),
            answered_on: on,
        });
        c.state = ClueState::Answered;
        Ok(())
    }
}

/// 反馈: what the reporter was told (the last step with a time limit).
pub async fn answer(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    id: &str,
    input: &AnswerClueInput,
) -> TaskResult<ClueView> {
    let today = today(db);
    step(
        db,
        calendar,
        who,
        id,
        "answer",
        &[ClueState::Investigated],
        AnswerStep(input, today),
    )
    .await
}

struct CloseStep<'a>(&'a CloseClueInput, NaiveDate);

impl AsyncChange for CloseStep<'_> {
    async fn apply(self, _: &mut Tx, c: &mut Clue, _: &RwLock<Calendar>) -> TaskResult<()> {
        let (input, today) = (self.0, self.1);
        let not_accepted = c.state == ClueState::Received;
        let mut e = Vec::new();
        crate::domain::registry::check_text(&mut e, "note", &input.note, not_accepted, 2000);
        if not_accepted && input.note.trim().is_empty() {
            e.retain(|f| f.field != "note");
            e.push(FieldError::new(
                "note",
                "closing a clue that was only received (不予受理) needs the reason",
            ));
        }
        let on = input.closed_on.unwrap_or(today);
        let since = c.answer.as_ref().map_or(c.received_on, |a| a.answered_on);
        step_day(&mut e, "closed_on", on, since, "the step before", today);
        TaskError::check(e)?;
        c.closure = Some(Closure {
            note: input.note.trim().to_string(),
            closed_on: on,
            not_accepted,
        });
        c.state = ClueState::Closed;
        Ok(())
    }
}

/// 办结 after the answer, or 不予受理 straight after receipt (with the reason).
pub async fn close(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    id: &str,
    input: &CloseClueInput,
) -> TaskResult<ClueView> {
    let today = today(db);
    step(
        db,
        calendar,
        who,
        id,
        "close",
        &[ClueState::Received, ClueState::Answered],
        CloseStep(input, today),
    )
    .await
}

/// A clue turned into a targeted inspection: the clue and the task created.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClueTargeted {
    pub clue: ClueView,
    pub task_id: String,
    pub task_state: TaskState,
}

/// 定向检查 from a clue: creates the targeted task `input` describes (its `mode` and
/// `targets` are set here: the clue's subject, reason kind `clue`, the clue's id) and
/// links the clue to it. The clue must be assigned (being investigated) and its subject
/// a registered institution; one task per clue.
pub async fn targeted_task(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    id: &str,
    input: &TaskInput,
) -> TaskResult<ClueTargeted> {
    let current = {
        let mut tx = db.begin().await?;
        let c = load(&mut tx, id).await?;
        tx.commit().await?;
        c
    };
    policy::handle_clue(who, owner(&current.data), assigned(&current.data))?;
    check_targetable(&current)?;
    let mut e = Vec::new();
    if input.mode.is_some_and(|m| m != TaskMode::Targeted) {
        e.push(FieldError::new(
            "mode",
            "a task made from a clue is targeted (omit mode, or give targeted)",
        ));
    }
    if !input.targets.is_empty() {
        e.push(FieldError::new(
            "targets",
            "the target is the clue's subject: omit targets",
        ));
    }
    TaskError::check(e)?;
    let institution = current
        .data
        .subject
        .institution_id
        .clone()
        .expect("checked: registered");
    let mut task = input.clone();
    task.mode = Some(TaskMode::Targeted);
    task.targets = vec![NamedTarget {
        institution,
        reason_kind: ReasonKind::Clue,
        reason: format!("举报线索 {}", current.data.reference),
        clue: Some(id.to_string()),
    }];
    let created = crate::tasks::create(db, who, &task).await?;
    let mut tx = db.begin().await?;
    let latest = load(&mut tx, id).await?;
    if latest.version != current.version || check_targetable(&latest).is_err() {
        return Err(TaskError::Conflict(format!(
            "clue {id} changed while task {} was created; the task stays a draft: cancel it or link it again",
            created.id
        )));
    }
    let mut next = latest.data.clone();
    next.task_id = Some(created.id.clone());
    let actor = who.actor();
    if !store::save(&mut tx, id, latest.version + 1, &next, &actor).await? {
        return Err(TaskError::Conflict(format!(
            "clue {id} changed meanwhile; read it again"
        )));
    }
    audit::append(
        &mut tx,
        &actor,
        "clue.targeted_task",
        "clue",
        id,
        &audit::payload_digest(&(&created.id, &next)),
    )
    .await?;
    tx.commit().await?;
    Ok(ClueTargeted {
        clue: get(db, calendar, who, id).await?,
        task_id: created.id,
        task_state: created.state,
    })
}

fn check_targetable(c: &Versioned<Clue>) -> TaskResult<()> {
    if let Some(t) = &c.data.task_id {
        return Err(TaskError::Conflict(format!(
            "clue {} already became targeted inspection {t}",
            c.id
        )));
    }
    if c.data.state != ClueState::Assigned {
        return Err(TaskError::Conflict(format!(
            "a clue becomes a targeted inspection while it is assigned (being investigated); it is {}",
            c.data.state.code()
        )));
    }
    if c.data.subject.institution_id.is_none() {
        return Err(TaskError::Conflict(format!(
            "clue {}'s subject {} is not a registered institution: register it, then receive the clue naming its id",
            c.id, c.data.subject.name
        )));
    }
    Ok(())
}

/// An overdue clue, as the overdue report lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueClue {
    pub clue_id: String,
    pub reference: String,
    /// The step that is late: `assign`, `investigate` or `answer`.
    pub step: String,
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
    /// Working days from the due date to `as_of`; null if the calendar does not cover it.
    pub working_days_late: Option<u32>,
    pub department: String,
    pub organization: Option<String>,
}

/// Every clue whose open step is past due on `as_of` (the overdue report: all of them,
/// read page by page, never cut off).
pub async fn overdue(
    db: &Store,
    calendar: &RwLock<Calendar>,
    as_of: NaiveDate,
) -> TaskResult<Vec<OverdueClue>> {
    const PAGE: i64 = 500;
    let mut rows = Vec::new();
    loop {
        let f = ClueFilter {
            open_due_before: Some(as_of),
            limit: PAGE,
            offset: rows.len() as i64,
            ..Default::default()
        };
        let page = store::list(&mut *db.read().await?, &f).await?;
        let last = (page.len() as i64) < PAGE;
        rows.extend(page);
        if last {
            break;
        }
    }
    let cal = calendar.read().expect("calendar lock");
    Ok(rows
        .into_iter()
        .map(|c| OverdueClue {
            clue_id: c.id,
            step: c.data.next_step().unwrap_or("-").into(),
            working_days_late: cal.working_days_between(c.data.due_date, as_of).ok(),
            reference: c.data.reference,
            due: c.data.due_date,
            department: c.data.department,
            organization: c.data.organization,
        })
        .collect())
}
