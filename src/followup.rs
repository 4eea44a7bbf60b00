//! After the inspection (issue 15 parts 2–3): rectification and its verification by a
//! drawn team, referrals, and major cases. A library the API (and a CLI) call; storage
//! stays behind `store::followup`; who may do what is in `tasks::policy`.

use crate::auth::Principal;
use crate::domain::calendar::Calendar;
use crate::domain::rectification::{
    CompleteInput, OrderInput, PlanInput, Rectification, RectificationState,
    STORED_RECTIFICATION_VERSION, Verification, VerifyInput,
};
use crate::domain::referral::{
    MajorCaseReportInput, MajorCaseRule, Recipient, Referral, ReferralInput, ReferralStatus,
    ReferralUpdate,
};
use crate::domain::result::{ResultCategory, china_date};
use crate::domain::task::TaskState;
use crate::store::followup as store;
use crate::store::publication as results_store;
use crate::store::tasks::TaskRow;
use crate::store::versioned::Versioned;
use crate::store::{Store, Tx, audit, new_id};
use crate::tasks::{TaskError, TaskResult, policy};
use chrono::NaiveDate;
use serde::Serialize;
use std::sync::RwLock;
use utoipa::ToSchema;

/// Today in China on the store's clock (simulated in tests and demos).
pub fn today(db: &Store) -> NaiveDate {
    db.clock().china_today()
}

async fn task(tx: &mut Tx, id: &str) -> TaskResult<TaskRow> {
    crate::store::tasks::get(&mut **tx, id)
        .await?
        .ok_or_else(|| TaskError::not_found(id))
}

/// A rectification as the API answers it: the stored form, its state today and the
/// row's version.
#[derive(Debug, Serialize, ToSchema)]
pub struct RectificationView {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub data: Rectification,
    /// The state on `as_of` (`overdue` derived from the calendar day).
    pub current_state: RectificationState,
    pub current_state_zh: String,
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub created_at: String,
    pub updated_at: String,
}

pub fn rectification_view(r: Versioned<Rectification>, as_of: NaiveDate) -> RectificationView {
    let s = r.data.state_on(as_of);
    RectificationView {
        id: r.id,
        version: r.version,
        current_state: s,
        current_state_zh: s.label_zh().into(),
        as_of,
        data: r.data,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// Orders a rectification on a recorded result (the task's lead).
pub async fn order(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    task_id: &str,
    institution: &str,
    input: &OrderInput,
) -> TaskResult<RectificationView> {
    TaskError::check(input.validate())?;
    let mut tx = db.begin().await?;
    let t = task(&mut tx, task_id).await?;
    policy::rectify(who, &t.config)?;
    let Some(result) = results_store::latest_result(&mut tx, task_id, institution).await? else {
        return Err(TaskError::NotFound(format!(
            "no result is recorded for institution {institution} in task {task_id}: a rectification is ordered on a result"
        )));
    };
    if result.data.category == ResultCategory::NoProblem {
        return Err(TaskError::Conflict(format!(
            "the result for institution {institution} found no problem: nothing to rectify"
        )));
    }
    let ordered_on = input.ordered_on.unwrap_or_else(|| today(db));
    let due = match (input.due_date, input.due_working_days) {
        (Some(d), _) => d,
        (None, Some(n)) => calendar
            .read()
            .expect("calendar lock")
            .add_working_days(ordered_on, n)
            .map_err(|e| TaskError::field("due_working_days", e.to_string()))?,
        (None, None) => unreachable!("validated: a due date is given"),
    };
    if due <= ordered_on {
        return Err(TaskError::field(
            "due_date",
            format!("must be after the order ({ordered_on})"),
        ));
    }
    let r = Rectification {
        stored_version: STORED_RECTIFICATION_VERSION,
        task_id: task_id.into(),
        institution_id: institution.into(),
        requirements: input.requirements.clone(),
        ordered_on,
        due_date: due,
        due_working_days: input.due_working_days,
        state: RectificationState::Ordered,
        plan: None,
        completion: None,
        verifications: Vec::new(),
    };
    let id = new_id();
    let actor = who.actor();
    store::save_rectification(&mut tx, &id, 1, &r, &actor).await?;
    audit::append(
        &mut tx,
        &actor,
        "rectification.order",
        "rectification",
        &id,
        &audit::payload_digest(&r),
    )
    .await?;
    tx.commit().await?;
    get_rectification(db, &id).await
}

pub async fn get_rectification(db: &Store, id: &str) -> TaskResult<RectificationView> {
    let r = store::rectification(&mut *db.read().await?, id)
        .await?
        .ok_or_else(|| TaskError::NotFound(format!("no rectification with id {id}")))?;
    Ok(rectification_view(r, today(db)))
}

/// Rectifications of a task (and institution), with their state today.
pub async fn list_rectifications(
    db: &Store,
    task_id: Option<&str>,
    institution: Option<&str>,
) -> TaskResult<Vec<RectificationView>> {
    let as_of = today(db);
    Ok(
        store::rectifications(&mut *db.read().await?, task_id, institution, None)
            .await?
            .into_iter()
            .map(|r| rectification_view(r, as_of))
            .collect(),
    )
}

/// One step on a rectification: loads it, checks the caller and the state, applies
/// `change`, saves the next version and audits it.
async fn step(
    db: &Store,
    who: &Principal,
    id: &str,
    action: &str,
    allowed: &[RectificationState],
    change: impl FnOnce(&mut Rectification) -> TaskResult<()>,
    verification_task: Option<&str>,
) -> TaskResult<RectificationView> {
    let mut tx = db.begin().await?;
    let Some(current) = store::rectification(&mut *tx, id).await? else {
        return Err(TaskError::NotFound(format!(
            "no rectification with id {id}"
        )));
    };
    let t = task(&mut tx, &current.data.task_id).await?;
    policy::rectify(who, &t.config)?;
    if !allowed.contains(&current.data.state) {
        let names: Vec<&str> = allowed.iter().map(|s| s.code()).collect();
        return Err(TaskError::Conflict(format!(
            "cannot {action}: the rectification is {}, and this step needs it {}",
            current.data.state.code(),
            names.join(" or ")
        )));
    }
    let mut next = current.data.clone();
    change(&mut next)?;
    if let Some(task_id) = verification_task {
        check_verification_task(&mut tx, task_id, &next.institution_id, id).await?;
    }
    let actor = who.actor();
    if !store::save_rectification(&mut tx, id, current.version + 1, &next, &actor).await? {
        return Err(TaskError::Conflict(format!(
            "rectification {id} changed meanwhile; read it again"
        )));
    }
    audit::append(
        &mut tx,
        &actor,
        &format!("rectification.{action}"),
        "rectification",
        id,
        &audit::payload_digest(&next),
    )
    .await?;
    tx.commit().await?;
    get_rectification(db, id).await
}

/// The institution's plan (measures and timetable), recorded by the lead.
pub async fn submit_plan(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &PlanInput,
) -> TaskResult<RectificationView> {
    step(
        db,
        who,
        id,
        "plan",
        &[
            RectificationState::Ordered,
            RectificationState::PlanSubmitted,
        ],
        |r| {
            TaskError::check(input.validate(r.ordered_on, r.due_date))?;
            r.plan = Some(input.clone());
            r.state = RectificationState::PlanSubmitted;
            Ok(())
        },
        None,
    )
    .await
}

/// The institution reports the rectification done (after its plan).
pub async fn complete(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &CompleteInput,
) -> TaskResult<RectificationView> {
    step(
        db,
        who,
        id,
        "complete",
        &[RectificationState::PlanSubmitted],
        |r| {
            let mut e = Vec::new();
            crate::domain::registry::check_text(&mut e, "report", &input.report, true, 10_000);
            crate::domain::registry::check_date(&mut e, "completed_on", input.completed_on);
            if input.completed_on < r.ordered_on {
                e.push(crate::error::FieldError::new(
                    "completed_on",
                    format!("must not be before the order ({})", r.ordered_on),
                ));
            }
            TaskError::check(e)?;
            r.completion = Some(input.clone());
            r.state = RectificationState::Completed;
            Ok(())
        },
        None,
    )
    .await
}

/// 整改核查: a team drawn in `input.task_id` verified the rectification. That task must
/// have drawn exactly this institution, with a team; it is recorded as a verification
/// task (exempt from frequency caps, [`is_verification_task`]). Failed: back to
/// `ordered` with the new due date.
pub async fn verify(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &VerifyInput,
) -> TaskResult<RectificationView> {
    step(
        db,
        who,
        id,
        "verify",
        &[RectificationState::Completed],
        |r| {
            let mut e = Vec::new();
            crate::domain::registry::check_text(&mut e, "note", &input.note, false, 4000);
            crate::domain::registry::check_date(&mut e, "verified_on", input.verified_on);
            let completed = r
                .completion
                .as_ref()
                .map_or(r.ordered_on, |c| c.completed_on);
            if input.verified_on < completed {
                e.push(crate::error::FieldError::new(
                    "verified_on",
                    format!("must not be before the completion ({completed})"),
                ));
            }
            match (input.passed, input.new_due_date) {
                (false, None) => e.push(crate::error::FieldError::new(
                    "new_due_date",
                    "a failed verification sets a new due date",
                )),
                (false, Some(d)) if d <= input.verified_on => e.push(
                    crate::error::FieldError::new("new_due_date", "must be after verified_on"),
                ),
                (true, Some(_)) => e.push(crate::error::FieldError::new(
                    "new_due_date",
                    "only a failed verification sets a new due date",
                )),
                _ => {}
            }
            if input.task_id == r.task_id {
                e.push(crate::error::FieldError::new(
                    "task_id",
                    "the verification is a new draw, not the task that found the problem",
                ));
            }
            TaskError::check(e)?;
            r.verifications.push(Verification {
                task_id: input.task_id.clone(),
                passed: input.passed,
                note: input.note.clone(),
                verified_on: input.verified_on,
            });
            if input.passed {
                r.state = RectificationState::Verified;
            } else {
                r.state = RectificationState::Ordered;
                r.due_date = input.new_due_date.expect("checked above");
                r.due_working_days = None;
                r.plan = None;
                r.completion = None;
            }
            Ok(())
        },
        Some(&input.task_id),
    )
    .await
}

/// The task of a verification (整改核查) must have drawn exactly the institution, with a
/// team; it is then recorded as verifying this rectification (and no other).
async fn check_verification_task(
    tx: &mut Tx,
    task_id: &str,
    institution: &str,
    rect_id: &str,
) -> TaskResult<()> {
    let Some(vt) = crate::store::tasks::get(&mut **tx, task_id).await? else {
        return Err(TaskError::field(
            "task_id",
            format!("no task with id {task_id}"),
        ));
    };
    if ![TaskState::Drawn, TaskState::Published, TaskState::Closed].contains(&vt.state) {
        return Err(TaskError::field(
            "task_id",
            format!("task {} is {}: its team is not drawn yet", vt.id, vt.state),
        ));
    }
    let drawn = store::selections(&mut **tx, &vt.id).await?;
    if drawn != [institution.to_string()] {
        return Err(TaskError::field(
            "task_id",
            format!(
                "a verification task draws exactly the institution {institution} (task {} drew {} institution(s))",
                vt.id,
                drawn.len()
            ),
        ));
    }
    let result = crate::store::tasks::drawn_result(tx, &vt.id).await?;
    let has_team = result.is_some_and(|d| {
        d.selections
            .iter()
            .any(|s| s.institution == institution && !s.team.is_empty())
    });
    if !has_team {
        return Err(TaskError::field(
            "task_id",
            format!("task {} drew no team for the institution", vt.id),
        ));
    }
    match store::verification_of(&mut **tx, &vt.id).await? {
        Some(other) if other != rect_id => Err(TaskError::field(
            "task_id",
            format!("task {} already verifies rectification {other}", vt.id),
        )),
        Some(_) => Ok(()),
        None => {
            store::link_verification_task(tx, &vt.id, rect_id).await?;
            Ok(())
        }
    }
}

/// Whether a task was drawn to verify a rectification (整改核查): such tasks are exempt
/// from frequency caps (the plans' "at most N inspections a year" rules).
pub async fn is_verification_task(db: &Store, task_id: &str) -> TaskResult<bool> {
    Ok(store::is_verification_task(&mut *db.read().await?, task_id).await?)
}

/// Rectifications past their due date and not completed on `as_of` (the overdue report).
pub async fn overdue_rectifications(
    db: &Store,
    as_of: NaiveDate,
) -> TaskResult<Vec<RectificationView>> {
    Ok(
        store::rectifications(&mut *db.read().await?, None, None, Some(as_of))
            .await?
            .into_iter()
            .map(|r| rectification_view(r, as_of))
            .collect(),
    )
}

// ---- referrals ----

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralView {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub data: Referral,
    pub created_at: String,
    pub updated_at: String,
}

fn referral_view(r: Versioned<Referral>) -> ReferralView {
    ReferralView {
        id: r.id,
        version: r.version,
        data: r.data,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// Records a referral of a result's case (the task's lead).
pub async fn refer(
    db: &Store,
    who: &Principal,
    task_id: &str,
    institution: &str,
    input: &ReferralInput,
) -> TaskResult<ReferralView> {
    TaskError::check(input.validate())?;
    let mut tx = db.begin().await?;
    let t = task(&mut tx, task_id).await?;
    policy::rectify(who, &t.config)?;
    if results_store::latest_result(&mut tx, task_id, institution)
        .await?
        .is_none()
    {
        return Err(TaskError::NotFound(format!(
            "no result is recorded for institution {institution} in task {task_id}: a referral follows a result"
        )));
    }
    let r = Referral {
        stored_version: 1,
        task_id: task_id.into(),
        institution_id: institution.into(),
        recipient: input.recipient,
        recipient_name: input.recipient_name.clone(),
        referred_on: input.referred_on,
        case_number: input.case_number.clone(),
        amount_involved_fen: input.amount_involved_fen,
        status: ReferralStatus::Referred,
        notes: if input.note.trim().is_empty() {
            vec![]
        } else {
            vec![input.note.clone()]
        },
    };
    let id = new_id();
    let actor = who.actor();
    store::save_referral(&mut tx, &id, 1, &r, &actor).await?;
    audit::append(
        &mut tx,
        &actor,
        "referral.create",
        "referral",
        &id,
        &audit::payload_digest(&r),
    )
    .await?;
    tx.commit().await?;
    get_referral(db, &id).await
}

pub async fn get_referral(db: &Store, id: &str) -> TaskResult<ReferralView> {
    store::referral(&mut *db.read().await?, id)
        .await?
        .map(referral_view)
        .ok_or_else(|| TaskError::NotFound(format!("no referral with id {id}")))
}

pub async fn list_referrals(
    db: &Store,
    task_id: Option<&str>,
    institution: Option<&str>,
) -> TaskResult<Vec<ReferralView>> {
    Ok(
        store::referrals(&mut *db.read().await?, task_id, institution, false)
            .await?
            .into_iter()
            .map(referral_view)
            .collect(),
    )
}

/// A referral's status changes (accepted with its case number, returned, closed).
pub async fn update_referral(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &ReferralUpdate,
) -> TaskResult<ReferralView> {
    let mut e = Vec::new();
    crate::domain::registry::check_text(&mut e, "note", &input.note, false, 2000);
    if let Some(c) = &input.case_number {
        crate::domain::registry::check_text(&mut e, "case_number", c, true, 100);
    }
    TaskError::check(e)?;
    let mut tx = db.begin().await?;
    let Some(current) = store::referral(&mut *tx, id).await? else {
        return Err(TaskError::NotFound(format!("no referral with id {id}")));
    };
    let t = task(&mut tx, &current.data.task_id).await?;
    policy::rectify(who, &t.config)?;
    if matches!(
        current.data.status,
        ReferralStatus::Closed | ReferralStatus::Returned
    ) {
        return Err(TaskError::Conflict(format!(
            "referral {id} is {}: it does not change any more",
            current.data.status.code()
        )));
    }
    let mut next = current.data.clone();
    next.status = input.status;
    if let Some(c) = &input.case_number {
        next.case_number = c.clone();
    }
    if !input.note.trim().is_empty() {
        next.notes.push(input.note.clone());
    }
    if next == current.data {
        tx.commit().await?;
        return Ok(referral_view(current));
    }
    let actor = who.actor();
    if !store::save_referral(&mut tx, id, current.version + 1, &next, &actor).await? {
        return Err(TaskError::Conflict(format!(
            "referral {id} changed meanwhile; read it again"
        )));
    }
    audit::append(
        &mut tx,
        &actor,
        "referral.update",
        "referral",
        id,
        &audit::payload_digest(&next),
    )
    .await?;
    tx.commit().await?;
    get_referral(db, id).await
}

// ---- major cases ----

const MAJOR_CASE_RULE: &str = "major_case_rule";

pub async fn major_case_rule(db: &Store) -> TaskResult<MajorCaseRule> {
    let raw = store::setting(&mut *db.read().await?, MAJOR_CASE_RULE).await?;
    Ok(match raw {
        Some(s) => serde_json::from_str(&s).map_err(|e| TaskError::internal(e.to_string()))?,
        None => MajorCaseRule::default(),
    })
}

/// Changes the major-case rule (admins).
pub async fn set_major_case_rule(
    db: &Store,
    who: &Principal,
    rule: &MajorCaseRule,
) -> TaskResult<MajorCaseRule> {
    policy::admin_only(who, "change the major-case rule")?;
    TaskError::check(rule.validate())?;
    let mut tx = db.begin().await?;
    let actor = who.actor();
    let json = serde_json::to_string(rule).map_err(|e| TaskError::internal(e.to_string()))?;
    store::put_setting(&mut tx, MAJOR_CASE_RULE, &json, &actor).await?;
    audit::append(
        &mut tx,
        &actor,
        "major_case_rule.set",
        "setting",
        MAJOR_CASE_RULE,
        &audit::payload_digest(rule),
    )
    .await?;
    tx.commit().await?;
    Ok(*rule)
}

/// Why a case is major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MajorCaseTrigger {
    /// 涉案金额 at or above the threshold: counted from the result's first recording (办结).
    Amount,
    /// 移交公安机关: counted from the referral.
    PoliceReferral,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MajorCase {
    pub task_id: String,
    pub institution_id: String,
    pub triggers: Vec<MajorCaseTrigger>,
    /// 涉案金额 in fen, as the result (or a referral) states it.
    pub amount_involved_fen: i64,
    /// The day the report period starts (the earliest trigger).
    #[schema(value_type = String, format = Date)]
    pub since: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub report_due: NaiveDate,
    /// Unreported and past `report_due` on `as_of`.
    pub overdue: bool,
    /// Null until reported.
    pub reported: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MajorCaseList {
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub rule: MajorCaseRule,
    pub cases: Vec<MajorCase>,
}

/// The major cases under the rule: `unreported_only` lists those still to be reported
/// (what the list is for: a case stays on it until reported).
pub async fn major_cases(
    db: &Store,
    calendar: &RwLock<Calendar>,
    as_of: NaiveDate,
    unreported_only: bool,
) -> TaskResult<MajorCaseList> {
    let rule = major_case_rule(db).await?;
    let mut conn = db.read().await?;
    let by_amount = store::results_at_least(&mut *conn, rule.threshold_fen).await?;
    let police = if rule.police_referral {
        store::referrals(&mut *conn, None, None, true).await?
    } else {
        Vec::new()
    };
    let reports = store::major_case_reports(&mut *conn).await?;
    drop(conn);
    let mut cases: Vec<MajorCase> = Vec::new();
    let mut add = |task: &str, inst: &str, trigger, since: NaiveDate, amount: i64| match cases
        .iter_mut()
        .find(|c| c.task_id == task && c.institution_id == inst)
    {
        Some(c) => {
            if !c.triggers.contains(&trigger) {
                c.triggers.push(trigger);
            }
            c.since = c.since.min(since);
            c.amount_involved_fen = c.amount_involved_fen.max(amount);
        }
        None => cases.push(MajorCase {
            task_id: task.into(),
            institution_id: inst.into(),
            triggers: vec![trigger],
            amount_involved_fen: amount,
            since,
            report_due: since,
            overdue: false,
            reported: None,
        }),
    };
    for r in &by_amount {
        let since = china_date(&r.first_recorded_at).unwrap_or(as_of);
        add(
            &r.task_id,
            &r.institution_id,
            MajorCaseTrigger::Amount,
            since,
            crate::domain::result::amount_involved(&r.data),
        );
    }
    for p in &police {
        if p.data.recipient == Recipient::Police {
            add(
                &p.data.task_id,
                &p.data.institution_id,
                MajorCaseTrigger::PoliceReferral,
                p.data.referred_on,
                p.data.amount_involved_fen.unwrap_or(0),
            );
        }
    }
    let cal = calendar.read().expect("calendar lock");
    for c in &mut cases {
        c.report_due = if rule.working_days {
            cal.add_working_days(c.since, rule.report_within_days)
                .unwrap_or(c.since + chrono::Days::new(u64::from(rule.report_within_days)))
        } else {
            c.since + chrono::Days::new(u64::from(rule.report_within_days))
        };
        c.reported = reports
            .iter()
            .find(|r| r.task_id == c.task_id && r.institution_id == c.institution_id)
            .map(|r| {
                serde_json::json!({
                    "report": serde_json::from_str::<serde_json::Value>(&r.data).unwrap_or_default(),
                    "reported_by": r.reported_by,
                    "reported_at": r.reported_at,
                })
            });
        c.overdue = c.reported.is_none() && as_of > c.report_due;
    }
    drop(cal);
    if unreported_only {
        cases.retain(|c| c.reported.is_none());
    }
    cases.sort_by(|a, b| {
        (a.report_due, &a.task_id, &a.institution_id).cmp(&(
            b.report_due,
            &b.task_id,
            &b.institution_id,
        ))
    });
    Ok(MajorCaseList { as_of, rule, cases })
}

/// Records that a major case was reported to the level above (the task's lead). Only a
/// case the rule makes major can be reported; once.
pub async fn report_major_case(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    task_id: &str,
    institution: &str,
    input: &MajorCaseReportInput,
) -> TaskResult<MajorCase> {
    TaskError::check(input.validate())?;
    {
        let mut tx = db.begin().await?;
        let t = task(&mut tx, task_id).await?;
        policy::rectify(who, &t.config)?;
        tx.commit().await?;
    }
    let list = major_cases(db, calendar, today(db), false).await?;
    let Some(case) = list
        .cases
        .iter()
        .find(|c| c.task_id == task_id && c.institution_id == institution)
    else {
        return Err(TaskError::NotFound(format!(
            "institution {institution} in task {task_id} is not a major case under the rule"
        )));
    };
    if input.reported_on < case.since {
        return Err(TaskError::field(
            "reported_on",
            format!("must not be before the case became major ({})", case.since),
        ));
    }
    let mut tx = db.begin().await?;
    let actor = who.actor();
    let json = serde_json::to_string(input).map_err(|e| TaskError::internal(e.to_string()))?;
    if !store::insert_major_case_report(&mut tx, task_id, institution, &json, &actor).await? {
        return Err(TaskError::Conflict(format!(
            "the major case of institution {institution} in task {task_id} is reported already"
        )));
    }
    audit::append(
        &mut tx,
        &actor,
        "major_case.report",
        "task",
        task_id,
        &audit::payload_digest(&(institution, input)),
    )
    .await?;
    tx.commit().await?;
    let list = major_cases(db, calendar, today(db), false).await?;
    list.cases
        .into_iter()
        .find(|c| c.task_id == task_id && c.institution_id == institution)
        .ok_or_else(|| TaskError::internal("a reported major case vanished"))
}
