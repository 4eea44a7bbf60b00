//! suiji-draw/2 in the lifecycle: the sealed snapshot with its conflict leaves, the reveal
//! deadline and forfeits, the beacon checked by signature, chained replacements, bundles
//! and the trust statement. The pure engine is `draw::v2`; this module only shapes what
//! the store holds into its inputs.

use crate::domain::task::{Protocol, TaskInput, unix_rfc3339};
use crate::draw::merkle::ConflictLeaf;
use crate::draw::v2::{
    self, Beacon, Bundle2, Department2, Entropy2, Inspector2, PlanEntry2, Replacement2, Snapshot2,
    Trust,
};
use crate::draw::{EntropyValue, Replacement, Snapshot, quicknet};
use crate::store::tasks::{DrawRecord2, EntropyStatus};
use std::collections::HashMap;

/// The /2 snapshot and its conflict leaves (pool order) from the /1-shaped snapshot
/// assembled from the registries: the same pool, departments and plan; each inspector's
/// declared conflicts move into one leaf per institution (by inspector id, across
/// departments).
pub fn snapshot2(s: Snapshot, cfg: &TaskInput) -> (Snapshot2, Vec<ConflictLeaf>) {
    let mut by_institution: HashMap<&str, Vec<String>> = HashMap::new();
    for d in &s.departments {
        for i in &d.inspectors {
            for c in &i.conflicts {
                by_institution
                    .entry(c.as_str())
                    .or_default()
                    .push(i.id.clone());
            }
        }
    }
    let leaves: Vec<ConflictLeaf> = s
        .strata
        .iter()
        .flat_map(|st| &st.members)
        .map(|m| {
            let mut inspectors = by_institution.remove(m.id.as_str()).unwrap_or_default();
            inspectors.sort();
            inspectors.dedup();
            ConflictLeaf {
                institution: m.id.clone(),
                inspectors,
            }
        })
        .collect();
    let rounds: HashMap<&str, u64> = cfg
        .entropy_plan
        .iter()
        .filter_map(|p| p.round.map(|r| (p.source.as_str(), r)))
        .collect();
    let snapshot = Snapshot2 {
        spec: v2::SPEC2.to_owned(),
        task_id: s.task_id,
        lead_department: (!s.departments.is_empty()).then_some(s.lead_department),
        cross_region: s.cross_region,
        max_assignments_per_inspector: s.max_assignments_per_inspector,
        reveal_deadline: cfg.reveal_deadline_unix().unwrap_or(0).max(0) as u64,
        strata: s.strata,
        departments: s
            .departments
            .into_iter()
            .map(|d| Department2 {
                team_size_max: cfg
                    .departments
                    .iter()
                    .find(|c| c.code.as_str() == d.code)
                    .and_then(|c| c.team_size_max),
                code: d.code,
                team_size: d.team_size,
                inspectors: d
                    .inspectors
                    .into_iter()
                    .map(|i| Inspector2 {
                        id: i.id,
                        region: i.region,
                    })
                    .collect(),
            })
            .collect(),
        conflicts_root: v2::conflicts_root(&leaves),
        exclusions: Vec::new(),
        entropy_plan: s
            .entropy_plan
            .into_iter()
            .map(|e| PlanEntry2 {
                round: rounds.get(e.source.as_str()).copied(),
                source: e.source,
                commitment: e.commitment,
                note: e.note,
            })
            .collect(),
        records: None,
    };
    (snapshot, leaves)
}

/// What became of the entropy plan: reveals, the beacon as entered, and the department
/// sources that did not reveal (forfeited once the deadline has passed).
pub fn entropy2(status: &[EntropyStatus], cfg: &TaskInput) -> Entropy2 {
    let mut out = Entropy2::default();
    for e in status {
        match (&e.value, e.source == quicknet::SOURCE) {
            (Some(sig), true) => {
                out.beacon = cfg.beacon_round().map(|round| Beacon {
                    round,
                    signature: sig.clone(),
                })
            }
            (None, true) => {}
            (Some(v), false) => out.reveals.push(EntropyValue {
                source: e.source.clone(),
                value: v.clone(),
            }),
            (None, false) => out.forfeited.push(e.source.clone()),
        }
    }
    out.reveals.sort_by(|a, b| a.source.cmp(&b.source));
    out.forfeited.sort();
    out
}

/// The stored replacement records chained as /2 wants them: the first after the
/// `result_hash`, each after the previous one's hash.
pub fn chain(result_hash: &str, stored: &[Replacement]) -> Vec<Replacement2> {
    let mut prev = result_hash.to_owned();
    stored
        .iter()
        .map(|r| {
            let c = v2::chain(prev.clone(), r.clone());
            prev = c.hash.clone();
            c
        })
        .collect()
}

/// The auditor's bundle (every conflict leaf) of a drawn /2 task.
pub fn auditor_bundle(record: DrawRecord2, entropy: Entropy2) -> Option<Bundle2> {
    let result = record.result?;
    let chained = chain(&v2::result_hash2(&result), &record.replacements);
    let mut bundle = v2::auditor_bundle(record.snapshot, record.leaves, entropy, result, chained);
    bundle.members = record.tree_members;
    Some(bundle)
}

/// What the fairness of a task's draw rests on, from its plan (and, /1, its sources).
pub fn trust(cfg: &TaskInput) -> Trust {
    let departments = cfg
        .entropy_plan
        .iter()
        .filter(|p| p.source.starts_with("department:"))
        .count();
    match (cfg.protocol(), cfg.beacon_round()) {
        (Protocol::V2, Some(round)) => Trust::Beacon { round },
        _ if departments == 0 => Trust::UnverifiedBeacon,
        _ if departments == 1 => Trust::OneDepartment,
        _ => Trust::SeveralDepartments { count: departments },
    }
}

/// The reveal rule of a task in words (zh, en).
pub fn reveal_rule(cfg: &TaskInput) -> (String, String) {
    let deadline = cfg
        .reveal_deadline_unix()
        .map(|t| unix_rfc3339(t.max(0) as u64))
        .unwrap_or_default();
    match (cfg.protocol(), cfg.beacon_round()) {
        (Protocol::V2, Some(round)) => (
            format!(
                "揭示截止时间为 {deadline}，之后不再接受揭示；届时未揭示的部门记为放弃，种子由已揭示的值和 drand quicknet 第 {round} 轮信标（在截止时间之后产生）计算。"
            ),
            format!(
                "Reveals close at {deadline}; a department that has not revealed by then is forfeited, and the seed is computed from the values revealed plus drand quicknet round {round} (published after the deadline)."
            ),
        ),
        (Protocol::V2, None) => (
            "本任务没有公共信标：与 suiji-draw/1 相同，所有部门都必须揭示才能抽取（揭示截止时间不强制）。".to_owned(),
            "This task has no public beacon: as in suiji-draw/1, every department must reveal before the draw (the reveal deadline is not enforced).".to_owned(),
        ),
        (Protocol::V1, _) => (
            "suiji-draw/1：所有来源都必须揭示才能抽取。".to_owned(),
            "suiji-draw/1: every source must reveal before the draw.".to_owned(),
        ),
    }
}
