//! Objections to published results (异议, issue 15 part 5): filed by anyone through the
//! public API (size- and rate-limited), followed with a reference and a secret token,
//! decided by the task's lead within a working-day limit. An upheld objection corrects
//! the result through the results' own correction path (a new version with the
//! objection's reference and reason, published at once; the earlier version stays
//! public). Storage behind `store::objections`; who may do what in `tasks::policy`.

use crate::auth::Principal;
use crate::domain::Actor;
use crate::domain::calendar::Calendar;
use crate::domain::objection::{
    DecideObjectionInput, FileObjectionInput, FilerKind, Objection, ObjectionDecision,
    ObjectionOutcome, ObjectionRules, ObjectionState, STORED_OBJECTION_VERSION,
};
use crate::domain::task::TaskState;
use crate::store::objections as store;
use crate::store::versioned::Versioned;
use crate::store::{Store, Tx, audit, new_id};
use crate::tasks::{PublishResultsInput, TaskError, TaskResult, policy};
use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::RwLock;
use utoipa::ToSchema;

const RULES: &str = "objection_rules";

/// Why a public filing is refused for its rate: the API answers 429.
#[derive(Debug)]
pub struct RateLimited(pub String);

/// A filing's failure: the usual task errors, or too many filings.
#[derive(Debug)]
pub enum FileError {
    Task(TaskError),
    RateLimited(RateLimited),
}

impl From<TaskError> for FileError {
    fn from(e: TaskError) -> Self {
        Self::Task(e)
    }
}

impl From<sqlx::Error> for FileError {
    fn from(e: sqlx::Error) -> Self {
        Self::Task(e.into())
    }
}

pub async fn rules(db: &Store) -> TaskResult<ObjectionRules> {
    let raw = crate::store::followup::setting(&mut *db.read().await?, RULES).await?;
    Ok(match raw {
        Some(s) => serde_json::from_str(&s).map_err(|e| TaskError::internal(e.to_string()))?,
        None => ObjectionRules::default(),
    })
}

/// Changes the rules (admins; audited). Objections already filed keep their due date.
pub async fn set_rules(
    db: &Store,
    who: &Principal,
    rules: &ObjectionRules,
) -> TaskResult<ObjectionRules> {
    policy::admin_only(who, "change the objection rules")?;
    TaskError::check(rules.validate())?;
    let mut tx = db.begin().await?;
    let actor = who.actor();
    let json = serde_json::to_string(rules).map_err(|e| TaskError::internal(e.to_string()))?;
    crate::store::followup::put_setting(&mut tx, RULES, &json, &actor).await?;
    audit::append(
        &mut tx,
        &actor,
        "objection_rules.set",
        "setting",
        RULES,
        &audit::payload_digest(rules),
    )
    .await?;
    tx.commit().await?;
    Ok(*rules)
}

fn today(db: &Store) -> NaiveDate {
    db.clock().china_today()
}

/// What the filer gets back: the only time the token is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionReceipt {
    pub id: String,
    /// 异议编号
    pub reference: String,
    /// The secret to follow the objection (`GET /public/v1/objections/{id}?token=…`);
    /// shown once, kept only as its hash.
    pub token: String,
    pub state: ObjectionState,
    #[schema(value_type = String, format = Date)]
    pub due_date: NaiveDate,
    pub status_url: String,
}

/// An objection as the public reads it: without the filer's contact.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicObjection {
    pub reference: String,
    pub task_id: String,
    pub institution_id: String,
    pub result_version: i64,
    pub filer_kind: FilerKind,
    #[schema(value_type = String, format = Date)]
    pub filed_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub due_date: NaiveDate,
    /// The state today (`overdue`: filed and past its due date).
    pub state: ObjectionState,
    pub state_zh: String,
    pub decision: Option<ObjectionDecision>,
}

pub fn public_view(o: &Objection, as_of: NaiveDate) -> PublicObjection {
    let s = o.state_on(as_of);
    PublicObjection {
        reference: o.reference.clone(),
        task_id: o.task_id.clone(),
        institution_id: o.institution_id.clone(),
        result_version: o.result_version,
        filer_kind: o.filer_kind,
        filed_on: o.filed_on,
        due_date: o.due_date,
        state: s,
        state_zh: s.label_zh().into(),
        decision: o.decision.clone(),
    }
}

/// An objection as the public task view holds it (the stored state: a cached page does
/// not age; `due_date` tells when an undecided one is late).
pub fn stored_view(o: &Objection) -> PublicObjection {
    PublicObjection {
        state_zh: o.state.label_zh().into(),
        ..public_view(o, o.filed_on)
    }
}

/// One objection on the portal's result, in words: reference, filing, outcome.
pub fn portal_line(o: &PublicObjection, today: NaiveDate) -> String {
    let who = match o.filer_kind {
        FilerKind::Institution => "被检查机构",
        FilerKind::Public => "社会公众",
    };
    let state = match o.state {
        ObjectionState::Filed if today > o.due_date => ObjectionState::Overdue,
        s => s,
    };
    match &o.decision {
        Some(d) => format!(
            "{}（{} {}提出）：{}，{}（{} 处理）",
            o.reference,
            o.filed_on,
            who,
            state.label_zh(),
            d.reason,
            d.decided_on
        ),
        None => format!(
            "{}（{} {}提出）：{}，限 {} 前处理",
            o.reference,
            o.filed_on,
            who,
            state.label_zh(),
            o.due_date
        ),
    }
}

/// An objection as the API answers those who handle it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionView {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub public: PublicObjection,
    pub evidence: String,
    pub evidence_link: Option<String>,
    /// The filer's contact: only for those who decide (never public).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn view(o: Versioned<Objection>, as_of: NaiveDate, with_contact: bool) -> ObjectionView {
    ObjectionView {
        id: o.id,
        version: o.version,
        public: public_view(&o.data, as_of),
        evidence: o.data.evidence.clone(),
        evidence_link: o.data.evidence_link.clone(),
        contact: with_contact.then(|| o.data.contact.clone()),
        created_at: o.created_at,
        updated_at: o.updated_at,
    }
}

/// The latest published version of a published task's result, or 404 (an unknown task,
/// an unpublished task or result: the public cannot tell them apart).
async fn published_version(tx: &mut Tx, task_id: &str, institution: &str) -> TaskResult<i64> {
    let missing = || {
        TaskError::NotFound(format!(
            "no published result for institution {institution} in task {task_id}"
        ))
    };
    let Some(t) = crate::store::tasks::get(&mut **tx, task_id).await? else {
        return Err(missing());
    };
    if ![TaskState::Published, TaskState::Closed].contains(&t.state) {
        return Err(missing());
    }
    crate::store::publication::results(&mut **tx, task_id)
        .await?
        .into_iter()
        .filter(|r| r.institution_id == institution && r.published_at.is_some())
        .map(|r| r.version)
        .max()
        .ok_or_else(missing)
}

/// `hours` before now on the service's clock, as stored (objections are dated on it).
fn since(db: &Store, hours: i64) -> String {
    crate::store::stored_time(db.clock().now() - chrono::Duration::hours(hours))
}

/// Files an objection to the latest published version of a result (public, no token).
pub async fn file(
    db: &Store,
    calendar: &RwLock<Calendar>,
    task_id: &str,
    institution: &str,
    input: &FileObjectionInput,
) -> Result<ObjectionReceipt, FileError> {
    let rules = rules(db).await?;
    let mut tx = db.begin().await?;
    let result_version = published_version(&mut tx, task_id, institution).await?;
    TaskError::check(input.validate())?;
    let on_result =
        store::filed_since(&mut tx, &since(db, 24), Some((task_id, institution))).await?;
    if on_result >= i64::from(rules.per_result_per_day) {
        return Err(FileError::RateLimited(RateLimited(format!(
            "this result received {on_result} objections in the last 24 hours (the limit is {}): try again later",
            rules.per_result_per_day
        ))));
    }
    let all = store::filed_since(&mut tx, &since(db, 1), None).await?;
    if all >= i64::from(rules.per_hour) {
        return Err(FileError::RateLimited(RateLimited(format!(
            "{all} objections were filed in the last hour (the limit is {}): try again later",
            rules.per_hour
        ))));
    }
    let filed_on = today(db);
    let due_date = calendar
        .read()
        .expect("calendar lock")
        .add_working_days(filed_on, rules.decide_within)
        .map_err(TaskError::from)?;
    let id = new_id();
    let reference = format!(
        "YY-{}-{}",
        filed_on.format("%Y%m%d"),
        id[id.len() - 6..].to_ascii_uppercase()
    );
    let token = {
        use rand::Rng;
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        hex::encode(b)
    };
    let o = Objection {
        stored_version: STORED_OBJECTION_VERSION,
        reference: reference.clone(),
        task_id: task_id.into(),
        institution_id: institution.into(),
        result_version,
        filer_kind: input.filer_kind,
        evidence: input.evidence.trim().to_string(),
        evidence_link: input.evidence_link.clone(),
        contact: input.contact.trim().to_string(),
        filed_on,
        due_date,
        state: ObjectionState::Filed,
        decision: None,
    };
    let actor = Actor {
        sub: format!("objection:{reference}"),
        role: "public".into(),
    };
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    store::save(&mut tx, &id, 1, &o, Some(&hash), &actor).await?;
    audit::append(
        &mut tx,
        &actor,
        "objection.file",
        "task",
        task_id,
        &audit::payload_digest(&(&id, &o)),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(task = %task_id, %institution, %reference, "objection filed");
    Ok(ObjectionReceipt {
        status_url: format!("/public/v1/objections/{id}?token={token}"),
        id,
        reference,
        token,
        state: ObjectionState::Filed,
        due_date,
    })
}

/// An objection's status for its filer: the token must match (404 otherwise, as for an
/// unknown id).
pub async fn status(db: &Store, id: &str, token: &str) -> TaskResult<PublicObjection> {
    let missing = || TaskError::NotFound(format!("no objection {id} with this token"));
    let mut conn = db.read().await?;
    let Some(hash) = store::token_sha256(&mut *conn, id).await? else {
        return Err(missing());
    };
    let given = hex::encode(Sha256::digest(token.as_bytes()));
    if !constant_time_eq(given.as_bytes(), hash.as_bytes()) {
        return Err(missing());
    }
    let o = store::get(&mut *conn, id).await?.ok_or_else(missing)?;
    Ok(public_view(&o.data, today(db)))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The objections to a task's results, as the public page shows them (no contact).
pub async fn public_for_task(db: &Store, task_id: &str) -> TaskResult<Vec<PublicObjection>> {
    let as_of = today(db);
    Ok(
        store::list(&mut *db.read().await?, Some(task_id), None, None, 10_000, 0)
            .await?
            .into_iter()
            .map(|o| public_view(&o.data, as_of))
            .collect(),
    )
}

async fn may_decide(db: &Store, who: &Principal, task_id: &str) -> TaskResult<bool> {
    let t = crate::store::tasks::get(&mut *db.read().await?, task_id)
        .await?
        .ok_or_else(|| TaskError::not_found(task_id))?;
    Ok(policy::decide_objection(who, &t.config).is_ok())
}

/// One objection (readers; the contact only for those who decide it).
pub async fn get(db: &Store, who: &Principal, id: &str) -> TaskResult<ObjectionView> {
    let o = store::get(&mut *db.read().await?, id)
        .await?
        .ok_or_else(|| TaskError::NotFound(format!("no objection with id {id}")))?;
    let contact = may_decide(db, who, &o.data.task_id).await?;
    Ok(view(o, today(db), contact))
}

/// The listing's filters as given: ids of at most 64 characters.
pub fn check_filters(task_id: Option<&str>, institution_id: Option<&str>) -> TaskResult<()> {
    for (field, v) in [("task_id", task_id), ("institution_id", institution_id)] {
        if v.is_some_and(|t| t.chars().count() > 64) {
            return Err(TaskError::field(field, "must be at most 64 characters"));
        }
    }
    Ok(())
}

/// Objections, by task, institution and stored state (without contacts).
pub async fn list(
    db: &Store,
    task_id: Option<&str>,
    institution: Option<&str>,
    state: Option<ObjectionState>,
    limit: i64,
    offset: i64,
) -> TaskResult<Vec<ObjectionView>> {
    let as_of = today(db);
    let rows = store::list(
        &mut *db.read().await?,
        task_id,
        institution,
        state.map(ObjectionState::code),
        limit,
        offset,
    )
    .await?;
    Ok(rows.into_iter().map(|o| view(o, as_of, false)).collect())
}

/// The lead decides: upheld (the corrected result recorded and published as a correction
/// version naming the objection) or rejected. Once.
pub async fn decide(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &DecideObjectionInput,
) -> TaskResult<ObjectionView> {
    let current = store::get(&mut *db.read().await?, id)
        .await?
        .ok_or_else(|| TaskError::NotFound(format!("no objection with id {id}")))?;
    let t = crate::store::tasks::get(&mut *db.read().await?, &current.data.task_id)
        .await?
        .ok_or_else(|| TaskError::not_found(&current.data.task_id))?;
    policy::decide_objection(who, &t.config)?;
    if current.data.state != ObjectionState::Filed {
        return Err(TaskError::Conflict(format!(
            "objection {} is decided already ({})",
            current.data.reference,
            current.data.state.code()
        )));
    }
    TaskError::check(input.validate())?;
    let decided_on = input.decided_on.unwrap_or_else(|| today(db));
    if decided_on < current.data.filed_on {
        return Err(TaskError::field(
            "decided_on",
            format!("must not be before the filing ({})", current.data.filed_on),
        ));
    }
    let (task_id, inst) = (&current.data.task_id, &current.data.institution_id);
    let correction_version = match (input.outcome, &input.result) {
        (ObjectionOutcome::Upheld, Some(r)) => {
            let mut corrected = r.clone();
            corrected.correction_reason = Some(format!(
                "异议 {} 成立：{}",
                current.data.reference,
                input.reason.trim()
            ));
            let recorded = crate::tasks::record_result(db, who, task_id, inst, &corrected)
                .await
                .map_err(|e| match e {
                    TaskError::Invalid(errors) => TaskError::Invalid(
                        errors
                            .into_iter()
                            .map(|f| {
                                crate::error::FieldError::new(
                                    format!("result.{}", f.field),
                                    f.reason,
                                )
                            })
                            .collect(),
                    ),
                    other => other,
                })?;
            if !recorded.created {
                return Err(TaskError::field(
                    "result",
                    "the corrected result equals the published one: nothing to correct",
                ));
            }
            crate::tasks::publish_results(
                db,
                who,
                task_id,
                &PublishResultsInput {
                    institutions: vec![inst.clone()],
                },
            )
            .await?;
            recorded.versions.last().map(|v| v.version)
        }
        _ => None,
    };
    let mut next = current.data.clone();
    next.state = match input.outcome {
        ObjectionOutcome::Upheld => ObjectionState::Upheld,
        ObjectionOutcome::Rejected => ObjectionState::Rejected,
    };
    next.decision = Some(ObjectionDecision {
        outcome: input.outcome,
        reason: input.reason.trim().to_string(),
        decided_on,
        correction_version,
    });
    let mut tx = db.begin().await?;
    let actor = who.actor();
    if !store::save(&mut tx, id, current.version + 1, &next, None, &actor).await? {
        return Err(TaskError::Conflict(format!(
            "objection {id} changed meanwhile; read it again"
        )));
    }
    audit::append(
        &mut tx,
        &actor,
        "objection.decide",
        "task",
        task_id,
        &audit::payload_digest(&(id, &next)),
    )
    .await?;
    tx.commit().await?;
    get(db, who, id).await
}

/// An objection still undecided past its due date, as the overdue report lists it: the
/// task's lead department owes the decision. Never the filer's contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueObjection {
    pub objection_id: String,
    pub reference: String,
    pub task_id: String,
    pub institution_id: String,
    /// The task's lead department, which decides.
    pub department: String,
    #[schema(value_type = String, format = Date)]
    pub filed_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
    /// Working days from the due date to `as_of`; null if the calendar does not cover it.
    pub working_days_late: Option<u32>,
}

/// Every objection filed and still undecided past its due date on `as_of`, oldest filed
/// first (all of them: read page by page, never cut off).
pub async fn overdue(
    db: &Store,
    calendar: &RwLock<Calendar>,
    as_of: NaiveDate,
) -> TaskResult<Vec<OverdueObjection>> {
    const PAGE: i64 = 500;
    let mut late = Vec::new();
    let mut leads: std::collections::HashMap<String, String> = Default::default();
    for page in 0.. {
        let rows = store::list(
            &mut *db.read().await?,
            None,
            None,
            Some(ObjectionState::Filed.code()),
            PAGE,
            page * PAGE,
        )
        .await?;
        let last = (rows.len() as i64) < PAGE;
        for o in rows {
            if o.data.state_on(as_of) != ObjectionState::Overdue {
                continue;
            }
            let department = match leads.get(&o.data.task_id) {
                Some(d) => d.clone(),
                None => {
                    let t = crate::store::tasks::get(&mut *db.read().await?, &o.data.task_id)
                        .await?
                        .ok_or_else(|| TaskError::not_found(&o.data.task_id))?;
                    let d = t.config.lead_department.to_string();
                    leads.insert(o.data.task_id.clone(), d.clone());
                    d
                }
            };
            late.push((o, department));
        }
        if last {
            break;
        }
    }
    let cal = calendar.read().expect("calendar lock");
    Ok(late
        .into_iter()
        .map(|(o, department)| OverdueObjection {
            working_days_late: cal.working_days_between(o.data.due_date, as_of).ok(),
            objection_id: o.id,
            reference: o.data.reference,
            task_id: o.data.task_id,
            institution_id: o.data.institution_id,
            department,
            filed_on: o.data.filed_on,
            due: o.data.due_date,
        })
        .collect())
}
