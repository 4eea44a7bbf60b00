//! The coordinator's view of a task (configuration, state, entropy, current teams with
//! names, deadlines), built from the store for the task, result and form endpoints: the
//! non-public side of the read model. The API's `views` module adapts it to HTTP.

use crate::domain::calendar::Calendar;
use crate::domain::task::{Protocol, TaskInput, TaskState};
use crate::draw::{self, DrawResult};
use crate::error::ApiResult;
use crate::store::Store;
use crate::store::tasks::{self as store, TaskRow};
use crate::tasks;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::RwLock;
use utoipa::ToSchema;

pub use crate::publication::Deadlines;

/// The inspectors one department sends to one institution.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamView {
    pub department: String,
    /// Inspector ids in drawn order (after replacements).
    pub inspectors: Vec<String>,
    /// The same inspectors with their names and certificate numbers (task view only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberView>,
}

/// An inspector as a coordinator reads a team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub id: String,
    pub name: String,
    pub certificate_no: String,
}

/// One drawn institution with its current team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SelectionView {
    pub order: u64,
    pub stratum: String,
    pub institution: String,
    /// The institution's registered name and credit code (task view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<String>,
    /// The first inspector of the lead department's team (组长); null in a suiji-draw/2
    /// sample without teams.
    #[schema(required = true)]
    pub leader: Option<String>,
    pub team: Vec<TeamView>,
}

/// A replacement (递补): who left a team, why, and who was drawn instead.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplacementView {
    pub seq: u64,
    pub institution: String,
    pub department: String,
    pub out: String,
    pub reason: String,
    #[serde(rename = "in")]
    pub inspector_in: String,
    /// suiji-draw/2: the hash of the previous record (the first: the `result_hash`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    /// suiji-draw/2: this record's hash (SHA-256 of its canonical JSON without `hash`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl From<draw::Replacement> for ReplacementView {
    fn from(r: draw::Replacement) -> Self {
        Self {
            seq: r.seq,
            institution: r.institution,
            department: r.department,
            out: r.out,
            reason: r.reason,
            inspector_in: r.r#in,
            prev: None,
            hash: None,
        }
    }
}

impl From<draw::v2::Replacement2> for ReplacementView {
    fn from(r: draw::v2::Replacement2) -> Self {
        Self {
            seq: r.seq,
            institution: r.institution,
            department: r.department,
            out: r.out,
            reason: r.reason,
            inspector_in: r.r#in,
            prev: Some(r.prev),
            hash: Some(r.hash),
        }
    }
}

impl From<tasks::Replaced> for ReplacementView {
    fn from(r: tasks::Replaced) -> Self {
        Self {
            prev: r.prev,
            hash: r.hash,
            ..r.replacement.into()
        }
    }
}

/// A statement in both languages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Words {
    pub zh: String,
    pub en: String,
}

/// What a draw's fairness rests on (issue 11, #8).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrustView {
    /// `one_department`, `several_departments`, `beacon` or `unverified_beacon`.
    pub level: String,
    pub zh: String,
    pub en: String,
}

impl From<draw::v2::Trust> for TrustView {
    fn from(t: draw::v2::Trust) -> Self {
        use draw::v2::Trust;
        let level = match t {
            Trust::OneDepartment => "one_department",
            Trust::SeveralDepartments { .. } => "several_departments",
            Trust::Beacon { .. } => "beacon",
            Trust::UnverifiedBeacon => "unverified_beacon",
        };
        Self {
            level: level.into(),
            zh: t.zh(),
            en: t.en(),
        }
    }
}

/// One planned source of randomness and how far it got.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntropyStatus {
    pub source: String,
    pub note: Option<String>,
    /// `hex(SHA-256(secret))`, posted before sealing (department sources).
    pub commitment: Option<String>,
    pub committed_by: Option<String>,
    pub committed_at: Option<String>,
    /// The revealed value: shown to nobody (coordinators included) before the draw, so
    /// that nobody can compute the outcome and withhold or cancel; then in the bundle.
    pub value: Option<String>,
    /// Whether the source has revealed (its value stays hidden until the draw).
    pub revealed: bool,
    pub revealed_by: Option<String>,
    pub revealed_at: Option<String>,
}

impl EntropyStatus {
    /// The status as shown while the task is in `state`.
    pub fn shown(e: store::EntropyStatus, state: TaskState) -> Self {
        let hidden = matches!(
            state,
            TaskState::Draft | TaskState::Sealed | TaskState::Cancelled
        );
        Self {
            revealed: e.value.is_some(),
            source: e.source,
            note: e.note,
            commitment: e.commitment,
            committed_by: e.committed_by,
            committed_at: e.committed_at,
            value: if hidden { None } else { e.value },
            revealed_by: e.revealed_by,
            revealed_at: e.revealed_at,
        }
    }
}

/// A task with its configuration, state, entropy, and (once drawn) selections.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    /// Bumped by every step.
    pub version: i64,
    pub state: TaskState,
    #[serde(flatten)]
    pub config: TaskInput,
    /// SHA-256 of the sealed snapshot, public from sealing on.
    pub pool_hash: Option<String>,
    /// Which organizations' inspectors the sealed pool took, per department (empty
    /// before sealing).
    pub pools: Vec<crate::domain::organization::OrgPool>,
    pub seed: Option<String>,
    pub result_hash: Option<String>,
    pub entropy: Vec<EntropyStatus>,
    /// The drawn institutions with their current teams (replacements applied).
    pub selections: Vec<SelectionView>,
    pub replacements: Vec<ReplacementView>,
    /// suiji-draw/2: the hash of the last replacement record, or the `result_hash`.
    pub replacements_head: Option<String>,
    /// suiji-draw/2: department sources that did not reveal by the deadline (drawn tasks).
    pub forfeited: Vec<String>,
    /// What the draw's fairness rests on.
    pub trust: TrustView,
    /// The reveal rule of this task, in words.
    pub reveal_rule: Words,
    /// Set when the server runs on a simulated clock (demo only): the time it reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulated_clock: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub sealed_at: Option<String>,
    pub drawn_at: Option<String>,
    pub cancelled_at: Option<String>,
    /// When the drawn list was published.
    pub published_at: Option<String>,
    /// When the last result was published.
    pub closed_at: Option<String>,
    #[serde(flatten)]
    pub deadlines: Deadlines,
}

/// Applies replacements to the draw as first made.
pub fn current_selections(
    result: &DrawResult,
    lead: &str,
    replacements: &[draw::Replacement],
) -> Vec<SelectionView> {
    let mut out: Vec<SelectionView> = result
        .selections
        .iter()
        .map(|s| SelectionView {
            order: s.order,
            stratum: s.stratum.clone(),
            institution: s.institution.clone(),
            institution_name: None,
            credit_code: None,
            leader: s.leader.clone(),
            team: s
                .team
                .iter()
                .map(|t| TeamView {
                    department: t.department.clone(),
                    inspectors: t.inspectors.clone(),
                    members: Vec::new(),
                })
                .collect(),
        })
        .collect();
    let index: HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, s)| (s.institution.clone(), i))
        .collect();
    for r in replacements {
        let Some(&i) = index.get(&r.institution) else {
            continue;
        };
        let sel = &mut out[i];
        if let Some(team) = sel.team.iter_mut().find(|t| t.department == r.department)
            && let Some(slot) = team.inspectors.iter_mut().find(|x| **x == r.out)
        {
            *slot = r.r#in.clone();
        }
        if let Some(first) = sel
            .team
            .iter()
            .find(|t| t.department == lead)
            .and_then(|t| t.inspectors.first())
        {
            sel.leader = Some(first.clone());
        }
    }
    out
}

/// Adds names and codes to selections, so a coordinator can read a draw without looking
/// up every id.
async fn with_names(
    db: &Store,
    mut selections: Vec<SelectionView>,
) -> ApiResult<Vec<SelectionView>> {
    if selections.is_empty() {
        return Ok(selections);
    }
    let ids: Vec<String> = selections.iter().map(|s| s.institution.clone()).collect();
    let institutions = db.institution_cards(&ids).await?;
    let mut people: Vec<String> = selections
        .iter()
        .flat_map(|s| s.team.iter().flat_map(|t| t.inspectors.iter().cloned()))
        .collect();
    people.sort();
    people.dedup();
    let inspectors = db.inspector_cards(&people).await?;
    for s in &mut selections {
        if let Some((name, code, _, _)) = institutions.get(&s.institution) {
            s.institution_name = Some(name.clone());
            s.credit_code = Some(code.clone());
        }
        for t in &mut s.team {
            t.members = t
                .inspectors
                .iter()
                .map(|id| {
                    let (name, certificate_no) = inspectors.get(id).cloned().unwrap_or_default();
                    MemberView {
                        id: id.clone(),
                        name,
                        certificate_no,
                    }
                })
                .collect();
        }
    }
    Ok(selections)
}

/// The coordinator's view of `task`, with its deadlines on `calendar`.
pub async fn view(db: &Store, calendar: &RwLock<Calendar>, task: TaskRow) -> ApiResult<TaskView> {
    let mut conn = db.read().await?;
    let entropy = store::entropy(&mut *conn, &task.id).await?;
    let pools = crate::domain::organization::OrgPool::from_rows(
        crate::store::organizations::pools(&mut *conn, &task.id).await?,
    );
    let v2 = task.config.protocol() == Protocol::V2;
    let mut replacements_head = None;
    let (selections, replacements) = match store::drawn_result(&mut conn, &task.id).await? {
        Some(result) => {
            let replacements = store::replacements(&mut *conn, &task.id).await?;
            let lead = task.config.lead_department.as_str();
            let views = match (&task.result_hash, v2) {
                (Some(head), true) => {
                    let chained = tasks::v2::chain(head, &replacements);
                    replacements_head = Some(
                        chained
                            .last()
                            .map_or_else(|| head.clone(), |r| r.hash.clone()),
                    );
                    chained.into_iter().map(ReplacementView::from).collect()
                }
                _ => replacements
                    .iter()
                    .cloned()
                    .map(ReplacementView::from)
                    .collect(),
            };
            (current_selections(&result, lead, &replacements), views)
        }
        None => (Vec::new(), Vec::new()),
    };
    drop(conn);
    let drawn = task.drawn_at.is_some();
    let forfeited = if v2 && drawn {
        tasks::v2::entropy2(&entropy, &task.config).forfeited
    } else {
        Vec::new()
    };
    let (zh, en) = tasks::v2::reveal_rule(&task.config);
    let clock = db.clock();
    let simulated_clock = clock.is_simulated().then(|| clock.now().to_rfc3339());
    let trust = tasks::v2::trust(&task.config).into();
    let selections = with_names(db, selections).await?;
    let deadlines =
        crate::publication::deadlines(&calendar.read().expect("calendar lock"), &task.config);
    Ok(TaskView {
        deadlines,
        published_at: task.published_at,
        closed_at: task.closed_at,
        id: task.id,
        version: task.version,
        state: task.state,
        config: task.config,
        pool_hash: task.pool_hash,
        pools,
        seed: task.seed,
        result_hash: task.result_hash,
        entropy: entropy
            .into_iter()
            .map(|e| EntropyStatus::shown(e, task.state))
            .collect(),
        selections,
        replacements,
        replacements_head,
        forfeited,
        trust,
        reveal_rule: Words { zh, en },
        simulated_clock,
        cancel_reason: task.cancel_reason,
        created_by: task.created_by,
        created_at: task.created_at,
        updated_at: task.updated_at,
        sealed_at: task.sealed_at,
        drawn_at: task.drawn_at,
        cancelled_at: task.cancelled_at,
    })
}
