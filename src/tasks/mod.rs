//! The task lifecycle as a library: create, commit, seal, reveal, draw, replace, cancel,
//! publish, record and publish results. Each step takes the caller, the task id and a
//! typed input, checks who may do it ([`policy`]) and in which state, changes the store in
//! one transaction with its audit entry, and answers a typed value or a [`TaskError`].
//! The HTTP handlers in `api/` and the CLI call these functions; nothing here knows HTTP.

/// Dispatch: an inspector's assignments and a department's inbox.
pub mod dispatch;
mod error;
/// Evidence attached to drawn institutions' results.
pub mod evidence;
pub mod policy;
pub mod recheck;
pub mod results;
/// Targeted inspections (定向): the named institutions as the pool.
pub mod targeted;
pub mod v2;

pub use error::{TaskError, TaskResult};

use crate::auth::Principal;
use crate::domain::registry::{InspectorInput, InstitutionInput, check_text};
use crate::domain::result::ResultInput;
use crate::domain::task::{
    Protocol, SealInputs, TaskInput, TaskState, assemble_snapshot, unix_rfc3339,
};
use crate::domain::{CreditCode, HexValue, IdempotencyKey, Source};
use crate::draw::{self, CanonicalJson, EntropyValue, ReplaceError, Replacement, quicknet};
use crate::error::{FieldError, InfeasiblePair};
use crate::store::publication::{self as results_store, ResultRow, SelectionRow};
use crate::store::tasks::{self as store, TaskRow};
use crate::store::{Store, Tx, audit, registry};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Reads a task, or `NotFound`.
pub async fn get(db: &Store, id: &str) -> TaskResult<TaskRow> {
    store::get(&mut *db.read().await?, id)
        .await?
        .ok_or_else(|| TaskError::not_found(id))
}

/// Reads a task under its row lock, or `NotFound`.
async fn lock(tx: &mut Tx, id: &str) -> TaskResult<TaskRow> {
    store::lock(tx, id)
        .await?
        .ok_or_else(|| TaskError::not_found(id))
}

/// `WrongState` naming the current state unless the task is in one of `allowed`.
fn require_state(task: &TaskRow, allowed: &[TaskState], step: &str) -> TaskResult<()> {
    if allowed.contains(&task.state) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    Err(TaskError::WrongState {
        detail: format!(
            "cannot {step}: the task is {}, and this step needs it {}",
            task.state,
            names.join(" or ")
        ),
        current: task.state,
    })
}

/// Commits the transaction with its audit entry; the step's payload is digested.
async fn finish(
    mut tx: Tx,
    who: &Principal,
    action: &str,
    id: &str,
    digest: &str,
) -> TaskResult<()> {
    let entry = audit::append(&mut tx, &who.actor(), action, "task", id, digest).await?;
    // Seal, draw, publication, replacement and results publication notify subscribers:
    // their deliveries commit with the event or not at all (an outbox).
    crate::webhooks::enqueue(&mut tx, action, id, &entry.at).await?;
    // The chain's head is published at every seal, draw and publication (issue 11, #7).
    if matches!(action, "task.seal" | "task.draw" | "task.publish") {
        store::insert_anchor(
            &mut tx,
            &store::Anchor {
                seq: entry.seq,
                hash: entry.entry_hash.clone(),
                action: action.to_owned(),
                task_id: id.to_owned(),
                at: entry.at.clone(),
                task_public: false,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Unix seconds now, on the store's clock (simulated in tests and the demo).
fn now_unix(db: &Store) -> i64 {
    db.clock().unix()
}

// ---- create ----

/// Creates a draft task (admin, or a coordinator of the lead department).
pub async fn create(db: &Store, who: &Principal, input: &TaskInput) -> TaskResult<TaskRow> {
    policy::lead_department(who, input)?;
    TaskError::check(input.validate())?;
    let mut tx = db.begin().await?;
    let mut input = with_organization(&mut tx, who, input).await?;
    input.normalize_targeted();
    let input = &input;
    policy::create(who, input)?;
    if input.is_targeted() {
        targeted::named_candidates(&mut tx, input).await?;
    }
    if input.is_recheck() {
        recheck::check_level(input)?;
    }
    let mut errors = Vec::new();
    for (i, d) in input.departments.iter().enumerate() {
        if !registry::department_exists(&mut *tx, d.code.as_str()).await? {
            errors.push(FieldError::new(
                format!("departments[{i}].code"),
                format!("no department {}", d.code),
            ));
        }
    }
    if input.departments.is_empty() {
        for (i, p) in input.entropy_plan.iter().enumerate() {
            if let Some(code) = p.source.strip_prefix("department:")
                && !registry::department_exists(&mut *tx, code).await?
            {
                errors.push(FieldError::new(
                    format!("entropy_plan[{i}].source"),
                    format!("no department {code}"),
                ));
            }
        }
    }
    let codes: Vec<String> = input
        .departments
        .iter()
        .map(|d| d.code.to_string())
        .collect();
    let unknown = store::unknown_items(&mut tx, &codes, &input.items).await?;
    for (i, code) in input.items.iter().enumerate() {
        if unknown.contains(code) {
            errors.push(FieldError::new(
                format!("items[{i}]"),
                format!("{code} is not an active inspection item of a participating department"),
            ));
        }
    }
    TaskError::check(errors)?;
    // A sample over a record list (issue 14): the list exists and fits the strata.
    crate::lists::check_task(&mut tx, input).await?;
    let task = store::insert(&mut tx, &who.actor(), input).await?;
    crate::lists::attach(&mut tx, input, &task.id).await?;
    let digest = audit::payload_digest(input);
    finish(tx, who, "task.create", &task.id, &digest).await?;
    tracing::info!(task = %task.id, title = %input.title, "task created");
    Ok(task)
}

/// The task with its organization resolved: the one named, else the caller's (an
/// admin's: the lead department's default organization), which must belong to the lead
/// department; its region prefix is kept with the task.
async fn with_organization(
    tx: &mut Tx,
    who: &Principal,
    input: &TaskInput,
) -> TaskResult<TaskInput> {
    let code = match (&input.organization, who.organization_code()) {
        (Some(c), _) => {
            crate::domain::organization::check_code(c)
                .map_err(|e| TaskError::field("organization", e))?;
            c.clone()
        }
        (None, Some(own)) if who.department.as_ref() == Some(&input.lead_department) => own,
        _ => input.lead_department.as_str().to_string(),
    };
    let Some(org) = crate::store::organizations::by_code(&mut **tx, &code).await? else {
        return Err(TaskError::field(
            "organization",
            format!("no organization {code}"),
        ));
    };
    if org.data.department != input.lead_department {
        return Err(TaskError::field(
            "organization",
            format!(
                "{code} belongs to department {}, not to the lead department {}",
                org.data.department, input.lead_department
            ),
        ));
    }
    let mut cfg = input.clone();
    cfg.organization = Some(code);
    cfg.organization_region = Some(org.data.region_prefix);
    Ok(cfg)
}

// ---- entropy ----

/// A department's commitment: `hex(SHA-256(secret))` of 32 random bytes it keeps.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentInput {
    /// `department:<code>`
    pub source: String,
    /// 64 hex digits.
    #[schema(pattern = "^\\s*[0-9A-Fa-f]{64}\\s*$")]
    pub commitment: String,
}

/// A revealed value: the department's secret, or the beacon's published value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealInput {
    pub source: String,
    /// Hex. For a department: the 32-byte secret whose SHA-256 is its commitment.
    pub value: String,
}

/// The planned source named by `source`, or a refusal naming the field.
fn planned(task: &TaskRow, source: &str) -> TaskResult<Source> {
    if !task.config.entropy_plan.iter().any(|p| p.source == source) {
        return Err(TaskError::field(
            "source",
            format!("{source} is not in this task's entropy plan"),
        ));
    }
    Source::parse(source).map_err(|e| TaskError::field("source", e))
}

/// Records a department's commitment (that department's coordinator; task `draft`).
pub async fn commit(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &CommitmentInput,
) -> TaskResult<TaskRow> {
    let commitment =
        HexValue::parse32(&input.commitment).map_err(|e| TaskError::field("commitment", e))?;
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    let Source::Department(code) = planned(&task, &input.source)? else {
        return Err(TaskError::field(
            "source",
            "only department sources commit; a beacon's value is public when it appears",
        ));
    };
    policy::commit_in(who, &task.config, &code)?;
    require_state(&task, &[TaskState::Draft], "post a commitment")?;
    if !store::commit(
        &mut tx,
        id,
        &input.source,
        commitment.as_str(),
        &who.actor(),
    )
    .await?
    {
        return Err(TaskError::Conflict(format!(
            "{} has already committed; a commitment cannot be replaced",
            input.source
        )));
    }
    finish(tx, who, "task.commit", id, &audit::payload_digest(input)).await?;
    get(db, id).await
}

/// Records a revealed value (the department's coordinator, or for a beacon the lead;
/// admins too). Task `sealed`; a department's value must match its commitment.
pub async fn reveal(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &RevealInput,
) -> TaskResult<TaskRow> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    let source = planned(&task, &input.source)?;
    let value = match &source {
        Source::Department(code) => {
            policy::may_act_for_department_in(who, &task.config, code)?;
            HexValue::parse32(&input.value)
        }
        Source::Beacon(_) => {
            policy::lead(who, &task.config)?;
            HexValue::parse(&input.value, 1, 1024)
        }
    }
    .map_err(|e| TaskError::field("value", e))?;
    require_state(&task, &[TaskState::Sealed], "reveal")?;
    if task.config.protocol() == Protocol::V2 {
        check_reveal2(db, &task, &source, value.as_str())?;
    }
    let status = store::entropy(&mut *tx, id).await?;
    let entry = status.iter().find(|e| e.source == input.source);
    if entry.and_then(|e| e.value.as_ref()).is_some() {
        return Err(TaskError::Conflict(format!(
            "{} is already revealed",
            input.source
        )));
    }
    if let Some(commitment) = entry.and_then(|e| e.commitment.as_ref())
        && !draw::check_commitment(commitment, value.as_str())
    {
        return Err(TaskError::field(
            "value",
            format!(
                "SHA-256 of this value does not match the commitment {commitment} of {}",
                input.source
            ),
        ));
    }
    store::reveal(&mut tx, id, &input.source, value.as_str(), &who.actor()).await?;
    finish(tx, who, "task.reveal", id, &audit::payload_digest(input)).await?;
    get(db, id).await
}

/// The /2 rules of a reveal: a department reveals by the deadline (with a beacon; without
/// one, /1's rule holds: everyone must reveal, whenever); the beacon is its round's BLS
/// signature, checked against quicknet's pinned key.
fn check_reveal2(db: &Store, task: &TaskRow, source: &Source, value: &str) -> TaskResult<()> {
    let cfg = &task.config;
    match source {
        Source::Department(_) => {
            let deadline = cfg.reveal_deadline_unix().unwrap_or(i64::MAX);
            if cfg.beacon_round().is_some() && now_unix(db) > deadline {
                return Err(TaskError::Conflict(format!(
                    "reveals closed at the reveal deadline {} (unix {deadline}); a department that did not reveal by then is forfeited at the draw",
                    unix_rfc3339(deadline.max(0) as u64)
                )));
            }
        }
        Source::Beacon(_) => {
            let round = cfg
                .beacon_round()
                .ok_or_else(|| TaskError::internal("a /2 beacon without a round"))?;
            quicknet::verify_hex(round, value).map_err(|e| {
                TaskError::field(
                    "value",
                    format!("the beacon is entered as the round's BLS signature (hex): {e}"),
                )
            })?;
        }
    }
    Ok(())
}

// ---- seal, draw ----

/// Freezes the pool from the live registries and publishes its hash (lead; task `draft`,
/// every department committed). Refused with the full list if some institution cannot
/// get a full team from some department.
pub async fn seal(db: &Store, who: &Principal, id: &str) -> TaskResult<TaskRow> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::lead(who, &task.config)?;
    require_state(&task, &[TaskState::Draft], "seal")?;
    let entropy = store::entropy(&mut *tx, id).await?;
    let waiting: Vec<&str> = entropy
        .iter()
        .filter(|e| {
            e.commitment.is_none() && matches!(Source::parse(&e.source), Ok(Source::Department(_)))
        })
        .map(|e| e.source.as_str())
        .collect();
    if !waiting.is_empty() {
        return Err(TaskError::Conflict(format!(
            "cannot seal before every department has committed; waiting for {}",
            waiting.join(", ")
        )));
    }
    // A sample over a record list (issue 14) takes its pool from the list.
    let (mut candidates, mut inspectors, pools, records) = match &task.config.list {
        Some(list) => {
            let (c, r) =
                crate::lists::pool(&mut tx, &task.config, list, db.record_tree_rows()).await?;
            (c, Vec::new(), Vec::new(), Some(r))
        }
        None => {
            let (c, i, p) = jurisdiction_pool(&mut tx, &task.config).await?;
            (c, i, p, None)
        }
    };
    // A re-check draws only from the inspections lower levels completed (issue 14).
    let recheck_sources = if task.config.is_recheck() {
        let completed = recheck::completed(&mut tx, &task.config).await?;
        for c in candidates.iter_mut() {
            c.retain(|(id, _)| completed.contains_key(id));
        }
        Some(completed)
    } else {
        None
    };
    if task.config.protocol() == Protocol::V2 {
        check_seal2(db, &task.config)?;
    }
    // A round of an annual plan: this round's exact counts, and the earlier rounds' draws
    // excluded from the pool and recorded as /2 exclusions (issue 13).
    let round = crate::plans::seal_round(&mut tx, &task, &mut candidates).await?;
    let plan = entropy
        .into_iter()
        .map(|e| (e.source, e.commitment, e.note))
        .collect();
    let mut cfg = task.config.clone();
    let exclusions = match round {
        Some(r) => {
            cfg.strata = r.strata;
            // 轮换: who inspected whom in the previous round and year become conflicts.
            crate::plans::rotation::apply(&r.rotation, &mut inspectors);
            r.exclusions
        }
        None => Vec::new(),
    };
    // The yearly cap per institution across tasks (issue 13), for every /2 random task.
    let caps =
        crate::plans::caps::seal_caps(&mut tx, db.yearly_cap(), &task, &mut candidates).await?;
    let exclusions = crate::plans::caps::merge(exclusions, caps);
    let task_id = id.to_string();
    let started = std::time::Instant::now();
    // The tree form (B.18) lists no member: its trees' sizes say how many there are.
    let tree_members: Option<u64> = records
        .as_ref()
        .filter(|r| draw::tree::is_tree(Some(r)))
        .map(|r| {
            r.strata
                .iter()
                .flat_map(|s| s.trees.iter().flatten())
                .map(|t| t.size)
                .sum()
        });
    let (snapshot, problems, infeasible, sealed) = tokio::task::spawn_blocking(move || {
        let inputs = SealInputs {
            candidates,
            inspectors,
            plan,
        };
        let mut snapshot = assemble_snapshot(&task_id, &cfg, inputs);
        if records.is_some() {
            // Records have no region (B.12).
            for m in snapshot
                .strata
                .iter_mut()
                .flat_map(|s| s.members.iter_mut())
            {
                m.region = None;
            }
        }
        // A /2 sample without teams has no department to lead (its snapshot says null).
        let teamless = cfg.protocol() == Protocol::V2 && cfg.departments.is_empty();
        let mut problems = draw::validate(&snapshot);
        problems.retain(|p| {
            !(teamless && matches!(p, draw::SnapshotProblem::UnknownLeadDepartment(_)))
        });
        let infeasible = draw::infeasible_pairs(&snapshot);
        let sealed = (problems.is_empty() && infeasible.is_empty()).then(|| {
            if cfg.protocol() == Protocol::V2 {
                seal2(snapshot.clone(), &cfg, exclusions, records)
            } else {
                // The canonical text and its hash, written side by side on two threads.
                std::thread::scope(|s| {
                    let hash = s.spawn(|| draw::pool_hash(&snapshot));
                    let canonical = String::from_utf8(snapshot.canonical_bytes())
                        .map_err(|e| TaskError::internal(e.to_string()));
                    let hash = hash
                        .join()
                        .map_err(|_| TaskError::internal("hashing the snapshot failed"));
                    Ok((canonical?, hash?, None))
                })
            }
        });
        (snapshot, problems, infeasible, sealed)
    })
    .await
    .map_err(|e| TaskError::Internal(e.into()))?;
    if let Some(p) = problems.first() {
        return Err(TaskError::field(
            "strata",
            format!("the pool cannot be sealed: {p}"),
        ));
    }
    if tree_members.map_or_else(
        || snapshot.strata.iter().all(|s| s.members.is_empty()),
        |n| n == 0,
    ) {
        return Err(TaskError::field(
            "strata",
            "no active institution matches any stratum; nothing to draw",
        ));
    }
    if !infeasible.is_empty() {
        return Err(TaskError::Infeasible(
            infeasible
                .into_iter()
                .map(|(institution, department)| InfeasiblePair {
                    institution,
                    department,
                })
                .collect(),
        ));
    }
    let Some(sealed) = sealed else {
        return Err(TaskError::internal("the snapshot could not be written"));
    };
    let (canonical, pool_hash, leaves) = sealed?;
    store::store_snapshot(&mut tx, id, &canonical, &pool_hash).await?;
    if let Some(completed) = &recheck_sources {
        let members: Vec<_> = snapshot
            .strata
            .iter()
            .flat_map(|s| &s.members)
            .filter_map(|m| completed.get(&m.id))
            .collect();
        crate::store::recheck::insert_sources(&mut tx, id, &members).await?;
    }
    crate::store::organizations::store_pools(&mut tx, id, &pools).await?;
    if let Some(leaves) = &leaves {
        store::store_leaves(&mut tx, id, leaves).await?;
    }
    store::transition(&mut tx, id, TaskState::Draft, TaskState::Sealed).await?;
    finish(tx, who, "task.seal", id, &pool_hash).await?;
    let members: usize = snapshot.strata.iter().map(|s| s.members.len()).sum();
    crate::metrics::observe_operation("seal", started.elapsed(), members as u64);
    tracing::info!(task = %id, %pool_hash, members, "pool sealed");
    get(db, id).await
}

/// Candidates per stratum and inspectors per department, in the task's order.
type Pool = (
    Vec<Vec<(String, String)>>,
    Vec<Vec<(String, InspectorInput)>>,
    Vec<(String, String, i64)>,
);

/// The pool within the task's jurisdiction (issue 12): institutions of its organization's
/// region (each stratum's filter intersected with it); each department's active inspectors
/// of that region — or, for a cross-region task of a county, of the other counties of its
/// city (the draw's region rule keeps everyone out of his own county at any level). Also
/// which organizations' inspectors were taken: `(department, organization, count)`, each
/// inspector counted for the most specific organization of his department governing his
/// region.
async fn jurisdiction_pool(tx: &mut Tx, cfg: &TaskInput) -> TaskResult<Pool> {
    use crate::domain::organization::{organization_of, restrict_strings};
    let region = cfg.organization_region.clone().unwrap_or_default();
    let mut candidates = Vec::with_capacity(cfg.strata.len());
    if cfg.is_targeted() {
        // Named, not drawn: the one stratum `targeted` holds exactly the named institutions.
        candidates.push(targeted::named_candidates(tx, cfg).await?);
    }
    for s in cfg.strata.iter().filter(|_| !cfg.is_targeted()) {
        let mut filter = s.filter.clone();
        match restrict_strings(&filter.region_prefix, &region) {
            Some(prefixes) => filter.region_prefix = prefixes,
            None => {
                candidates.push(Vec::new());
                continue;
            }
        }
        candidates.push(store::stratum_candidates(tx, &filter.to_store()).await?);
    }
    let county_cross = cfg.cross_region && region.len() == 6;
    let inspector_prefix = if county_cross {
        &region[..4]
    } else {
        &region[..]
    };
    let orgs: Vec<_> = crate::store::organizations::list(&mut **tx, None)
        .await?
        .into_iter()
        .map(|o| o.data)
        .collect();
    let mut inspectors = Vec::with_capacity(cfg.departments.len());
    let mut pools = Vec::new();
    for d in &cfg.departments {
        let mut found = store::active_inspectors(tx, d.code.as_str(), inspector_prefix).await?;
        if county_cross {
            found.retain(|(_, i)| i.region.as_str() != region);
        }
        let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
        for (_, i) in &found {
            let org = organization_of(&orgs, &d.code, i.region.as_str())
                .map_or_else(|| d.code.as_str().to_string(), |o| o.code.clone());
            *counts.entry(org).or_default() += 1;
        }
        pools.extend(
            counts
                .into_iter()
                .map(|(org, n)| (d.code.as_str().to_string(), org, n)),
        );
        inspectors.push(found);
    }
    Ok((candidates, inspectors, pools))
}

/// The /2 conditions of sealing: the reveal deadline is still ahead, and the beacon round
/// is published strictly after it (so nobody, the sealer included, can know the beacon
/// while the pool can still change or a department can still choose to reveal).
fn check_seal2(db: &Store, cfg: &TaskInput) -> TaskResult<()> {
    let now = now_unix(db);
    let Some(deadline) = cfg.reveal_deadline_unix() else {
        return Err(TaskError::field(
            "reveal_deadline",
            "a suiji-draw/2 task needs a reveal deadline",
        ));
    };
    if deadline <= now {
        return Err(TaskError::field(
            "reveal_deadline",
            format!(
                "the reveal deadline {} is not in the future (now {}); a task sealed after its deadline could not take any reveal",
                unix_rfc3339(deadline.max(0) as u64),
                unix_rfc3339(now.max(0) as u64)
            ),
        ));
    }
    for (i, p) in cfg.entropy_plan.iter().enumerate() {
        let Some(round) = p.round else { continue };
        let t = quicknet::round_time(round).unwrap_or(0);
        if t as i64 <= deadline {
            return Err(TaskError::field(
                format!("entropy_plan[{i}].round"),
                format!(
                    "round {round} is published at {} (unix {t}), not strictly after the reveal deadline {}; the first round after it is {}",
                    unix_rfc3339(t),
                    unix_rfc3339(deadline as u64),
                    quicknet::first_round_after(deadline as u64)
                ),
            ));
        }
    }
    Ok(())
}

/// Seals a /2 pool: the snapshot with its conflicts root, checked, and its leaves.
fn seal2(
    snapshot: draw::Snapshot,
    cfg: &TaskInput,
    exclusions: Vec<draw::v2::Exclusion>,
    records: Option<draw::sample::Records>,
) -> TaskResult<(String, String, Option<String>)> {
    let (mut snapshot, leaves) = v2::snapshot2(snapshot, cfg);
    snapshot.exclusions = exclusions;
    snapshot.records = records;
    draw::v2::seal_check(&snapshot, &leaves)
        .map_err(|f| TaskError::field("strata", format!("the pool cannot be sealed: {f}")))?;
    let canonical = String::from_utf8(snapshot.canonical_bytes())
        .map_err(|e| TaskError::internal(e.to_string()))?;
    let leaves = serde_json::to_string(&leaves).map_err(|e| TaskError::internal(e.to_string()))?;
    Ok((canonical, draw::v2::pool_hash2(&snapshot), Some(leaves)))
}

/// What a draw call answers.
pub enum Drawn {
    /// This call made the draw.
    Made(TaskRow),
    /// A replay of the call that made it (same `Idempotency-Key`): the original answer
    /// when it was kept, else the task as it is.
    Replayed {
        task: TaskRow,
        answer: Option<String>,
    },
}

/// Makes the draw (lead; task `sealed`, every source revealed). Exactly one draw ever
/// happens: a repeated call is refused with the state, unless it carries the key of the
/// call that made it.
pub async fn draw(
    db: &Store,
    who: &Principal,
    id: &str,
    key: Option<&IdempotencyKey>,
) -> TaskResult<Drawn> {
    let task = get(db, id).await?;
    policy::lead(who, &task.config)?;
    let replays = |t: &TaskRow| {
        key.is_some_and(|k| {
            t.state != TaskState::Sealed && t.draw_key.as_deref() == Some(k.as_str())
        })
    };
    if replays(&task) {
        return replayed(db, task, key).await;
    }
    require_state(&task, &[TaskState::Sealed], "draw")?;
    let started = std::time::Instant::now();
    // Compute outside the write transaction; only the state change is serialized.
    let made = if task.config.protocol() == Protocol::V2 {
        compute_draw2(db, &task).await?
    } else {
        compute_draw1(db, id).await?
    };

    let mut tx = db.begin().await?;
    let current = lock(&mut tx, id).await?;
    if !store::transition(&mut tx, id, TaskState::Sealed, TaskState::Drawn).await? {
        drop(tx);
        if replays(&current) {
            return replayed(db, current, key).await;
        }
        return Err(TaskError::WrongState {
            detail: format!(
                "cannot draw: the task is {} (a draw was already made)",
                current.state
            ),
            current: current.state,
        });
    }
    let draw_key = key.map(IdempotencyKey::as_str);
    let (result_hash, seed) = match &made.result {
        Made::V1(r) => (store::save_result(&mut tx, id, r, draw_key).await?, &r.seed),
        Made::V2(r) => (
            store::save_result2(&mut tx, id, r, draw_key).await?,
            &r.seed,
        ),
    };
    // A sample of records (issue 14) draws member hashes, not institutions: its
    // selections stay in the result and never reach the public selection index.
    if current.config.list.is_none() {
        results_store::insert_selections(&mut tx, id, &made.rows).await?;
    }
    if let Some(m) = &made.tree_members {
        store::save_tree_members(&mut tx, id, m).await?;
    }
    finish(tx, who, "task.draw", id, &result_hash).await?;
    crate::metrics::observe_operation("draw", started.elapsed(), made.rows.len() as u64);
    tracing::info!(task = %id, %seed, %result_hash, selections = made.rows.len(), forfeited = ?made.forfeited, "draw made");
    Ok(Drawn::Made(get(db, id).await?))
}

enum Made {
    V1(draw::DrawResult),
    V2(draw::v2::Result2),
}

/// A draw computed, not yet stored.
struct Computed {
    result: Made,
    rows: Vec<SelectionRow>,
    forfeited: Vec<String>,
    /// The members a tree-form draw disclosed (B.18).
    tree_members: Option<Vec<draw::tree::MemberProof>>,
}

/// The rows of `task_selections` for the drawn institutions.
fn selection_rows<'a>(
    strata: &[draw::Stratum],
    drawn: impl Iterator<Item = (&'a str, u64, &'a str)>,
) -> Vec<SelectionRow> {
    let regions: HashMap<&str, &str> = strata
        .iter()
        .flat_map(|s| &s.members)
        .map(|m| (m.id.as_str(), m.region.as_deref().unwrap_or("")))
        .collect();
    drawn
        .map(|(institution, order, stratum)| SelectionRow {
            institution_id: institution.to_owned(),
            order: order as i64,
            stratum: stratum.to_owned(),
            region: regions.get(institution).unwrap_or(&"").to_string(),
        })
        .collect()
}

async fn compute_draw1(db: &Store, id: &str) -> TaskResult<Computed> {
    let mut conn = db.read().await?;
    let entropy = store::entropy(&mut *conn, id).await?;
    let waiting: Vec<&str> = entropy
        .iter()
        .filter(|e| e.value.is_none())
        .map(|e| e.source.as_str())
        .collect();
    if !waiting.is_empty() {
        return Err(TaskError::Conflict(format!(
            "cannot draw before every source is revealed; waiting for {}",
            waiting.join(", ")
        )));
    }
    let values: Vec<EntropyValue> = entropy
        .into_iter()
        .filter_map(|e| {
            e.value.map(|value| EntropyValue {
                source: e.source,
                value,
            })
        })
        .collect();
    let snapshot = store::sealed_snapshot(&mut conn, id)
        .await?
        .ok_or_else(|| TaskError::internal(format!("sealed task {id} has no snapshot")))?;
    drop(conn);
    tokio::task::spawn_blocking(move || {
        let result = draw::draw(&snapshot, &values)
            .map_err(|e| TaskError::internal(format!("the sealed draw failed: {e}")))?;
        let rows = selection_rows(
            &snapshot.strata,
            result
                .selections
                .iter()
                .map(|s| (s.institution.as_str(), s.order, s.stratum.as_str())),
        );
        Ok::<_, TaskError>(Computed {
            result: Made::V1(result),
            rows,
            forfeited: Vec::new(),
            tree_members: None,
        })
    })
    .await
    .map_err(|e| TaskError::Internal(e.into()))?
}

/// The /2 draw: with a beacon, the departments that have not revealed are forfeited once
/// the reveal deadline has passed (before it, they may still reveal); without one, every
/// department must reveal (/1's rule).
async fn compute_draw2(db: &Store, task: &TaskRow) -> TaskResult<Computed> {
    let id = task.id.as_str();
    let cfg = &task.config;
    let mut conn = db.read().await?;
    let status = store::entropy(&mut *conn, id).await?;
    let entropy = v2::entropy2(&status, cfg);
    let deadline = cfg.reveal_deadline_unix().unwrap_or(i64::MAX);
    match cfg.beacon_round() {
        Some(round) => {
            if entropy.beacon.is_none() {
                return Err(TaskError::Conflict(format!(
                    "cannot draw before the beacon is entered: the BLS signature of drand quicknet round {round} (published at {})",
                    unix_rfc3339(quicknet::round_time(round).unwrap_or(0))
                )));
            }
            if !entropy.forfeited.is_empty() && now_unix(db) <= deadline {
                return Err(TaskError::Conflict(format!(
                    "cannot draw before the reveal deadline {} while {} may still reveal",
                    unix_rfc3339(deadline.max(0) as u64),
                    entropy.forfeited.join(", ")
                )));
            }
        }
        None if !entropy.forfeited.is_empty() => {
            return Err(TaskError::Conflict(format!(
                "cannot draw before every source is revealed (no beacon: every department must reveal); waiting for {}",
                entropy.forfeited.join(", ")
            )));
        }
        None => {}
    }
    let record = store::load_draw2(&mut conn, id)
        .await?
        .ok_or_else(|| TaskError::internal(format!("sealed task {id} has no snapshot")))?;
    // The tree form (B.18): the considered members and their paths, from one pass.
    let tree_members = match (&cfg.list, &record.snapshot.records) {
        (Some(list), Some(r)) if draw::tree::is_tree(Some(r)) => {
            Some(crate::lists::tree::disclose(&mut conn, list, &record.snapshot, &entropy).await?)
        }
        _ => None,
    };
    drop(conn);
    tokio::task::spawn_blocking(move || {
        let result = match &tree_members {
            Some(m) => draw::v2::draw2_tree(&record.snapshot, &entropy, m),
            None => draw::v2::draw2(&record.snapshot, &record.leaves, &entropy),
        }
        .map_err(|f| TaskError::Conflict(format!("the draw cannot be made: {f}")))?;
        let rows = selection_rows(
            &record.snapshot.strata,
            result
                .selections
                .iter()
                .map(|s| (s.institution.as_str(), s.order, s.stratum.as_str())),
        );
        Ok::<_, TaskError>(Computed {
            result: Made::V2(result),
            rows,
            forfeited: entropy.forfeited,
            tree_members,
        })
    })
    .await
    .map_err(|e| TaskError::Internal(e.into()))?
}

async fn replayed(db: &Store, task: TaskRow, key: Option<&IdempotencyKey>) -> TaskResult<Drawn> {
    let answer = match key {
        Some(k) => store::draw_answer(&mut *db.read().await?, &task.id, k.as_str()).await?,
        None => None,
    };
    Ok(Drawn::Replayed { task, answer })
}

/// Keeps the answer of the draw call that carried `key`, unless one is kept already, and
/// returns the kept one: every replay of the key gets these bytes, from any server
/// process on the same database.
pub async fn keep_draw_answer(
    db: &Store,
    id: &str,
    key: &IdempotencyKey,
    body: String,
) -> TaskResult<String> {
    let mut tx = db.begin().await?;
    let kept = store::keep_draw_answer(&mut tx, id, key.as_str(), &body).await?;
    tx.commit().await?;
    Ok(kept)
}

// ---- replacement, cancel ----

/// A request to replace an inspector who must leave a team (回避 declared late, illness…).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplacementInput {
    /// The drawn institution: its id or its credit code.
    pub institution: String,
    /// Department code of the team.
    pub department: String,
    /// The inspector leaving: id or certificate number.
    pub out: String,
    /// Why; published with the draw.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub reason: String,
}

/// Draws a substitute (递补) per the specification (the lead, or a coordinator of the
/// team's department; task `drawn` or `published`).
pub async fn replace(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &ReplacementInput,
) -> TaskResult<Replaced> {
    let mut errors = Vec::new();
    check_text(&mut errors, "reason", &input.reason, true, 500);
    TaskError::check(errors)?;
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::replace(who, &task.config, &input.department)?;
    require_state(
        &task,
        &[TaskState::Drawn, TaskState::Published],
        "replace an inspector",
    )?;
    if task.config.protocol() == Protocol::V2 {
        return replace_v2(tx, who, id, input).await;
    }
    let record = store::load_draw(&mut tx, id)
        .await?
        .ok_or_else(|| TaskError::internal(format!("drawn task {id} has no result")))?;
    let (institution, out) = resolve_names(
        &mut tx,
        input,
        |i| record.result.selections.iter().any(|s| s.institution == i),
        |o| {
            record
                .snapshot
                .departments
                .iter()
                .any(|d| d.inspectors.iter().any(|i| i.id == o))
        },
    )
    .await?;
    let request = draw::ReplacementRequest {
        seq: record.replacements.len() as u64 + 1,
        institution,
        department: input.department.clone(),
        out,
        reason: input.reason.clone(),
    };
    let replacement = draw::replace(
        &record.snapshot,
        &record.result,
        &record.replacements,
        &request,
    )
    .map_err(replace_error)?;
    store::insert_replacement(&mut tx, id, &replacement, &who.actor()).await?;
    let digest = audit::payload_digest(&replacement);
    finish(tx, who, "task.replace", id, &digest).await?;
    tracing::info!(task = %id, out = %replacement.out, inspector_in = %replacement.r#in, "inspector replaced by draw");
    Ok(Replaced {
        replacement,
        prev: None,
        hash: None,
    })
}

/// A replacement made: the record, and for /2 its place in the chain.
pub struct Replaced {
    pub replacement: Replacement,
    /// /2: the hash of the previous record (the first: the `result_hash`).
    pub prev: Option<String>,
    /// /2: this record's hash, the new chain head.
    pub hash: Option<String>,
}

/// Coordinators know institutions by credit code and inspectors by certificate number;
/// accept those as well as ids.
async fn resolve_names(
    tx: &mut Tx,
    input: &ReplacementInput,
    selected: impl Fn(&str) -> bool,
    in_snapshot: impl Fn(&str) -> bool,
) -> TaskResult<(String, String)> {
    let mut institution = input.institution.clone();
    if !selected(&institution)
        && let Ok(code) = CreditCode::parse(&institution)
        && let Some(id) =
            registry::id_by::<InstitutionInput, _>(&mut **tx, "credit_code", code.as_str()).await?
    {
        institution = id;
    }
    let mut out = input.out.clone();
    if !in_snapshot(&out)
        && let Some(id) =
            registry::id_by::<InspectorInput, _>(&mut **tx, "certificate_no", &out).await?
    {
        out = id;
    }
    Ok((institution, out))
}

/// A /2 replacement: drawn by `replace2` and chained after the previous record; the audit
/// entry digests the record's hash.
async fn replace_v2(
    mut tx: Tx,
    who: &Principal,
    id: &str,
    input: &ReplacementInput,
) -> TaskResult<Replaced> {
    let record = store::load_draw2(&mut tx, id)
        .await?
        .ok_or_else(|| TaskError::internal(format!("drawn task {id} has no snapshot")))?;
    let result = record
        .result
        .as_ref()
        .ok_or_else(|| TaskError::internal(format!("drawn task {id} has no result")))?;
    let (institution, out) = resolve_names(
        &mut tx,
        input,
        |i| result.selections.iter().any(|s| s.institution == i),
        |o| {
            record
                .snapshot
                .departments
                .iter()
                .any(|d| d.inspectors.iter().any(|i| i.id == o))
        },
    )
    .await?;
    let chained = v2::chain(&draw::v2::result_hash2(result), &record.replacements);
    let request = draw::ReplacementRequest {
        seq: chained.len() as u64 + 1,
        institution,
        department: input.department.clone(),
        out,
        reason: input.reason.clone(),
    };
    let made = draw::v2::replace2(&record.snapshot, &record.leaves, result, &chained, &request)
        .map_err(|f| replace_error2(&request, &record, f.reason))?;
    let replacement = Replacement {
        seq: made.seq,
        institution: made.institution.clone(),
        department: made.department.clone(),
        out: made.out.clone(),
        reason: made.reason.clone(),
        r#in: made.r#in.clone(),
    };
    store::insert_replacement(&mut tx, id, &replacement, &who.actor()).await?;
    finish(tx, who, "task.replace", id, &made.hash).await?;
    tracing::info!(task = %id, out = %made.out, inspector_in = %made.r#in, hash = %made.hash, "inspector replaced by draw (chained)");
    Ok(Replaced {
        replacement,
        prev: Some(made.prev),
        hash: Some(made.hash),
    })
}

/// A /2 replacement refusal with the field it concerns (the engine says why in words).
fn replace_error2(
    request: &draw::ReplacementRequest,
    record: &store::DrawRecord2,
    reason: String,
) -> TaskError {
    let drawn = record.result.as_ref().is_some_and(|r| {
        r.selections
            .iter()
            .any(|s| s.institution == request.institution)
    });
    if !drawn {
        TaskError::field("institution", reason)
    } else if !record
        .snapshot
        .departments
        .iter()
        .any(|d| d.code == request.department)
    {
        TaskError::field("department", reason)
    } else if reason.contains("no eligible substitute") {
        TaskError::Conflict(format!(
            "{reason}: every other inspector of the department is in the team, replaced out of it, in conflict or of the same region"
        ))
    } else {
        TaskError::field("out", reason)
    }
}

fn replace_error(e: ReplaceError) -> TaskError {
    match e {
        ReplaceError::UnknownInstitution(_) => TaskError::field("institution", e.to_string()),
        ReplaceError::UnknownDepartment(_) => TaskError::field("department", e.to_string()),
        ReplaceError::NotInTeam { .. } => TaskError::field("out", e.to_string()),
        ReplaceError::NoEligibleSubstitute { .. } => TaskError::Conflict(format!(
            "{e}: every other inspector of the department is in the team, replaced out of it, in conflict or of the same region"
        )),
        other => TaskError::internal(format!("replacement failed: {other}")),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub reason: String,
}

/// Cancels a task before its draw, with a reason (lead; `draft` or `sealed`).
pub async fn cancel(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &CancelInput,
) -> TaskResult<TaskRow> {
    let mut errors = Vec::new();
    check_text(&mut errors, "reason", &input.reason, true, 500);
    TaskError::check(errors)?;
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::lead(who, &task.config)?;
    require_state(&task, &[TaskState::Draft, TaskState::Sealed], "cancel")?;
    // From the first reveal on, whoever leads could compute the outcome: cancelling and
    // starting again would let them redo a draw they did not like (issue 11, #6).
    let revealed: Vec<String> = store::entropy(&mut *tx, id)
        .await?
        .into_iter()
        .filter(|e| e.value.is_some())
        .map(|e| e.source)
        .collect();
    if !revealed.is_empty() {
        return Err(TaskError::Conflict(format!(
            "cannot cancel after the first reveal ({} revealed): the task must be drawn",
            revealed.join(", ")
        )));
    }
    store::transition(&mut tx, id, task.state, TaskState::Cancelled).await?;
    store::set_cancel_reason(&mut tx, id, &input.reason).await?;
    finish(tx, who, "task.cancel", id, &audit::payload_digest(input)).await?;
    get(db, id).await
}

// ---- publication and results ----

/// Publishes the drawn list with its teams (lead; `drawn` → `published`).
pub async fn publish(db: &Store, who: &Principal, id: &str) -> TaskResult<TaskRow> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::lead(who, &task.config)?;
    require_state(&task, &[TaskState::Drawn], "publish the drawn list")?;
    store::transition(&mut tx, id, TaskState::Drawn, TaskState::Published).await?;
    finish(tx, who, "task.publish", id, &audit::payload_digest(&id)).await?;
    tracing::info!(task = %id, "drawn list published");
    get(db, id).await
}

/// A recorded result: whether this call made a new version, and every version of the
/// institution's result, oldest first.
pub struct Recorded {
    pub created: bool,
    pub versions: Vec<ResultRow>,
}

/// Every result of a task with every version (published or not).
pub async fn results(db: &Store, id: &str) -> TaskResult<Vec<ResultRow>> {
    get(db, id).await?;
    Ok(results_store::results(&mut *db.read().await?, id).await?)
}

/// Records the result for one drawn institution (lead; task `drawn`, `published` or
/// `closed`). Each change is a new version; changing a published result needs
/// `correction_reason`, and the earlier versions stay visible.
pub async fn record_result(
    db: &Store,
    who: &Principal,
    id: &str,
    institution: &str,
    input: &ResultInput,
) -> TaskResult<Recorded> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::lead(who, &task.config)?;
    require_state(
        &task,
        &[TaskState::Drawn, TaskState::Published, TaskState::Closed],
        "record a result",
    )?;
    results::check_result(&mut tx, &task, institution, input).await?;
    let version = match results_store::latest_result(&mut tx, id, institution).await? {
        Some(l) if l.data == input.content() => None,
        Some(l) if l.published_at.is_some() && input.correction_reason.is_none() => {
            return Err(TaskError::field(
                "correction_reason",
                format!(
                    "version {} is published; a correction needs a reason, and both versions stay visible",
                    l.version
                ),
            ));
        }
        Some(l) => Some(l.version + 1),
        None => Some(1),
    };
    if let Some(version) = version {
        results_store::insert_result(&mut tx, id, institution, version, input, &who.actor())
            .await?;
        let digest = audit::payload_digest(&(institution, input));
        finish(tx, who, "result.record", id, &digest).await?;
    } else {
        tx.commit().await?;
    }
    let versions = results_store::results(&mut *db.read().await?, id)
        .await?
        .into_iter()
        .filter(|r| r.institution_id == institution)
        .collect();
    Ok(Recorded {
        created: version.is_some(),
        versions,
    })
}

/// Which results to publish; all when absent or empty.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishResultsInput {
    #[serde(default)]
    pub institutions: Vec<String>,
}

/// What publishing results did.
pub struct ResultsPublished {
    /// How many result versions were published by this call.
    pub published: u64,
    /// Drawn institutions still without a published result.
    pub pending: i64,
    pub state: TaskState,
}

/// Publishes the latest version of every recorded result, or of the listed institutions
/// (lead; task `published` or `closed`). When every drawn institution has a published
/// result, the task is `closed`.
pub async fn publish_results(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &PublishResultsInput,
) -> TaskResult<ResultsPublished> {
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    policy::lead(who, &task.config)?;
    require_state(
        &task,
        &[TaskState::Published, TaskState::Closed],
        "publish results (publish the drawn list first)",
    )?;
    for (i, inst) in input.institutions.iter().enumerate() {
        if !results_store::is_selected(&mut *tx, id, inst).await? {
            return Err(TaskError::field(
                format!("institutions[{i}]"),
                format!("{inst} was not drawn in this task"),
            ));
        }
    }
    let published = results_store::publish_results(&mut tx, id, &input.institutions).await?;
    // Each department's part is published with the result it makes up.
    let parts = crate::store::parts::publish_parts(&mut tx, id, &input.institutions).await?;
    let pending = results_store::unpublished_count(&mut *tx, id).await?;
    let mut state = task.state;
    if pending == 0 && task.state == TaskState::Published {
        store::transition(&mut tx, id, TaskState::Published, TaskState::Closed).await?;
        state = TaskState::Closed;
    }
    if published > 0 || parts > 0 {
        finish(tx, who, "result.publish", id, &audit::payload_digest(input)).await?;
    } else {
        tx.commit().await?;
    }
    Ok(ResultsPublished {
        published,
        pending,
        state,
    })
}

// ---- suiji-draw/2 bundles, announcements and anchors ----

/// The canonical bytes of a drawn /2 task's bundle: the auditor's (every conflict leaf)
/// or, `public`, the one with proofs for the drawn institutions only. `None` before the
/// draw.
pub async fn bundle2(db: &Store, task: &TaskRow, public: bool) -> TaskResult<Option<Vec<u8>>> {
    let mut conn = db.read().await?;
    let Some(record) = store::load_draw2(&mut conn, &task.id).await? else {
        return Ok(None);
    };
    if record.result.is_none() {
        return Ok(None);
    }
    let status = store::entropy(&mut *conn, &task.id).await?;
    drop(conn);
    let entropy = v2::entropy2(&status, &task.config);
    tokio::task::spawn_blocking(move || {
        let Some(auditor) = v2::auditor_bundle(record, entropy) else {
            return Ok(None);
        };
        let b = if public {
            draw::v2::public_bundle(&auditor)
                .map_err(|f| TaskError::internal(format!("the public bundle failed: {f}")))?
        } else {
            auditor
        };
        // Canonical JSON (sorted keys, no spaces) of the serde form: the bundle holds
        // strings, integers, booleans and nulls only.
        let value = serde_json::to_value(&b).map_err(|e| TaskError::internal(e.to_string()))?;
        draw::canonical_json(&value)
            .map(Some)
            .map_err(|e| TaskError::internal(e.to_string()))
    })
    .await
    .map_err(|e| TaskError::Internal(e.into()))?
}

/// The verifiable bundle of a drawn task (suiji-draw/1 or /2) as canonical JSON bytes, the
/// auditor's form; refused while the task has no draw.
pub async fn bundle(db: &Store, task: &TaskRow) -> TaskResult<Vec<u8>> {
    let bytes = if task.config.protocol() == Protocol::V2 {
        bundle2(db, task, false).await?
    } else {
        bundle1(db, task).await?
    };
    bytes.ok_or_else(|| TaskError::WrongState {
        detail: format!("task {} has no draw yet (it is {})", task.id, task.state),
        current: task.state,
    })
}

/// The suiji-draw/1 bundle: the stored snapshot, the revealed values, the result and the
/// replacements; `None` before the draw.
async fn bundle1(db: &Store, task: &TaskRow) -> TaskResult<Option<Vec<u8>>> {
    let mut conn = db.read().await?;
    let Some(record) = store::load_draw(&mut conn, &task.id).await? else {
        return Ok(None);
    };
    let entropy: Vec<EntropyValue> = store::entropy(&mut *conn, &task.id)
        .await?
        .into_iter()
        .filter_map(|e| {
            e.value.map(|value| EntropyValue {
                source: e.source,
                value,
            })
        })
        .collect();
    drop(conn);
    tokio::task::spawn_blocking(move || {
        draw::bundle(record.snapshot, entropy, record.result, record.replacements).canonical_bytes()
    })
    .await
    .map(Some)
    .map_err(|e| TaskError::Internal(e.into()))
}

/// What sealing announces, public before any value can be revealed (issue 11, #6).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Announcement {
    pub id: String,
    pub title: String,
    pub year: i32,
    pub round: u32,
    pub protocol: Protocol,
    pub state: TaskState,
    pub lead_department: String,
    pub sealed_at: Option<String>,
    pub pool_hash: Option<String>,
    /// Institutions in each stratum of the sealed pool, in snapshot order.
    pub strata: Vec<StratumCount>,
    /// Every planned source with its commitment, and whether it has revealed (the values
    /// themselves stay hidden until the draw).
    pub entropy: Vec<AnnouncedSource>,
    /// RFC 3339; reveals are refused after it (/2).
    pub reveal_deadline: Option<String>,
    /// The drand quicknet round whose signature will be the beacon (/2).
    pub beacon_round: Option<u64>,
    /// When that round is published (RFC 3339).
    pub beacon_round_time: Option<String>,
    pub cancelled_at: Option<String>,
    pub cancel_reason: Option<String>,
    /// What the draw's fairness will rest on.
    pub trust_zh: String,
    pub trust_en: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StratumCount {
    pub id: String,
    pub members: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnnouncedSource {
    pub source: String,
    pub commitment: Option<String>,
    pub round: Option<u64>,
    pub revealed: bool,
    pub revealed_at: Option<String>,
}

/// The announcement of a task that was sealed (sealed, drawn, published, closed, or
/// cancelled after sealing); `None` for a task never sealed or unknown.
pub async fn announcement(db: &Store, id: &str) -> TaskResult<Option<Announcement>> {
    let mut conn = db.read().await?;
    let Some(task) = store::get(&mut *conn, id).await? else {
        return Ok(None);
    };
    // /1 tasks were never announced: they stay private until their list is published.
    if task.sealed_at.is_none() || task.config.protocol() != Protocol::V2 {
        return Ok(None);
    }
    let Some(snapshot) = store::snapshot(&mut *conn, id).await? else {
        return Ok(None);
    };
    let status = store::entropy(&mut *conn, id).await?;
    drop(conn);
    #[derive(Deserialize)]
    struct Members {
        id: String,
        members: Vec<serde::de::IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct Strata {
        strata: Vec<Members>,
    }
    let strata: Strata = serde_json::from_str(&snapshot)
        .map_err(|e| TaskError::internal(format!("stored snapshot of {id}: {e}")))?;
    let cfg = &task.config;
    let round = cfg
        .beacon_round()
        .filter(|_| cfg.protocol() == Protocol::V2);
    let trust = v2::trust(cfg);
    Ok(Some(Announcement {
        id: task.id.clone(),
        title: cfg.title.clone(),
        year: cfg.year,
        round: cfg.round,
        protocol: cfg.protocol(),
        state: task.state,
        lead_department: cfg.lead_department.to_string(),
        sealed_at: task.sealed_at.clone(),
        pool_hash: task.pool_hash.clone(),
        strata: strata
            .strata
            .into_iter()
            .map(|s| StratumCount {
                id: s.id,
                members: s.members.len() as u64,
            })
            .collect(),
        entropy: status
            .into_iter()
            .map(|e| AnnouncedSource {
                round: cfg
                    .entropy_plan
                    .iter()
                    .find(|p| p.source == e.source)
                    .and_then(|p| p.round),
                revealed: e.value.is_some(),
                source: e.source,
                commitment: e.commitment,
                revealed_at: e.revealed_at,
            })
            .collect(),
        reveal_deadline: cfg
            .reveal_deadline_unix()
            .map(|t| unix_rfc3339(t.max(0) as u64)),
        beacon_round: round,
        beacon_round_time: round.and_then(quicknet::round_time).map(unix_rfc3339),
        cancelled_at: task.cancelled_at.clone(),
        cancel_reason: task.cancel_reason.clone(),
        trust_zh: trust.zh(),
        trust_en: trust.en(),
    }))
}

/// The audit chain's head now, and the anchors published at seals, draws and
/// publications, newest first.
pub async fn audit_anchors(
    db: &Store,
    limit: i64,
) -> TaskResult<((i64, String), Vec<store::Anchor>)> {
    let mut conn = db.read().await?;
    let head = store::audit_head(&mut *conn).await?;
    let anchors = store::anchors(&mut *conn, limit).await?;
    Ok((head, anchors))
}

/// The public bundle of a published /2 task: `Some(None)` for a /2 task not published
/// (or unknown to the public), `None` when the task is not a /2 task (the caller serves /1).
pub async fn public_bundle2(db: &Store, id: &str) -> TaskResult<Option<Option<Vec<u8>>>> {
    let Some(task) = store::get(&mut *db.read().await?, id).await? else {
        return Ok(None);
    };
    if task.config.protocol() != Protocol::V2 {
        return Ok(None);
    }
    if !matches!(task.state, TaskState::Published | TaskState::Closed) {
        return Ok(Some(None));
    }
    Ok(Some(bundle2(db, &task, true).await?))
}
