//! Annual plans (抽查计划) as a library: create and edit a draft, publish it, amend it,
//! create a round's task, the exclusions and exact counts of a round at its seal, and
//! progress against the plan. Who may do what is in `tasks::policy`; storage is
//! `store::plans`; nothing here knows HTTP. Steps refuse with a [`TaskError`] (the same
//! problem kinds as the task lifecycle) and change nothing when they refuse.

pub mod caps;
pub mod feed;
pub mod rotation;

use crate::auth::Principal;
use crate::domain::plan::{PlanInput, PlanState};
use crate::domain::task::{EntropySource, Protocol, StratumConfig, TaskInput};
use crate::draw::v2::Exclusion;
use crate::error::FieldError;
use crate::store::plans::{self as store, PlanRow, RoundTask};
use crate::store::records::{self, Update};
use crate::store::tasks::{self as task_store, TaskRow};
use crate::store::{Store, Tx, audit, registry};
use crate::tasks::{self, TaskError, TaskResult, policy};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

fn not_found(id: &str) -> TaskError {
    TaskError::NotFound(format!("no plan with id {id}"))
}

/// Reads a plan, or `NotFound`.
pub async fn get(db: &Store, id: &str) -> TaskResult<PlanRow> {
    store::get(&mut *db.read().await?, id)
        .await?
        .ok_or_else(|| not_found(id))
}

async fn lock(tx: &mut Tx, id: &str) -> TaskResult<PlanRow> {
    store::lock(tx, id).await?.ok_or_else(|| not_found(id))
}

/// Departments and items the plan names must exist (items: active, of a participating
/// department).
async fn check_references(tx: &mut Tx, input: &PlanInput) -> TaskResult<()> {
    let mut errors = Vec::new();
    if !registry::department_exists(&mut **tx, input.lead_department.as_str()).await? {
        errors.push(FieldError::new(
            "lead_department",
            format!("no department {}", input.lead_department),
        ));
    }
    for (i, d) in input.departments.iter().enumerate() {
        if !registry::department_exists(&mut **tx, d.code.as_str()).await? {
            errors.push(FieldError::new(
                format!("departments[{i}].code"),
                format!("no department {}", d.code),
            ));
        }
    }
    let codes: Vec<String> = input
        .departments
        .iter()
        .map(|d| d.code.to_string())
        .collect();
    let unknown = task_store::unknown_items(tx, &codes, &input.items).await?;
    for (i, code) in input.items.iter().enumerate() {
        if unknown.contains(code) {
            errors.push(FieldError::new(
                format!("items[{i}]"),
                format!("{code} is not an active inspection item of a participating department"),
            ));
        }
    }
    TaskError::check(errors)
}

/// The plan with its organization resolved: the one named; else, for an edit or an
/// amendment, the plan's own; else the caller's (an admin's, or a coordinator of another
/// department's: the lead department's default organization). It must belong to the lead
/// department; its region prefix is kept with the plan.
async fn with_organization(
    tx: &mut Tx,
    who: &Principal,
    input: &PlanInput,
    current: Option<&PlanInput>,
    field: &str,
) -> TaskResult<PlanInput> {
    let code = match (&input.organization, current, who.organization_code()) {
        (Some(c), _, _) => {
            crate::domain::organization::check_code(c).map_err(|e| TaskError::field(field, e))?;
            c.clone()
        }
        (None, Some(cur), _) => cur
            .organization
            .clone()
            .unwrap_or_else(|| cur.lead_department.as_str().to_string()),
        (None, None, Some(own)) if who.department.as_ref() == Some(&input.lead_department) => own,
        _ => input.lead_department.as_str().to_string(),
    };
    let Some(org) = crate::store::organizations::by_code(&mut **tx, &code).await? else {
        return Err(TaskError::field(field, format!("no organization {code}")));
    };
    if org.data.department != input.lead_department {
        return Err(TaskError::field(
            field,
            format!(
                "{code} belongs to department {}, not to the lead department {}",
                org.data.department, input.lead_department
            ),
        ));
    }
    let mut plan = input.clone();
    plan.organization = Some(code);
    plan.organization_region = Some(org.data.region_prefix);
    Ok(plan)
}

/// A slot's filter limited to the plan's organization's region, as a task's strata are
/// limited to its organization's (`None`: nothing of the region can match).
fn scoped_filter(
    plan: &PlanInput,
    filter: &crate::domain::task::StratumFilter,
) -> Option<crate::domain::task::StratumFilter> {
    let region = plan.organization_region.as_deref().unwrap_or("");
    let mut f = filter.clone();
    f.region_prefix = crate::domain::organization::restrict_strings(&f.region_prefix, region)?;
    Some(f)
}

/// Each slot's active members now (ids, sorted), an institution in the first slot whose
/// filter it matches, as the draw assigns it.
async fn populations(tx: &mut Tx, plan: &PlanInput) -> TaskResult<Vec<Vec<(String, String)>>> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for slot in plan.layout() {
        let Some(filter) = scoped_filter(plan, &slot.filter) else {
            out.push(Vec::new());
            continue;
        };
        let candidates = task_store::stratum_candidates(tx, &filter.to_store()).await?;
        out.push(
            candidates
                .into_iter()
                .filter(|(id, _)| taken.insert(id.clone()))
                .collect(),
        );
    }
    Ok(out)
}

/// 422 naming `groups[i]` for every group with no active member (checked at publication,
/// amendment and round creation: a draft may be written before the registry is loaded).
fn check_populations(plan: &PlanInput, pops: &[Vec<(String, String)>]) -> TaskResult<()> {
    let mut sizes = vec![0usize; plan.groups.len()];
    for (slot, pop) in plan.layout().iter().zip(pops) {
        sizes[slot.group] += pop.len();
    }
    TaskError::check(
        sizes
            .iter()
            .enumerate()
            .filter(|(_, n)| **n == 0)
            .map(|(i, _)| {
                FieldError::new(
                    format!("groups[{i}].filter"),
                    format!(
                        "the population of group {} is empty: no active institution {}matches it (or every match belongs to an earlier group)",
                        plan.groups[i].id,
                        match plan.organization_region.as_deref() {
                            Some(r) if !r.is_empty() => format!("of the plan's region {r} "),
                            _ => String::new(),
                        }
                    ),
                )
            })
            .collect(),
    )
}

async fn finish(
    mut tx: Tx,
    who: &Principal,
    action: &str,
    id: &str,
    digest: &str,
) -> TaskResult<()> {
    audit::append(&mut tx, &who.actor(), action, "plan", id, digest).await?;
    tx.commit().await?;
    Ok(())
}

/// Creates a draft plan (admin, or a coordinator of its lead department).
pub async fn create(db: &Store, who: &Principal, input: &PlanInput) -> TaskResult<PlanRow> {
    policy::plan_lead(who, &input.lead_department)?;
    TaskError::check(input.validate())?;
    let mut tx = db.begin().await?;
    let input = &with_organization(&mut tx, who, input, None, "organization").await?;
    policy::plan(who, input)?;
    check_references(&mut tx, input).await?;
    let stored = records::insert(&mut tx, &who.actor(), input).await?;
    tx.commit().await?;
    tracing::info!(plan = %stored.id, title = %input.title, "plan created");
    get(db, &stored.id).await
}

/// Replaces a draft plan (`If-Match` version); a published plan changes only by
/// amendments (409).
pub async fn update(
    db: &Store,
    who: &Principal,
    id: &str,
    version: i64,
    input: &PlanInput,
) -> TaskResult<Update<PlanInput>> {
    let mut tx = db.begin().await?;
    let current = lock(&mut tx, id).await?;
    policy::plan(who, &current.stored.data)?;
    policy::plan_lead(who, &input.lead_department)?;
    if current.state != PlanState::Draft {
        return Err(TaskError::Conflict(format!(
            "plan {id} is published and cannot be edited; amend it with POST /api/v1/plans/{id}/amendments and a reason"
        )));
    }
    TaskError::check(input.validate())?;
    let input = &with_organization(
        &mut tx,
        who,
        input,
        Some(&current.stored.data),
        "organization",
    )
    .await?;
    policy::plan(who, input)?;
    check_references(&mut tx, input).await?;
    let outcome = records::update(&mut tx, &who.actor(), id, version, input).await?;
    if matches!(outcome, Update::Updated(_)) {
        tx.commit().await?;
    }
    Ok(outcome)
}

/// Publishes a draft plan: from now on it is public and immutable (amendments aside).
pub async fn publish(db: &Store, who: &Principal, id: &str) -> TaskResult<PlanRow> {
    let mut tx = db.begin().await?;
    let plan = lock(&mut tx, id).await?;
    policy::plan(who, &plan.stored.data)?;
    if plan.state != PlanState::Draft {
        return Err(TaskError::Conflict(format!(
            "plan {id} is already published"
        )));
    }
    let pops = populations(&mut tx, &plan.stored.data).await?;
    check_populations(&plan.stored.data, &pops)?;
    check_references(&mut tx, &plan.stored.data).await?;
    store::publish(&mut tx, id).await?;
    let digest = audit::payload_digest(&serde_json::json!({"version": plan.stored.version}));
    finish(tx, who, "plan.publish", id, &digest).await?;
    tracing::info!(plan = %id, "plan published");
    get(db, id).await
}

/// An amendment of a published plan: the whole new plan and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentInput {
    /// Why the published plan changes (published with the new version).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub reason: String,
    pub plan: PlanInput,
}

/// Amends a published plan: a new version with its reason; every version stays visible.
/// The year, the rule and the number of rounds already drawn cannot change.
pub async fn amend(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &AmendmentInput,
) -> TaskResult<PlanRow> {
    let mut errors = Vec::new();
    crate::domain::registry::check_text(&mut errors, "reason", &input.reason, true, 2000);
    errors.extend(
        input
            .plan
            .validate()
            .into_iter()
            .map(|e| FieldError::new(format!("plan.{}", e.field), e.reason)),
    );
    TaskError::check(errors)?;
    let mut tx = db.begin().await?;
    let current = lock(&mut tx, id).await?;
    policy::plan(who, &current.stored.data)?;
    policy::plan_lead(who, &input.plan.lead_department)?;
    if current.state != PlanState::Published {
        return Err(TaskError::Conflict(format!(
            "plan {id} is a draft: edit it with PUT and If-Match; amendments are for published plans"
        )));
    }
    let old = &current.stored.data;
    let mut input = input.clone();
    input.plan =
        with_organization(&mut tx, who, &input.plan, Some(old), "plan.organization").await?;
    policy::plan(who, &input.plan)?;
    let input = &input;
    if input.plan.year != old.year {
        return Err(TaskError::field(
            "plan.year",
            "an amendment cannot change the year",
        ));
    }
    if input.plan.rule != old.rule {
        return Err(TaskError::field(
            "plan.rule",
            "an amendment cannot change the rule",
        ));
    }
    if input.plan == *old {
        return Err(TaskError::field("plan", "the amendment changes nothing"));
    }
    check_references(&mut tx, &input.plan).await?;
    let pops = populations(&mut tx, &input.plan).await?;
    check_populations(&input.plan, &pops).map_err(|e| match e {
        TaskError::Invalid(v) => TaskError::Invalid(
            v.into_iter()
                .map(|f| FieldError::new(format!("plan.{}", f.field), f.reason))
                .collect(),
        ),
        other => other,
    })?;
    let outcome = records::update(
        &mut tx,
        &who.actor(),
        id,
        current.stored.version,
        &input.plan,
    )
    .await?;
    let Update::Updated(stored) = outcome else {
        return Err(TaskError::Conflict(format!(
            "plan {id} changed while amending; read it again"
        )));
    };
    store::insert_amendment(
        &mut tx,
        id,
        &store::Amendment {
            version: stored.version,
            reason: input.reason.clone(),
            actor: who.actor().sub,
            at: stored.updated_at.clone(),
        },
    )
    .await?;
    finish(tx, who, "plan.amend", id, &audit::payload_digest(input)).await?;
    get(db, id).await
}

// ---- rounds ----

/// What the lead gives to create a round's task; everything else comes from the plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundTaskInput {
    /// The task's entropy plan, as for any suiji-draw/2 task.
    pub entropy_plan: Vec<EntropySource>,
    /// Reveals close at this instant (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    pub reveal_deadline: chrono::DateTime<chrono::Utc>,
    /// Default: the plan's title and the round.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub results_within_working_days: Option<u32>,
}

/// The task in force for each round: the newest one that is not cancelled.
fn current_rounds(rounds: &[RoundTask]) -> HashMap<u32, &RoundTask> {
    let mut out = HashMap::new();
    for t in rounds.iter().filter(|t| t.state != "cancelled") {
        out.insert(t.round, t);
    }
    out
}

fn is_drawn(state: &str) -> bool {
    matches!(state, "drawn" | "published" | "closed")
}

/// The institutions each drawn round took, as exclusions (task id, result hash, sorted
/// ids), for rounds before `before` (all rounds when `None`). With `strict`, a round
/// before `before` that is not drawn refuses (409 naming it).
async fn earlier_draws(
    conn: &mut sqlx::AnyConnection,
    plan_id: &str,
    plan: &PlanInput,
    before: Option<u32>,
    strict: bool,
) -> TaskResult<Vec<(u32, Exclusion)>> {
    let rounds = store::round_tasks(&mut *conn, plan_id).await?;
    let current = current_rounds(&rounds);
    let last = before.map_or(plan.rounds.len() as u32, |r| r - 1);
    let mut out = Vec::new();
    for q in 1..=last {
        let task = current.get(&q).filter(|t| is_drawn(&t.state));
        let Some(task) = task else {
            if strict {
                return Err(TaskError::Conflict(format!(
                    "round {q} of plan {plan_id} is not drawn yet ({}); round {} is sealed only after every earlier round is drawn",
                    current.get(&q).map_or("no task".to_string(), |t| format!(
                        "task {} is {}",
                        t.task_id, t.state
                    )),
                    last + 1
                )));
            }
            continue;
        };
        let record = task_store::load_draw2(&mut *conn, &task.task_id).await?;
        let Some(result) = record.and_then(|r| r.result) else {
            return Err(TaskError::internal(format!(
                "round {q} task {} is {} but has no suiji-draw/2 result",
                task.task_id, task.state
            )));
        };
        let mut institutions: Vec<String> = result
            .selections
            .iter()
            .map(|s| s.institution.clone())
            .collect();
        institutions.sort();
        institutions.dedup();
        out.push((
            q,
            Exclusion {
                task: task.task_id.clone(),
                result_hash: crate::draw::v2::result_hash2(&result),
                institutions,
                basis: None,
            },
        ));
    }
    Ok(out)
}

/// The round's strata: the plan's layout with this round's exact counts.
fn round_strata(plan: &PlanInput, counts: &[u64]) -> Vec<StratumConfig> {
    plan.layout()
        .into_iter()
        .zip(counts)
        .map(|(slot, &k)| {
            let g = &plan.groups[slot.group];
            let ratio = slot
                .ratio
                .or(g.goal.map(|goal| match goal {
                    crate::domain::plan::Goal::Share(r) => r,
                    crate::domain::plan::Goal::Full(_) => {
                        crate::domain::task::Ratio { num: 1, den: 1 }
                    }
                }))
                .unwrap_or(crate::domain::task::Ratio { num: 1, den: 1 });
            StratumConfig {
                id: slot.id,
                filter: slot.filter,
                ratio,
                min: k,
                max: Some(k),
                records: None,
                cap: None,
                group_by: None,
            }
        })
        .collect()
}

fn ids(pops: &[Vec<(String, String)>]) -> Vec<Vec<String>> {
    pops.iter()
        .map(|p| p.iter().map(|(id, _)| id.clone()).collect())
        .collect()
}

/// Creates round `r`'s suiji-draw/2 task from the published plan (lead). Its strata are
/// the plan's groups (split by risk grade where the group has risk ratios) with the counts
/// the round would draw now; the counts are computed again, exactly, when the task is
/// sealed (`min` = `max` = the count).
pub async fn create_round_task(
    db: &Store,
    who: &Principal,
    plan_id: &str,
    r: u32,
    input: &RoundTaskInput,
) -> TaskResult<TaskRow> {
    let mut tx = db.begin().await?;
    let plan = lock(&mut tx, plan_id).await?;
    let data = &plan.stored.data;
    policy::plan(who, data)?;
    if plan.state != PlanState::Published {
        return Err(TaskError::Conflict(format!(
            "plan {plan_id} is a draft; publish it before creating its rounds' tasks (抽查计划公示 comes first)"
        )));
    }
    let Some((start, end)) = data.window(r) else {
        return Err(TaskError::NotFound(format!(
            "plan {plan_id} has no round {r} (it has {} rounds)",
            data.rounds.len()
        )));
    };
    let rounds = store::round_tasks(&mut *tx, plan_id).await?;
    if let Some(t) = current_rounds(&rounds).get(&r) {
        return Err(TaskError::Conflict(format!(
            "round {r} of plan {plan_id} already has task {} ({}); cancel it to create another",
            t.task_id, t.state
        )));
    }
    let pops = populations(&mut tx, data).await?;
    check_populations(data, &pops)?;
    let drawn: HashSet<String> = earlier_draws(&mut tx, plan_id, data, Some(r), false)
        .await?
        .into_iter()
        .flat_map(|(_, e)| e.institutions)
        .collect();
    let counts = data.round_counts(r, &ids(&pops), &drawn);
    let task = TaskInput {
        title: input
            .title
            .clone()
            .unwrap_or_else(|| format!("{} 第{r}轮", data.title)),
        year: data.year,
        round: r,
        lead_department: data.lead_department.clone(),
        departments: data.departments.clone(),
        strata: round_strata(data, &counts),
        cross_region: data.cross_region,
        max_assignments_per_inspector: None,
        inspection_start: start,
        inspection_end: end,
        items: data.items.clone(),
        entropy_plan: input.entropy_plan.clone(),
        protocol: Some(Protocol::V2),
        reveal_deadline: Some(input.reveal_deadline),
        results_within_working_days: input.results_within_working_days,
        selection_publish_by: None,
        // The round's task belongs to the plan's organization (the lifecycle fills in its
        // region and checks the caller governs it), so its pool is the plan's region.
        organization: data.organization.clone(),
        organization_region: None,
        list: None,
        mode: None,
        targets: Vec::new(),
        recheck: None,
    };
    // The plan's row lock is released here; the task is created by the task lifecycle in
    // its own transaction, then linked (a second creation for the round in between would
    // be refused by the round check above only once linked: rare, and visible in progress).
    drop(tx);
    let created = tasks::create(db, who, &task).await?;
    let mut tx = db.begin().await?;
    lock(&mut tx, plan_id).await?;
    let rounds = store::round_tasks(&mut *tx, plan_id).await?;
    if let Some(t) = current_rounds(&rounds).get(&r) {
        return Err(TaskError::Conflict(format!(
            "round {r} of plan {plan_id} got task {} meanwhile; task {} stays unlinked (cancel it)",
            t.task_id, created.id
        )));
    }
    store::insert_round_task(&mut tx, plan_id, r, &created.id, plan.stored.version).await?;
    let digest = audit::payload_digest(&serde_json::json!({"round": r, "task": created.id}));
    finish(tx, who, "plan.round_task", plan_id, &digest).await?;
    Ok(created)
}

/// What sealing a round task of a plan changes: the strata with this round's exact counts
/// and the earlier rounds' draws as exclusions.
pub struct RoundSeal {
    pub strata: Vec<StratumConfig>,
    pub exclusions: Vec<Exclusion>,
    /// With the plan's `rotation`: `(institution, inspector)` pairs of the previous round
    /// and the previous year, to become conflicts of the pool ([`rotation::apply`]).
    pub rotation: std::collections::BTreeSet<(String, String)>,
}

/// The seal of a round task (`tasks::seal` calls this under its transaction; `None` for a
/// task that belongs to no plan). Refuses (409) while an earlier round is not drawn.
/// `candidates` (per stratum, the task's order) are reduced to each institution's first
/// stratum minus every institution an earlier round drew, so no stratum contains an
/// excluded institution (draw-spec B.1, B.7); the counts are computed on the population
/// now.
pub async fn seal_round(
    tx: &mut Tx,
    task: &TaskRow,
    candidates: &mut [Vec<(String, String)>],
) -> TaskResult<Option<RoundSeal>> {
    let Some((plan_id, r)) = store::round_of_task(&mut **tx, &task.id).await? else {
        return Ok(None);
    };
    let plan = lock(tx, &plan_id).await?;
    let data = &plan.stored.data;
    let layout: Vec<String> = data.layout().into_iter().map(|s| s.id).collect();
    let strata: Vec<&String> = task.config.strata.iter().map(|s| &s.id).collect();
    if layout.iter().collect::<Vec<_>>() != strata || candidates.len() != layout.len() {
        return Err(TaskError::Conflict(format!(
            "plan {plan_id} was amended after this round's task was created and its groups differ; cancel task {} and create round {r}'s task again",
            task.id
        )));
    }
    let draws = earlier_draws(tx, &plan_id, data, Some(r), true).await?;
    let drawn: HashSet<String> = draws
        .iter()
        .flat_map(|(_, e)| e.institutions.iter().cloned())
        .collect();
    let mut taken: HashSet<String> = HashSet::new();
    for c in candidates.iter_mut() {
        c.retain(|(id, _)| taken.insert(id.clone()));
    }
    let counts = data.round_counts(r, &ids(candidates), &drawn);
    for c in candidates.iter_mut() {
        c.retain(|(id, _)| !drawn.contains(id));
    }
    let mut rotation_pairs = std::collections::BTreeSet::new();
    if data.rotation {
        let mut tasks: Vec<String> = draws
            .iter()
            .filter(|(q, _)| *q + 1 == r)
            .map(|(_, e)| e.task.clone())
            .collect();
        tasks.extend(store::drawn_tasks_of_year(&mut **tx, data.year - 1).await?);
        for t in tasks {
            rotation_pairs.extend(rotation::inspected_pairs(tx, &t).await?);
        }
    }
    let mut exclusions: Vec<Exclusion> = draws.into_iter().map(|(_, e)| e).collect();
    exclusions.sort_by(|a, b| a.task.cmp(&b.task));
    Ok(Some(RoundSeal {
        strata: round_strata(data, &counts),
        exclusions,
        rotation: rotation_pairs,
    }))
}

// ---- progress ----

/// A group's progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupProgress {
    pub id: String,
    pub name: String,
    /// Active members now.
    pub population: u64,
    /// Members drawn in the rounds drawn so far.
    pub drawn: u64,
    /// What the plan inspects of this population by its end (`coverage`: the goal rounded
    /// up; `no_repeat`: the rounds' counts together).
    pub goal: u64,
    pub remaining: u64,
}

/// A round's progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoundProgress {
    pub round: u32,
    #[schema(value_type = Option<String>, format = Date)]
    pub start: Option<chrono::NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub end: Option<chrono::NaiveDate>,
    /// `not_created`, or the task's state.
    pub state: String,
    pub task_id: Option<String>,
    /// Institutions this round drew.
    pub drawn: u64,
    /// The window has ended and the round is not drawn.
    pub overdue: bool,
}

/// Progress against a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub plan_id: String,
    pub version: i64,
    pub state: PlanState,
    #[schema(value_type = String, format = Date)]
    pub today: chrono::NaiveDate,
    pub groups: Vec<GroupProgress>,
    pub rounds: Vec<RoundProgress>,
    /// Round counts are fixed at each round's seal, from the population then.
    pub note: String,
}

/// Per group: population now, drawn so far, goal, remaining; per round: state, task,
/// window, overdue (on the store's clock).
pub async fn progress(db: &Store, id: &str) -> TaskResult<Progress> {
    let mut tx = db.begin().await?;
    let plan = store::get(&mut *tx, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let data = &plan.stored.data;
    let pops = populations(&mut tx, data).await?;
    let draws = earlier_draws(&mut tx, id, data, None, false).await?;
    let rounds = store::round_tasks(&mut *tx, id).await?;
    drop(tx);
    let drawn: HashSet<&String> = draws.iter().flat_map(|(_, e)| &e.institutions).collect();
    let mut groups: Vec<GroupProgress> = data
        .groups
        .iter()
        .map(|g| GroupProgress {
            id: g.id.clone(),
            name: g.name.clone(),
            population: 0,
            drawn: 0,
            goal: 0,
            remaining: 0,
        })
        .collect();
    for (slot, pop) in data.layout().iter().zip(&pops) {
        let g = &mut groups[slot.group];
        g.population += pop.len() as u64;
        g.drawn += pop.iter().filter(|(i, _)| drawn.contains(i)).count() as u64;
    }
    for (i, g) in groups.iter_mut().enumerate() {
        g.goal = data.goal_count(i, g.population);
        g.remaining = g.goal.saturating_sub(g.drawn);
    }
    let today = chrono::DateTime::from_timestamp(db.clock().unix(), 0)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let current = current_rounds(&rounds);
    let by_round: HashMap<u32, u64> = draws
        .iter()
        .map(|(q, e)| (*q, e.institutions.len() as u64))
        .collect();
    let rounds = data
        .rounds
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let q = i as u32 + 1;
            let t = current.get(&q);
            let state = t.map_or("not_created".to_string(), |t| t.state.clone());
            RoundProgress {
                round: q,
                start: w.start,
                end: w.end,
                overdue: !is_drawn(&state) && w.end.is_some_and(|e| e < today),
                state,
                task_id: t.map(|t| t.task_id.clone()),
                drawn: by_round.get(&q).copied().unwrap_or(0),
            }
        })
        .collect();
    Ok(Progress {
        plan_id: id.to_string(),
        version: plan.stored.version,
        state: plan.state,
        today,
        groups,
        rounds,
        note: "每轮抽取数量在该轮任务封存时按当时的对象库计算 / each round's counts are computed when its task is sealed, from the registry at that moment".into(),
    })
}

// ---- what the public sees ----

/// A published version of a plan: the first publication (no reason) or an amendment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicPlanVersion {
    pub version: i64,
    /// Why it changed; null for the version first published.
    pub reason: Option<String>,
    pub at: String,
    pub plan: PlanInput,
}

/// A published plan: the plan in force, every published version, and progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicPlan {
    pub id: String,
    /// The organization the plan belongs to (its code, also in `plan.organization`).
    pub organization: String,
    /// Its name, e.g. 鄂尔多斯市医疗保障局 (the department's name for its default
    /// organization).
    pub organization_name: String,
    pub version: i64,
    pub published_at: Option<String>,
    pub plan: PlanInput,
    /// Every published version, oldest first (drafts before publication are not public).
    pub versions: Vec<PublicPlanVersion>,
    pub progress: Progress,
}

/// A published plan in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicPlanSummary {
    pub id: String,
    /// The organization the plan belongs to.
    pub organization: String,
    pub title: String,
    pub year: i32,
    pub version: i64,
    pub published_at: Option<String>,
    pub groups: usize,
    pub rounds: usize,
}

/// The code of a plan's organization (plans written before organizations: the lead
/// department's default organization).
pub fn plan_organization(plan: &PlanInput) -> String {
    plan.organization
        .clone()
        .unwrap_or_else(|| plan.lead_department.as_str().to_string())
}

/// Published plans, newest year first.
pub async fn public_plans(db: &Store, year: Option<i32>) -> TaskResult<Vec<PublicPlanSummary>> {
    let rows = store::list(&mut *db.read().await?, year, Some(PlanState::Published)).await?;
    Ok(rows
        .into_iter()
        .map(|r| PublicPlanSummary {
            organization: plan_organization(&r.stored.data),
            id: r.stored.id,
            title: r.stored.data.title.clone(),
            year: r.stored.data.year,
            version: r.stored.version,
            published_at: r.published_at,
            groups: r.stored.data.groups.len(),
            rounds: r.stored.data.rounds.len(),
        })
        .collect())
}

/// A published plan, or `None` (unknown or still a draft: the same answer).
pub async fn public_plan(db: &Store, id: &str) -> TaskResult<Option<PublicPlan>> {
    let Some(row) = store::get(&mut *db.read().await?, id).await? else {
        return Ok(None);
    };
    if row.state != PlanState::Published {
        return Ok(None);
    }
    let amendments = store::amendments(&mut *db.read().await?, id).await?;
    let reasons: HashMap<i64, String> = amendments
        .into_iter()
        .map(|a| (a.version, a.reason))
        .collect();
    let first_published = reasons.keys().min().map_or(row.stored.version, |v| v - 1);
    let mut versions = Vec::new();
    for h in db.history("plan", id).await? {
        if h.version < first_published {
            continue;
        }
        let plan: PlanInput = serde_json::from_value::<crate::domain::plan::StoredPlan>(h.data)
            .map_err(|e| TaskError::internal(format!("plan {id} version {}: {e}", h.version)))?
            .into();
        versions.push(PublicPlanVersion {
            version: h.version,
            reason: reasons.get(&h.version).cloned(),
            at: h.at,
            plan,
        });
    }
    let organization = plan_organization(&row.stored.data);
    let organization_name =
        match crate::store::organizations::by_code(&mut *db.read().await?, &organization).await? {
            Some(o) => o.data.name,
            None => organization.clone(),
        };
    Ok(Some(PublicPlan {
        organization,
        organization_name,
        id: row.stored.id.clone(),
        version: row.stored.version,
        published_at: row.published_at,
        plan: row.stored.data,
        versions,
        progress: progress(db, id).await?,
    }))
}
