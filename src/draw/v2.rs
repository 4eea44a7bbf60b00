//! suiji-draw/2 (`docs/draw-spec.md`, part B): /1's draw with a reveal deadline and
//! forfeits, a drand quicknet beacon checked by signature, chained replacements, samples
//! without teams, exclusions of earlier draws, and conflicts committed by a Merkle root so a
//! public bundle shows only the drawn institutions' conflicts.
//!
//! Pure: no I/O, no clock. The /1 primitives are reused as they are: canonical JSON,
//! `derive`, the ChaCha20 stream, `pick`, stratum sizes, and the /1 team engine itself,
//! which runs on a /1-shaped copy of the snapshot whose conflicts come from the leaves.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::canonical::{Canon, CanonicalJson, HashSink, Sink};
use super::engine::{DrawResult, Selection, Team, draw_with_seed};
use super::merkle::{self, ConflictLeaf};
use super::quicknet;
use super::replace::{Replacement, ReplacementRequest, ReplayState};
use super::seed::{EntropyValue, check_commitment};
use super::snapshot::{
    Department, EntropyPlanEntry, Inspector, Snapshot, SnapshotProblem, Stratum, infeasible_pairs,
    is_hash_hex, is_value_hex, required, validate,
};
use super::verify::{Bundle, verify as verify_v1};

/// The spec identifier of /2 documents.
pub const SPEC2: &str = "suiji-draw/2";

/// The sealed snapshot of a /2 draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot2 {
    /// Always `"suiji-draw/2"`.
    pub spec: String,
    /// The inspection task.
    pub task_id: String,
    /// Lead department code; `None` exactly when `departments` is empty.
    #[serde(deserialize_with = "required")]
    pub lead_department: Option<String>,
    /// Cross-region rule.
    pub cross_region: bool,
    /// Cap on assignments per inspector, or `None` for the automatic cap.
    #[serde(deserialize_with = "required")]
    pub max_assignments_per_inspector: Option<u64>,
    /// Unix time (seconds, UTC) after which reveals are refused.
    pub reveal_deadline: u64,
    /// Strata as in /1.
    pub strata: Vec<Stratum>,
    /// Departments, sorted by code (may be empty: a sample without teams).
    pub departments: Vec<Department2>,
    /// Hex root of the conflicts tree (one leaf per pool institution, pool order).
    pub conflicts_root: String,
    /// Institutions excluded because earlier draws took them, sorted by task.
    pub exclusions: Vec<Exclusion>,
    /// Sources of randomness, sorted by source.
    pub entropy_plan: Vec<PlanEntry2>,
    /// A sample of records (B.12): the members are salted hashes of a list's records, and
    /// this says which list and how each stratum selects them. Absent (and not written)
    /// otherwise, so every other snapshot keeps its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<super::sample::Records>,
}

/// A department of a /2 snapshot (its inspectors' conflicts live in the conflicts tree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department2 {
    /// Code, unique.
    pub code: String,
    /// Inspectors per selected institution, ≥ 1 (the minimum when `team_size_max` is set).
    pub team_size: u64,
    /// The most inspectors per selected institution (B.14: `team_size` ≤ it ≤ 20); the
    /// extra pass adds members up to it where enough inspectors are eligible. Absent (and
    /// not written) for a fixed team size, so every other snapshot keeps its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_size_max: Option<u64>,
    /// Inspectors sorted by id.
    pub inspectors: Vec<Inspector2>,
}

/// The largest `team_size_max` (B.14).
pub const TEAM_SIZE_MAX_LIMIT: u64 = 20;

/// An inspector of a /2 snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inspector2 {
    /// Id, unique within the department.
    pub id: String,
    /// Region (cross-region rule).
    #[serde(deserialize_with = "required")]
    pub region: Option<String>,
}

/// Institutions an earlier draw took, excluded from this pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    /// The earlier task's id (its snapshot's `task_id`).
    pub task: String,
    /// The earlier draw's `result_hash`.
    pub result_hash: String,
    /// Every institution that draw selected, sorted; with a `basis`, those of them this
    /// basis excludes (a non-empty subset).
    pub institutions: Vec<String>,
    /// Absent: an earlier round of the same plan (every institution it drew is excluded).
    /// `"yearly_cap"`: the listed institutions reached the yearly cap of random
    /// inspections, this earlier draw among those counting toward it (B.7.1). Written only
    /// when set, so pools without it hash as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
}

/// The `basis` of an exclusion of institutions that reached the yearly cap (B.7.1).
pub const BASIS_YEARLY_CAP: &str = "yearly_cap";

/// A planned source: `department:<code>` with a commitment, or `beacon:drand-quicknet` with
/// a round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanEntry2 {
    /// The source name.
    pub source: String,
    /// `hex(SHA-256(secret))` for a department; `None` for the beacon.
    #[serde(deserialize_with = "required")]
    pub commitment: Option<String>,
    /// The quicknet round for the beacon; `None` for a department.
    #[serde(deserialize_with = "required")]
    pub round: Option<u64>,
    /// Free text.
    #[serde(deserialize_with = "required")]
    pub note: Option<String>,
}

/// The beacon as entered: the round and its BLS signature (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    /// quicknet round.
    pub round: u64,
    /// 96 lowercase hex digits.
    pub signature: String,
}

/// What became of the entropy plan at the draw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entropy2 {
    /// Department reveals (sorted by source).
    pub reveals: Vec<EntropyValue>,
    /// Department sources that did not reveal by the deadline (sorted).
    pub forfeited: Vec<String>,
    /// The beacon, when the plan has one.
    pub beacon: Option<Beacon>,
}

/// One selection of a /2 draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection2 {
    /// 1, 2, … in processing order.
    pub order: u64,
    /// Stratum id.
    pub stratum: String,
    /// Institution id.
    pub institution: String,
    /// First inspector of the lead department's team; `None` without departments.
    #[serde(deserialize_with = "required")]
    pub leader: Option<String>,
    /// One team per department, in snapshot order (empty without departments).
    pub team: Vec<Team>,
}

/// The /2 draw as first made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Result2 {
    /// Always `"suiji-draw/2"`.
    pub spec: String,
    /// Hex pool hash.
    pub pool_hash: String,
    /// Hex seed.
    pub seed: String,
    /// Selections.
    pub selections: Vec<Selection2>,
}

/// A chained replacement record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replacement2 {
    /// 1, 2, …
    pub seq: u64,
    /// Institution of the team.
    pub institution: String,
    /// Department of the team.
    pub department: String,
    /// Inspector leaving.
    pub out: String,
    /// Why (free text, covered by `hash`).
    pub reason: String,
    /// The drawn substitute.
    pub r#in: String,
    /// `hash` of the previous record; for the first, the `result_hash`.
    pub prev: String,
    /// `hex(SHA-256(canonical(record without hash)))`.
    pub hash: String,
}

/// The conflicts as disclosed by a bundle: all leaves (auditor's bundle) or proofs for the
/// drawn institutions (public bundle). Exactly one is not null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conflicts {
    /// Every leaf, pool order.
    #[serde(deserialize_with = "required")]
    pub full: Option<Vec<ConflictLeaf>>,
    /// One proof per drawn institution, sorted by index.
    #[serde(deserialize_with = "required")]
    pub proofs: Option<Vec<ConflictProof>>,
}

/// A leaf with its inclusion path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictProof {
    /// Position of the institution in pool order.
    pub index: u64,
    /// Institution id.
    pub institution: String,
    /// Conflicting inspector ids, sorted.
    pub inspectors: Vec<String>,
    /// Sibling hashes, bottom-up (RFC 9162 §2.1.3).
    pub path: Vec<String>,
}

/// A /2 bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle2 {
    /// Always `"suiji-draw/2"`.
    pub spec: String,
    /// The sealed snapshot.
    pub snapshot: Snapshot2,
    /// Department reveals, sorted by source.
    pub entropy: Vec<EntropyValue>,
    /// Forfeited department sources, sorted.
    pub forfeited: Vec<String>,
    /// The beacon round and signature, or null.
    #[serde(deserialize_with = "required")]
    pub beacon: Option<Beacon>,
    /// Conflicts disclosed.
    pub conflicts: Conflicts,
    /// The draw.
    pub result: Result2,
    /// `hex(SHA-256(canonical(result)))`.
    pub result_hash: String,
    /// Chained replacements.
    pub replacements: Vec<Replacement2>,
    /// Hash of the last replacement, or `result_hash` when there is none.
    pub replacements_head: String,
    /// A sample of records in tree form (B.18): every member the draw considered, with its
    /// inclusion path. Absent (and not written) otherwise, so every other bundle keeps its
    /// bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<super::tree::MemberProof>>,
}

/// The verification step that failed (the browser verifier marks the same steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Not a bundle of this spec.
    Bundle,
    /// Snapshot not well-formed or infeasible.
    Snapshot,
    /// Pool hash.
    PoolHash,
    /// Conflicts tree (root, leaves, proofs).
    Conflicts,
    /// Department reveals and commitments.
    Commitment,
    /// Beacon round, time or signature.
    Beacon,
    /// Forfeits.
    Forfeit,
    /// Seed.
    Seed,
    /// Institutions drawn.
    Selection,
    /// Teams and leaders.
    Team,
    /// Result hash.
    ResultHash,
    /// Replacement chain.
    Replacement,
    /// Exclusions against earlier bundles.
    Exclusion,
}

impl Step {
    /// Stable name (used in the browser verifier's `data-step`).
    pub fn name(self) -> &'static str {
        match self {
            Step::Bundle => "bundle",
            Step::Snapshot => "snapshot",
            Step::PoolHash => "pool_hash",
            Step::Conflicts => "conflicts",
            Step::Commitment => "commitment",
            Step::Beacon => "beacon",
            Step::Forfeit => "forfeit",
            Step::Seed => "seed",
            Step::Selection => "selection",
            Step::Team => "team",
            Step::ResultHash => "result_hash",
            Step::Replacement => "replacement",
            Step::Exclusion => "exclusion",
        }
    }
}

/// A failed check: which step, and why in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", .step.name())]
pub struct Failure {
    /// The step.
    pub step: Step,
    /// The reason, naming the record, source or selection.
    pub reason: String,
}

fn fail<T>(step: Step, reason: impl Into<String>) -> Result<T, Failure> {
    Err(Failure {
        step,
        reason: reason.into(),
    })
}

// ---------------------------------------------------------------- canonical forms

impl CanonicalJson for Inspector2 {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("id");
        w.str(&self.id);
        w.key("region");
        w.opt_str(self.region.as_deref());
        w.end_object();
    }
}

impl CanonicalJson for Department2 {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("code");
        w.str(&self.code);
        w.key("inspectors");
        w.begin_array();
        for i in &self.inspectors {
            i.write_canonical(w);
        }
        w.end_array();
        w.key("team_size");
        w.u64(self.team_size);
        if let Some(m) = self.team_size_max {
            w.key("team_size_max");
            w.u64(m);
        }
        w.end_object();
    }
}

impl CanonicalJson for Exclusion {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        if let Some(b) = &self.basis {
            w.key("basis");
            w.str(b);
        }
        w.key("institutions");
        w.str_array(self.institutions.iter().map(String::as_str));
        w.key("result_hash");
        w.str(&self.result_hash);
        w.key("task");
        w.str(&self.task);
        w.end_object();
    }
}

impl CanonicalJson for PlanEntry2 {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("commitment");
        w.opt_str(self.commitment.as_deref());
        w.key("note");
        w.opt_str(self.note.as_deref());
        w.key("round");
        w.opt_u64(self.round);
        w.key("source");
        w.str(&self.source);
        w.end_object();
    }
}

impl CanonicalJson for Snapshot2 {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("conflicts_root");
        w.str(&self.conflicts_root);
        w.key("cross_region");
        w.bool(self.cross_region);
        w.key("departments");
        w.begin_array();
        for d in &self.departments {
            d.write_canonical(w);
        }
        w.end_array();
        w.key("entropy_plan");
        w.begin_array();
        for e in &self.entropy_plan {
            e.write_canonical(w);
        }
        w.end_array();
        w.key("exclusions");
        w.begin_array();
        for e in &self.exclusions {
            e.write_canonical(w);
        }
        w.end_array();
        w.key("lead_department");
        w.opt_str(self.lead_department.as_deref());
        w.key("max_assignments_per_inspector");
        w.opt_u64(self.max_assignments_per_inspector);
        if let Some(r) = &self.records {
            w.key("records");
            r.write_canonical(w);
        }
        w.key("reveal_deadline");
        w.u64(self.reveal_deadline);
        w.key("spec");
        w.str(&self.spec);
        w.key("strata");
        w.begin_array();
        for s in &self.strata {
            s.write_canonical(w);
        }
        w.end_array();
        w.key("task_id");
        w.str(&self.task_id);
        w.end_object();
    }
}

impl CanonicalJson for Selection2 {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("institution");
        w.str(&self.institution);
        w.key("leader");
        w.opt_str(self.leader.as_deref());
        w.key("order");
        w.u64(self.order);
        w.key("stratum");
        w.str(&self.stratum);
        w.key("team");
        w.begin_array();
        for t in &self.team {
            t.write_canonical(w);
        }
        w.end_array();
        w.end_object();
    }
}

impl CanonicalJson for Result2 {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("pool_hash");
        w.str(&self.pool_hash);
        w.key("seed");
        w.str(&self.seed);
        w.key("selections");
        w.begin_array();
        for s in &self.selections {
            s.write_canonical(w);
        }
        w.end_array();
        w.key("spec");
        w.str(&self.spec);
        w.end_object();
    }
}

/// `hex(SHA-256(canonical(snapshot)))`.
pub fn pool_hash2(snapshot: &Snapshot2) -> String {
    hex::encode(snapshot.canonical_sha256())
}

/// `hex(SHA-256(canonical(result)))`.
pub fn result_hash2(result: &Result2) -> String {
    hex::encode(result.canonical_sha256())
}

/// The hash of a replacement record: canonical JSON of every field except `hash`.
pub fn record_hash(r: &Replacement2) -> String {
    let mut sink = HashSink::new();
    let mut w = Canon::new(&mut sink);
    w.begin_object();
    w.key("department");
    w.str(&r.department);
    w.key("in");
    w.str(&r.r#in);
    w.key("institution");
    w.str(&r.institution);
    w.key("out");
    w.str(&r.out);
    w.key("prev");
    w.str(&r.prev);
    w.key("reason");
    w.str(&r.reason);
    w.key("seq");
    w.u64(r.seq);
    w.end_object();
    hex::encode(sink.finish())
}

// ---------------------------------------------------------------- snapshot checks

/// Institutions in pool order: strata in snapshot order, members in stratum order.
fn pool(snapshot: &Snapshot2) -> impl Iterator<Item = &str> {
    snapshot
        .strata
        .iter()
        .flat_map(|s| s.members.iter().map(|m| m.id.as_str()))
}

fn pool_len(snapshot: &Snapshot2) -> usize {
    snapshot.strata.iter().map(|s| s.members.len()).sum()
}

/// The /1-shaped copy the /1 team engine runs on; `conflicts` maps institution → inspector
/// ids (only the institutions known; others get none).
fn to_v1(snapshot: &Snapshot2, conflicts: &HashMap<&str, &[String]>) -> Snapshot {
    let mut by_inspector: HashMap<&str, Vec<String>> = HashMap::new();
    for (inst, inspectors) in conflicts {
        for i in inspectors.iter() {
            by_inspector
                .entry(i.as_str())
                .or_default()
                .push((*inst).to_owned());
        }
    }
    for v in by_inspector.values_mut() {
        v.sort();
        v.dedup();
    }
    Snapshot {
        spec: super::SPEC.to_owned(),
        task_id: snapshot.task_id.clone(),
        lead_department: snapshot.lead_department.clone().unwrap_or_default(),
        cross_region: snapshot.cross_region,
        max_assignments_per_inspector: snapshot.max_assignments_per_inspector,
        strata: snapshot.strata.clone(),
        departments: snapshot
            .departments
            .iter()
            .map(|d| Department {
                code: d.code.clone(),
                team_size: d.team_size,
                inspectors: d
                    .inspectors
                    .iter()
                    .map(|i| Inspector {
                        id: i.id.clone(),
                        region: i.region.clone(),
                        conflicts: by_inspector.get(i.id.as_str()).cloned().unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect(),
        entropy_plan: snapshot
            .entropy_plan
            .iter()
            .map(|e| EntropyPlanEntry {
                source: e.source.clone(),
                commitment: e.commitment.clone(),
                note: e.note.clone(),
            })
            .collect(),
    }
}

/// Every structural problem of a /2 snapshot, in words (empty when well-formed). The /1
/// rules apply to strata, departments and the plan; /2 adds its own fields.
pub fn validate2(snapshot: &Snapshot2) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if snapshot.spec != SPEC2 {
        out.push(format!("spec is {:?}, expected \"{SPEC2}\"", snapshot.spec));
    }
    let v1 = to_v1(snapshot, &HashMap::new());
    for p in validate(&v1) {
        if matches!(p, SnapshotProblem::UnknownLeadDepartment(_)) && snapshot.departments.is_empty()
        {
            continue;
        }
        out.push(p.to_string());
    }
    match (&snapshot.lead_department, snapshot.departments.is_empty()) {
        (Some(l), true) => out.push(format!(
            "lead_department {l:?} given but there are no departments (must be null)"
        )),
        (None, false) => out.push("lead_department is null but there are departments".into()),
        _ => {}
    }
    if !is_hash_hex(&snapshot.conflicts_root) {
        out.push("conflicts_root is not 64 lowercase hex digits".into());
    }
    for e in &snapshot.entropy_plan {
        if e.source.starts_with("department:") {
            if e.round.is_some() {
                out.push(format!(
                    "entropy source {}: a department has no round",
                    e.source
                ));
            }
        } else if e.source == quicknet::SOURCE {
            match e.round {
                None | Some(0) => out.push(format!("entropy source {}: round missing", e.source)),
                Some(r) => {
                    if quicknet::round_time(r).is_none_or(|t| t <= snapshot.reveal_deadline) {
                        out.push(format!(
                            "beacon round {r} is published at {}, not after the reveal deadline {}",
                            quicknet::round_time(r).unwrap_or(0),
                            snapshot.reveal_deadline
                        ));
                    }
                }
            }
        } else if e.source.starts_with("beacon:") {
            out.push(format!(
                "entropy source {}: the only beacon of /2 is {}",
                e.source,
                quicknet::SOURCE
            ));
        }
    }
    let excluded: HashSet<&str> = snapshot
        .exclusions
        .iter()
        .flat_map(|e| e.institutions.iter().map(String::as_str))
        .collect();
    for (i, e) in snapshot.exclusions.iter().enumerate() {
        if i > 0 && snapshot.exclusions[i - 1].task >= e.task {
            out.push(format!(
                "exclusions not sorted by task or not unique: {:?} before {:?}",
                snapshot.exclusions[i - 1].task,
                e.task
            ));
        }
        if !is_hash_hex(&e.result_hash) {
            out.push(format!(
                "exclusion {}: result_hash is not 64 lowercase hex digits",
                e.task
            ));
        }
        if e.institutions.windows(2).any(|w| w[0] >= w[1]) {
            out.push(format!(
                "exclusion {}: institutions not sorted or not unique",
                e.task
            ));
        }
        if let Some(b) = e.basis.as_deref().filter(|b| *b != BASIS_YEARLY_CAP) {
            out.push(format!(
                "exclusion {}: basis {b:?} is not {BASIS_YEARLY_CAP:?}",
                e.task
            ));
        }
    }
    if let Some(id) = pool(snapshot).find(|id| excluded.contains(id)) {
        out.push(format!(
            "institution {id} is in the pool and in an exclusion"
        ));
    }
    if let Some(records) = &snapshot.records {
        out.extend(super::sample::validate_records(snapshot, records));
    }
    out.extend(super::team_range::validate_ranges(snapshot));
    out
}

fn check_leaf(leaf: &ConflictLeaf) -> Result<(), Failure> {
    if leaf.inspectors.windows(2).any(|w| w[0] >= w[1]) {
        return fail(
            Step::Conflicts,
            format!(
                "leaf of {}: inspectors not sorted or not unique",
                leaf.institution
            ),
        );
    }
    Ok(())
}

/// Leaf hashes of the full leaf list, checking it lists the pool in order.
fn full_leaf_hashes(
    snapshot: &Snapshot2,
    leaves: &[ConflictLeaf],
) -> Result<Vec<[u8; 32]>, Failure> {
    if leaves.len() != pool_len(snapshot) {
        return fail(
            Step::Conflicts,
            format!(
                "{} conflict leaves for {} pool institutions",
                leaves.len(),
                pool_len(snapshot)
            ),
        );
    }
    for (i, (leaf, id)) in leaves.iter().zip(pool(snapshot)).enumerate() {
        if leaf.institution != id {
            return fail(
                Step::Conflicts,
                format!(
                    "leaf {i}: institution {id} expected, {} found",
                    leaf.institution
                ),
            );
        }
        check_leaf(leaf)?;
    }
    Ok(leaves.iter().map(merkle::leaf_hash).collect())
}

/// The conflicts root for `leaves` (one per pool institution, pool order), to put in the
/// snapshot at sealing.
pub fn conflicts_root(leaves: &[ConflictLeaf]) -> String {
    let hashes: Vec<[u8; 32]> = leaves.iter().map(merkle::leaf_hash).collect();
    hex::encode(merkle::root(&hashes))
}

/// Everything sealing must check: structure, the conflicts root against the full leaves,
/// the beacon round after the reveal deadline, and feasibility (as /1: every pool
/// institution has enough eligible inspectors in every department).
pub fn seal_check(snapshot: &Snapshot2, leaves: &[ConflictLeaf]) -> Result<(), Failure> {
    if let Some(p) = validate2(snapshot).into_iter().next() {
        return fail(Step::Snapshot, p);
    }
    let hashes = full_leaf_hashes(snapshot, leaves)?;
    let root = hex::encode(merkle::root(&hashes));
    if root != snapshot.conflicts_root {
        return fail(
            Step::Conflicts,
            format!(
                "conflicts root {root} expected, {} found",
                snapshot.conflicts_root
            ),
        );
    }
    let map: HashMap<&str, &[String]> = leaves
        .iter()
        .map(|l| (l.institution.as_str(), l.inspectors.as_slice()))
        .collect();
    let bad = infeasible_pairs(&to_v1(snapshot, &map));
    if let Some((inst, dept)) = bad.first() {
        return fail(
            Step::Snapshot,
            format!(
                "infeasible: institution {inst} has too few eligible inspectors in {dept} ({} pair(s) in all)",
                bad.len()
            ),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- entropy and seed

/// Check the entropy against the plan (every department source revealed with a matching
/// commitment or forfeited, forfeits only with a beacon, the beacon's round and signature)
/// and compute the seed.
pub fn seed2(
    snapshot: &Snapshot2,
    pool_hash: &str,
    entropy: &Entropy2,
) -> Result<[u8; 32], Failure> {
    let plan_beacon = snapshot
        .entropy_plan
        .iter()
        .find(|e| e.source == quicknet::SOURCE);
    let mut revealed: HashMap<&str, &EntropyValue> = HashMap::new();
    for v in &entropy.reveals {
        if revealed.insert(v.source.as_str(), v).is_some() {
            return fail(Step::Commitment, format!("{} revealed twice", v.source));
        }
    }
    for w in entropy.forfeited.windows(2) {
        if w[0] >= w[1] {
            return fail(Step::Forfeit, "forfeited list not sorted or not unique");
        }
    }
    for f in &entropy.forfeited {
        if revealed.contains_key(f.as_str()) {
            return fail(Step::Forfeit, format!("{f} is both revealed and forfeited"));
        }
        if !snapshot
            .entropy_plan
            .iter()
            .any(|e| e.source == *f && e.source.starts_with("department:"))
        {
            return fail(
                Step::Forfeit,
                format!("{f} is forfeited but is not a planned department source"),
            );
        }
    }
    if !entropy.forfeited.is_empty() && plan_beacon.is_none() {
        return fail(
            Step::Forfeit,
            format!(
                "{} forfeited, but without a beacon every department must reveal",
                entropy.forfeited.join(", ")
            ),
        );
    }
    for e in snapshot
        .entropy_plan
        .iter()
        .filter(|e| e.source.starts_with("department:"))
    {
        match revealed.get(e.source.as_str()) {
            Some(v) => {
                if !is_value_hex(&v.value) {
                    return fail(
                        Step::Commitment,
                        format!("value of {} is not lowercase hex", v.source),
                    );
                }
                if !check_commitment(e.commitment.as_deref().unwrap_or(""), &v.value) {
                    return fail(
                        Step::Commitment,
                        format!("reveal of {} does not match its commitment", e.source),
                    );
                }
            }
            None if entropy.forfeited.contains(&e.source) => {}
            None => {
                return fail(
                    Step::Commitment,
                    format!("{} has neither a reveal nor a forfeit", e.source),
                );
            }
        }
    }
    if let Some(v) = entropy.reveals.iter().find(|v| {
        !snapshot
            .entropy_plan
            .iter()
            .any(|e| e.source == v.source && e.source.starts_with("department:"))
    }) {
        return fail(
            Step::Commitment,
            format!("{} is not a planned department source", v.source),
        );
    }
    let mut values: Vec<(String, String)> = entropy
        .reveals
        .iter()
        .map(|v| (v.source.clone(), v.value.clone()))
        .collect();
    match (plan_beacon, &entropy.beacon) {
        (None, None) => {}
        (None, Some(_)) => return fail(Step::Beacon, "a beacon is given but the plan has none"),
        (Some(_), None) => return fail(Step::Beacon, "the plan names a beacon but none is given"),
        (Some(p), Some(b)) => {
            if p.round != Some(b.round) {
                return fail(
                    Step::Beacon,
                    format!(
                        "beacon round {} given, the plan names round {:?}",
                        b.round, p.round
                    ),
                );
            }
            let t = quicknet::round_time(b.round).unwrap_or(0);
            if t <= snapshot.reveal_deadline {
                return fail(
                    Step::Beacon,
                    format!(
                        "beacon round {} was published at {t}, not after the reveal deadline {}",
                        b.round, snapshot.reveal_deadline
                    ),
                );
            }
            let value = quicknet::verify_hex(b.round, &b.signature).map_err(|e| Failure {
                step: Step::Beacon,
                reason: e.to_string(),
            })?;
            values.push((quicknet::SOURCE.to_owned(), hex::encode(value)));
        }
    }
    values.sort();
    let mut sink = HashSink::new();
    let mut w = Canon::new(&mut sink);
    w.begin_object();
    w.key("entropy");
    w.begin_array();
    for (s, v) in &values {
        w.begin_object();
        w.key("source");
        w.str(s);
        w.key("value");
        w.str(v);
        w.end_object();
    }
    w.end_array();
    w.key("forfeited");
    w.str_array(entropy.forfeited.iter().map(String::as_str));
    w.key("pool_hash");
    w.str(pool_hash);
    w.key("spec");
    w.str(SPEC2);
    w.end_object();
    Ok(sink.finish())
}

// ---------------------------------------------------------------- the draw

/// The draw for a seed, with the conflicts of (at least) every drawn institution known.
fn draw_from_seed(
    snapshot: &Snapshot2,
    conflicts: &HashMap<&str, &[String]>,
    pool_hash: String,
    seed: &[u8; 32],
    members: &[super::tree::MemberProof],
) -> Result<Result2, Failure> {
    if let Some(records) = snapshot
        .records
        .as_ref()
        .filter(|r| super::tree::is_tree(Some(r)))
    {
        // B.18: the strata's members are the disclosed leaves at the drawn indices.
        let chosen = super::tree::draw_selections(seed, &snapshot.strata, records, members)
            .map_err(|reason| Failure {
                step: Step::Selection,
                reason,
            })?;
        let selections = chosen
            .into_iter()
            .enumerate()
            .map(|(i, (si, member))| Selection2 {
                order: i as u64 + 1,
                stratum: snapshot.strata[si].id.clone(),
                institution: member,
                leader: None,
                team: Vec::new(),
            })
            .collect();
        return Ok(Result2 {
            spec: SPEC2.to_owned(),
            pool_hash,
            seed: hex::encode(seed),
            selections,
        });
    }
    if snapshot.departments.is_empty() {
        let mut selections = Vec::new();
        for (si, s) in snapshot.strata.iter().enumerate() {
            // §6, or a records stratum's cap / groups (B.15, B.16).
            let rs = snapshot.records.as_ref().and_then(|r| r.strata.get(si));
            for i in super::sample::draw_stratum(seed, s, rs) {
                selections.push(Selection2 {
                    order: selections.len() as u64 + 1,
                    stratum: s.id.clone(),
                    institution: s.members[i].id.clone(),
                    leader: None,
                    team: Vec::new(),
                });
            }
        }
        return Ok(Result2 {
            spec: SPEC2.to_owned(),
            pool_hash,
            seed: hex::encode(seed),
            selections,
        });
    }
    let v1 = to_v1(snapshot, conflicts);
    let r = draw_with_seed(&v1, pool_hash, seed).map_err(|e| Failure {
        step: Step::Team,
        reason: e.to_string(),
    })?;
    let mut out = Result2 {
        spec: SPEC2.to_owned(),
        pool_hash: r.pool_hash,
        seed: r.seed,
        selections: r
            .selections
            .into_iter()
            .map(|s| Selection2 {
                order: s.order,
                stratum: s.stratum,
                institution: s.institution,
                leader: s.leader,
                team: s.team,
            })
            .collect(),
    };
    super::team_range::extra_members(snapshot, conflicts, seed, &mut out.selections);
    Ok(out)
}

/// Make a /2 draw: [`seal_check`], the entropy checks of [`seed2`], then strata and teams.
pub fn draw2(
    snapshot: &Snapshot2,
    leaves: &[ConflictLeaf],
    entropy: &Entropy2,
) -> Result<Result2, Failure> {
    seal_check(snapshot, leaves)?;
    let ph = pool_hash2(snapshot);
    let seed = seed2(snapshot, &ph, entropy)?;
    let map: HashMap<&str, &[String]> = leaves
        .iter()
        .map(|l| (l.institution.as_str(), l.inspectors.as_slice()))
        .collect();
    draw_from_seed(snapshot, &map, ph, &seed, &[])
}

/// Make a /2 draw of a sample of records in tree form (B.18): the seed as in [`draw2`],
/// then the draw over `members`, the disclosed leaves (with paths) of every index the draw
/// considers (a caller finds those indices first with [`seed_of`] and
/// [`super::tree::draw_subtree`]).
pub fn draw2_tree(
    snapshot: &Snapshot2,
    entropy: &Entropy2,
    members: &[super::tree::MemberProof],
) -> Result<Result2, Failure> {
    seal_check(snapshot, &[])?;
    let ph = pool_hash2(snapshot);
    let seed = seed2(snapshot, &ph, entropy)?;
    check_tree_members(snapshot, Some(members))?;
    draw_from_seed(snapshot, &HashMap::new(), ph, &seed, members)
}

/// The seed of a sealed snapshot with these reveals (B.4), after the entropy checks.
pub fn seed_of(snapshot: &Snapshot2, entropy: &Entropy2) -> Result<[u8; 32], Failure> {
    seed2(snapshot, &pool_hash2(snapshot), entropy)
}

/// B.18: a tree-form snapshot needs its disclosed members, each with a valid path; any
/// other snapshot has none.
fn check_tree_members(
    snapshot: &Snapshot2,
    members: Option<&[super::tree::MemberProof]>,
) -> Result<(), Failure> {
    let tree = snapshot
        .records
        .as_ref()
        .filter(|r| super::tree::is_tree(Some(r)));
    match (tree, members) {
        (None, None) => Ok(()),
        (None, Some(_)) => fail(
            Step::Bundle,
            "members are given but the snapshot is not a sample of records in tree form",
        ),
        (Some(_), None) => fail(
            Step::Bundle,
            "the snapshot is in tree form but the bundle discloses no members",
        ),
        (Some(r), Some(m)) => {
            super::tree::check_members(&snapshot.strata, r, m).map_err(|reason| Failure {
                step: Step::Selection,
                reason,
            })
        }
    }
}

fn to_v1_result(r: &Result2) -> DrawResult {
    DrawResult {
        spec: super::SPEC.to_owned(),
        pool_hash: r.pool_hash.clone(),
        seed: r.seed.clone(),
        selections: r
            .selections
            .iter()
            .map(|s| Selection {
                order: s.order,
                stratum: s.stratum.clone(),
                institution: s.institution.clone(),
                leader: s.leader.clone(),
                team: s.team.clone(),
            })
            .collect(),
    }
}

fn to_v1_replacement(r: &Replacement2) -> Replacement {
    Replacement {
        seq: r.seq,
        institution: r.institution.clone(),
        department: r.department.clone(),
        out: r.out.clone(),
        reason: r.reason.clone(),
        r#in: r.r#in.clone(),
    }
}

/// Draw the substitute for `request` on top of `previous` (already chained) and return the
/// new chained record. `request.seq` must be `previous.len() + 1`.
pub fn replace2(
    snapshot: &Snapshot2,
    leaves: &[ConflictLeaf],
    result: &Result2,
    previous: &[Replacement2],
    request: &ReplacementRequest,
) -> Result<Replacement2, Failure> {
    let map: HashMap<&str, &[String]> = leaves
        .iter()
        .map(|l| (l.institution.as_str(), l.inspectors.as_slice()))
        .collect();
    let v1 = to_v1(snapshot, &map);
    let v1r = to_v1_result(result);
    let err = |e: super::ReplaceError| Failure {
        step: Step::Replacement,
        reason: e.to_string(),
    };
    let mut state = ReplayState::new(&v1, &v1r).map_err(err)?;
    for r in previous {
        state.apply(&to_v1_replacement(r)).map_err(err)?;
    }
    let inn = state.substitute(request).map_err(err)?;
    Ok(chain(
        match previous.last() {
            Some(p) => p.hash.clone(),
            None => result_hash2(result),
        },
        Replacement::new(request.clone(), inn),
    ))
}

/// Chain a replacement after the record (or result) hashed `prev`.
pub fn chain(prev: String, r: Replacement) -> Replacement2 {
    let mut out = Replacement2 {
        seq: r.seq,
        institution: r.institution,
        department: r.department,
        out: r.out,
        reason: r.reason,
        r#in: r.r#in,
        prev,
        hash: String::new(),
    };
    out.hash = record_hash(&out);
    out
}

/// The auditor's bundle: every conflict leaf.
pub fn auditor_bundle(
    snapshot: Snapshot2,
    leaves: Vec<ConflictLeaf>,
    entropy: Entropy2,
    result: Result2,
    replacements: Vec<Replacement2>,
) -> Bundle2 {
    let result_hash = result_hash2(&result);
    let replacements_head = replacements
        .last()
        .map_or_else(|| result_hash.clone(), |r| r.hash.clone());
    let mut reveals = entropy.reveals;
    reveals.sort_by(|a, b| a.source.cmp(&b.source));
    Bundle2 {
        spec: SPEC2.to_owned(),
        snapshot,
        entropy: reveals,
        forfeited: entropy.forfeited,
        beacon: entropy.beacon,
        conflicts: Conflicts {
            full: Some(leaves),
            proofs: None,
        },
        result,
        result_hash,
        replacements,
        replacements_head,
        members: None,
    }
}

/// The public bundle: the auditor's bundle with the conflict leaves replaced by proofs for
/// the drawn institutions only.
pub fn public_bundle(auditor: &Bundle2) -> Result<Bundle2, Failure> {
    let Some(leaves) = &auditor.conflicts.full else {
        return fail(Step::Conflicts, "the bundle has no full conflicts list");
    };
    let hashes = full_leaf_hashes(&auditor.snapshot, leaves)?;
    let index: HashMap<&str, usize> = pool(&auditor.snapshot)
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect();
    let mut wanted: Vec<usize> = auditor
        .result
        .selections
        .iter()
        .filter_map(|s| index.get(s.institution.as_str()).copied())
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let (_, paths) = merkle::paths(&hashes, &wanted);
    let proofs = wanted
        .iter()
        .zip(paths)
        .map(|(&i, p)| ConflictProof {
            index: i as u64,
            institution: leaves[i].institution.clone(),
            inspectors: leaves[i].inspectors.clone(),
            path: p.iter().map(hex::encode).collect(),
        })
        .collect();
    let mut out = auditor.clone();
    out.conflicts = Conflicts {
        full: None,
        proofs: Some(proofs),
    };
    Ok(out)
}

// ---------------------------------------------------------------- verification

/// A /2 bundle found consistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified2 {
    /// Hex pool hash.
    pub pool_hash: String,
    /// Hex seed.
    pub seed: String,
    /// Hex result hash.
    pub result_hash: String,
    /// Number of selections.
    pub selections: usize,
    /// Number of replacements.
    pub replacements: usize,
    /// Head of the replacement chain.
    pub replacements_head: String,
    /// True when the bundle carries every conflict leaf (auditor's bundle).
    pub full_conflicts: bool,
}

/// Check the disclosed conflicts against the root and return what is known.
fn disclosed(b: &Bundle2) -> Result<HashMap<&str, &[String]>, Failure> {
    let snap = &b.snapshot;
    let root: [u8; 32] = {
        let mut r = [0u8; 32];
        hex::decode_to_slice(&snap.conflicts_root, &mut r).map_err(|_| Failure {
            step: Step::Snapshot,
            reason: "conflicts_root is not hex".into(),
        })?;
        r
    };
    match (&b.conflicts.full, &b.conflicts.proofs) {
        (Some(leaves), None) => {
            let hashes = full_leaf_hashes(snap, leaves)?;
            if merkle::root(&hashes) != root {
                return fail(
                    Step::Conflicts,
                    "the conflict leaves do not hash to the snapshot's conflicts_root",
                );
            }
            Ok(leaves
                .iter()
                .map(|l| (l.institution.as_str(), l.inspectors.as_slice()))
                .collect())
        }
        (None, Some(proofs)) => {
            let ids: Vec<&str> = pool(snap).collect();
            let n = ids.len() as u64;
            let mut out = HashMap::with_capacity(proofs.len());
            for (k, p) in proofs.iter().enumerate() {
                if k > 0 && proofs[k - 1].index >= p.index {
                    return fail(Step::Conflicts, "proofs not sorted by index or not unique");
                }
                if ids.get(p.index as usize) != Some(&p.institution.as_str()) {
                    return fail(
                        Step::Conflicts,
                        format!(
                            "proof for {}: index {} is not its pool position",
                            p.institution, p.index
                        ),
                    );
                }
                let leaf = ConflictLeaf {
                    institution: p.institution.clone(),
                    inspectors: p.inspectors.clone(),
                };
                check_leaf(&leaf)?;
                let mut path = Vec::with_capacity(p.path.len());
                for h in &p.path {
                    let mut x = [0u8; 32];
                    if !is_hash_hex(h) || hex::decode_to_slice(h, &mut x).is_err() {
                        return fail(
                            Step::Conflicts,
                            format!("proof for {}: path entry is not a hash", p.institution),
                        );
                    }
                    path.push(x);
                }
                if !merkle::verify_path(&merkle::leaf_hash(&leaf), p.index, n, &path, &root) {
                    return fail(
                        Step::Conflicts,
                        format!(
                            "proof for {} does not lead to the conflicts_root",
                            p.institution
                        ),
                    );
                }
                out.insert(p.institution.as_str(), p.inspectors.as_slice());
            }
            Ok(out)
        }
        _ => fail(
            Step::Conflicts,
            "exactly one of conflicts.full and conflicts.proofs must be given",
        ),
    }
}

fn compare(position: usize, e: &Selection2, f: &Selection2) -> Result<(), Failure> {
    if e.order != f.order || e.stratum != f.stratum || e.institution != f.institution {
        return fail(
            Step::Selection,
            format!(
                "selection {position}: {} (stratum {}, order {}) expected, {} (stratum {}, order {}) found",
                e.institution, e.stratum, e.order, f.institution, f.stratum, f.order
            ),
        );
    }
    if e.team != f.team {
        let (et, ft) = (
            serde_json::to_string(&e.team).unwrap_or_default(),
            serde_json::to_string(&f.team).unwrap_or_default(),
        );
        return fail(
            Step::Team,
            format!(
                "selection {position} ({}): team {et} expected, {ft} found",
                e.institution
            ),
        );
    }
    if e.leader != f.leader {
        return fail(
            Step::Team,
            format!(
                "selection {position} ({}): leader {:?} expected, {:?} found",
                e.institution, e.leader, f.leader
            ),
        );
    }
    Ok(())
}

/// Verify a /2 bundle (auditor's or public): every step of the spec, naming the first
/// failure. Exclusions need the earlier bundles: see [`check_exclusions`].
pub fn verify2(b: &Bundle2) -> Result<Verified2, Failure> {
    if b.spec != SPEC2 || b.result.spec != SPEC2 {
        return fail(
            Step::Bundle,
            format!(
                "spec {:?} / result spec {:?}, expected \"{SPEC2}\"",
                b.spec, b.result.spec
            ),
        );
    }
    let snap = &b.snapshot;
    if let Some(p) = validate2(snap).into_iter().next() {
        return fail(Step::Snapshot, p);
    }
    let ph = pool_hash2(snap);
    if b.result.pool_hash != ph {
        return fail(
            Step::PoolHash,
            format!(
                "the snapshot hashes to {ph}, the result says {}",
                b.result.pool_hash
            ),
        );
    }
    let conflicts = disclosed(b)?;
    if b.conflicts.full.is_some() {
        let bad = infeasible_pairs(&to_v1(snap, &conflicts));
        if let Some((i, d)) = bad.first() {
            return fail(
                Step::Snapshot,
                format!("infeasible: institution {i} has too few eligible inspectors in {d}"),
            );
        }
    }
    let entropy = Entropy2 {
        reveals: b.entropy.clone(),
        forfeited: b.forfeited.clone(),
        beacon: b.beacon.clone(),
    };
    let seed = seed2(snap, &ph, &entropy)?;
    if b.result.seed != hex::encode(seed) {
        return fail(
            Step::Seed,
            format!("{} expected, {} found", hex::encode(seed), b.result.seed),
        );
    }
    check_tree_members(snap, b.members.as_deref())?;
    let members = b.members.as_deref().unwrap_or(&[]);
    // Institutions first (they do not depend on conflicts), so a missing proof is named.
    if !snap.departments.is_empty() {
        let plain = draw_from_seed(
            &Snapshot2 {
                departments: Vec::new(),
                lead_department: None,
                ..snap.clone()
            },
            &HashMap::new(),
            ph.clone(),
            &seed,
            members,
        )?;
        for (i, (e, f)) in plain
            .selections
            .iter()
            .zip(&b.result.selections)
            .enumerate()
        {
            if e.institution != f.institution || e.stratum != f.stratum || e.order != f.order {
                compare(i + 1, e, f)?;
            }
            if !conflicts.contains_key(e.institution.as_str()) {
                return fail(
                    Step::Conflicts,
                    format!("no conflict proof for drawn institution {}", e.institution),
                );
            }
        }
    }
    let expected = draw_from_seed(snap, &conflicts, ph.clone(), &seed, members)?;
    for (i, (e, f)) in expected
        .selections
        .iter()
        .zip(&b.result.selections)
        .enumerate()
    {
        compare(i + 1, e, f)?;
    }
    if expected.selections.len() != b.result.selections.len() {
        return fail(
            Step::Selection,
            format!(
                "{} selections expected, {} found",
                expected.selections.len(),
                b.result.selections.len()
            ),
        );
    }
    let rh = result_hash2(&expected);
    if rh != result_hash2(&b.result) {
        return fail(Step::ResultHash, "result differs from the recomputed draw");
    }
    if b.result_hash != rh {
        return fail(
            Step::ResultHash,
            format!("{rh} expected, {} found", b.result_hash),
        );
    }
    check_chain(
        snap,
        &conflicts,
        &expected,
        &rh,
        &b.replacements,
        &b.replacements_head,
    )?;
    Ok(Verified2 {
        pool_hash: ph,
        seed: hex::encode(seed),
        result_hash: rh,
        selections: expected.selections.len(),
        replacements: b.replacements.len(),
        replacements_head: b.replacements_head.clone(),
        full_conflicts: b.conflicts.full.is_some(),
    })
}

fn check_chain(
    snap: &Snapshot2,
    conflicts: &HashMap<&str, &[String]>,
    result: &Result2,
    result_hash: &str,
    records: &[Replacement2],
    head: &str,
) -> Result<(), Failure> {
    let mut prev = result_hash.to_owned();
    let v1 = to_v1(snap, conflicts);
    let v1r = to_v1_result(result);
    let mut state = if records.is_empty() {
        None
    } else {
        Some(ReplayState::new(&v1, &v1r).map_err(|e| Failure {
            step: Step::Replacement,
            reason: e.to_string(),
        })?)
    };
    for (i, r) in records.iter().enumerate() {
        let pos = i as u64 + 1;
        if r.seq != pos {
            return fail(
                Step::Replacement,
                format!(
                    "record {pos}: seq {} found, {pos} expected (a record is missing or out of order)",
                    r.seq
                ),
            );
        }
        if r.prev != prev {
            return fail(
                Step::Replacement,
                format!(
                    "record seq {}: prev {} found, {prev} expected (the chain is broken)",
                    r.seq, r.prev
                ),
            );
        }
        let h = record_hash(r);
        if r.hash != h {
            return fail(
                Step::Replacement,
                format!(
                    "record seq {}: hash {} found, the record hashes to {h} (its content was changed)",
                    r.seq, r.hash
                ),
            );
        }
        let state = state.as_mut().expect("state exists when there are records");
        let v1rec = to_v1_replacement(r);
        let inn = state.substitute(&v1rec.request()).map_err(|e| Failure {
            step: Step::Replacement,
            reason: format!("record seq {}: {e}", r.seq),
        })?;
        if inn != r.r#in {
            return fail(
                Step::Replacement,
                format!("record seq {}: in {inn} expected, {} found", r.seq, r.r#in),
            );
        }
        state.apply(&v1rec).map_err(|e| Failure {
            step: Step::Replacement,
            reason: format!("record seq {}: {e}", r.seq),
        })?;
        prev = h;
    }
    if head != prev {
        return fail(
            Step::Replacement,
            format!(
                "replacements_head {head} found, the chain of {} record(s) ends at {prev} (a record was dropped or added)",
                records.len()
            ),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- any bundle

/// A bundle of either spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyBundle {
    /// suiji-draw/1.
    V1(Box<Bundle>),
    /// suiji-draw/2.
    V2(Box<Bundle2>),
}

/// Parse a bundle, dispatching on its `spec`.
pub fn parse_bundle(bytes: &[u8]) -> Result<AnyBundle, String> {
    #[derive(Deserialize)]
    struct Peek {
        spec: String,
    }
    let peek: Peek = serde_json::from_slice(bytes).map_err(|e| format!("not a bundle: {e}"))?;
    match peek.spec.as_str() {
        super::SPEC => serde_json::from_slice(bytes)
            .map(|b| AnyBundle::V1(Box::new(b)))
            .map_err(|e| format!("not a suiji-draw/1 bundle: {e}")),
        SPEC2 => serde_json::from_slice(bytes)
            .map(|b| AnyBundle::V2(Box::new(b)))
            .map_err(|e| format!("not a suiji-draw/2 bundle: {e}")),
        other => Err(format!("unknown spec {other:?}")),
    }
}

impl AnyBundle {
    /// The snapshot's task id.
    pub fn task_id(&self) -> &str {
        match self {
            AnyBundle::V1(b) => &b.snapshot.task_id,
            AnyBundle::V2(b) => &b.snapshot.task_id,
        }
    }

    /// The bundle's `result_hash`.
    pub fn result_hash(&self) -> &str {
        match self {
            AnyBundle::V1(b) => &b.result_hash,
            AnyBundle::V2(b) => &b.result_hash,
        }
    }

    /// The drawn institutions, sorted.
    pub fn drawn(&self) -> Vec<String> {
        let mut v: Vec<String> = match self {
            AnyBundle::V1(b) => b
                .result
                .selections
                .iter()
                .map(|s| s.institution.clone())
                .collect(),
            AnyBundle::V2(b) => b
                .result
                .selections
                .iter()
                .map(|s| s.institution.clone())
                .collect(),
        };
        v.sort();
        v
    }

    /// Verify (either spec); /1 failures are reported at the step they concern.
    pub fn verify(&self) -> Result<Summary, Failure> {
        match self {
            AnyBundle::V1(b) => verify_v1(b)
                .map(|v| Summary {
                    spec: super::SPEC,
                    pool_hash: v.pool_hash,
                    seed: v.seed,
                    result_hash: v.result_hash,
                    selections: v.selections,
                    replacements: v.replacements,
                    replacements_head: None,
                    full_conflicts: true,
                })
                .map_err(|m| Failure {
                    step: v1_step(&m),
                    reason: m.to_string(),
                }),
            AnyBundle::V2(b) => verify2(b).map(|v| Summary {
                spec: SPEC2,
                pool_hash: v.pool_hash,
                seed: v.seed,
                result_hash: v.result_hash,
                selections: v.selections,
                replacements: v.replacements,
                replacements_head: Some(v.replacements_head),
                full_conflicts: v.full_conflicts,
            }),
        }
    }

    /// What the fairness of this draw rests on.
    pub fn trust(&self) -> Trust {
        let (departments, beacon) = match self {
            AnyBundle::V1(b) => (
                b.entropy
                    .iter()
                    .filter(|e| e.source.starts_with("department:"))
                    .count(),
                b.entropy
                    .iter()
                    .any(|e| e.source.starts_with("beacon:"))
                    .then_some(None),
            ),
            AnyBundle::V2(b) => (b.entropy.len(), b.beacon.as_ref().map(|x| Some(x.round))),
        };
        match (beacon, departments) {
            (Some(Some(round)), _) => Trust::Beacon { round },
            (_, 0) => Trust::UnverifiedBeacon,
            (_, 1) => Trust::OneDepartment,
            (_, n) => Trust::SeveralDepartments { count: n },
        }
    }
}

fn v1_step(m: &super::Mismatch) -> Step {
    use super::Mismatch as M;
    match m {
        M::Spec { .. } => Step::Bundle,
        M::Snapshot(_) | M::Infeasible(_) => Step::Snapshot,
        M::PoolHash { .. } => Step::PoolHash,
        M::Entropy(_) => Step::Commitment,
        M::Seed { .. } => Step::Seed,
        M::Selection { field, .. } if field.contains("team") || field == "leader" => Step::Team,
        M::Selection { .. } | M::SelectionCount { .. } => Step::Selection,
        M::Result | M::ResultHash { .. } => Step::ResultHash,
        M::ReplacementSeq { .. } | M::ReplacementRefused { .. } | M::ReplacementIn { .. } => {
            Step::Replacement
        }
    }
}

/// A consistent bundle of either spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `suiji-draw/1` or `suiji-draw/2`.
    pub spec: &'static str,
    /// Hex pool hash.
    pub pool_hash: String,
    /// Hex seed.
    pub seed: String,
    /// Hex result hash.
    pub result_hash: String,
    /// Selections.
    pub selections: usize,
    /// Replacements.
    pub replacements: usize,
    /// Head of the replacement chain (/2).
    pub replacements_head: Option<String>,
    /// All conflicts disclosed (/1 always; /2 auditor's bundle).
    pub full_conflicts: bool,
}

/// What a draw's fairness rests on (issue 11 item 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// One department's committed secret.
    OneDepartment,
    /// Several departments' committed secrets.
    SeveralDepartments {
        /// How many revealed.
        count: usize,
    },
    /// A drand quicknet round with a verified signature, after the reveal deadline.
    Beacon {
        /// The round.
        round: u64,
    },
    /// Only a /1 beacon value, not tied to any signature.
    UnverifiedBeacon,
}

impl Trust {
    /// In Chinese.
    pub fn zh(&self) -> String {
        match self {
            Trust::OneDepartment => "本次抽取的公正性取决于一个部门的秘密：只要该部门在封存前未泄露、也未与他人串通，结果就无法被操纵。".into(),
            Trust::SeveralDepartments { count } => format!("本次抽取的公正性取决于 {count} 个部门的秘密：其中任意一个部门诚实，结果就无法被操纵。"),
            Trust::Beacon { round } => format!("本次抽取使用 drand quicknet 第 {round} 轮公共随机信标，其签名已验证：只要该轮在揭示截止时间之后产生，任何一方都无法操纵结果。"),
            Trust::UnverifiedBeacon => "本次抽取只使用了未经签名验证的信标值：其公正性取决于录入该值的人。".into(),
        }
    }

    /// In English.
    pub fn en(&self) -> String {
        match self {
            Trust::OneDepartment => "Fairness rests on one department's secret: the outcome cannot be steered as long as that department kept it and colluded with nobody.".into(),
            Trust::SeveralDepartments { count } => format!("Fairness rests on {count} departments' secrets: any one honest department suffices."),
            Trust::Beacon { round } => format!("Fairness rests on the public drand quicknet beacon, round {round}, whose signature was verified: no party can steer it, since the round was published after the reveal deadline."),
            Trust::UnverifiedBeacon => "Fairness rests only on a beacon value with no verified signature: it is only as trustworthy as whoever entered it.".into(),
        }
    }
}

/// Check each exclusion of a /2 bundle against the earlier bundles given: the earlier bundle
/// with that task id and result hash must be consistent and must have drawn exactly the
/// listed institutions.
pub fn check_exclusions(b: &Bundle2, previous: &[AnyBundle]) -> Result<(), Failure> {
    for e in &b.snapshot.exclusions {
        let Some(p) = previous
            .iter()
            .find(|p| p.task_id() == e.task && p.result_hash() == e.result_hash)
        else {
            return fail(
                Step::Exclusion,
                format!(
                    "exclusion of task {}: no earlier bundle with result_hash {} was given",
                    e.task, e.result_hash
                ),
            );
        };
        if let Err(f) = p.verify() {
            return fail(
                Step::Exclusion,
                format!(
                    "exclusion of task {}: the earlier bundle does not verify: {f}",
                    e.task
                ),
            );
        }
        let drawn = p.drawn();
        if e.basis.is_some() {
            // A yearly cap excludes some of what that draw took: each listed one must
            // have been drawn by it.
            let extra: Vec<&String> = e
                .institutions
                .iter()
                .filter(|x| drawn.binary_search(x).is_err())
                .collect();
            if !extra.is_empty() || e.institutions.is_empty() {
                return fail(
                    Step::Exclusion,
                    format!(
                        "exclusion of task {} ({}): listed but not drawn by it: {:?}",
                        e.task,
                        e.basis.as_deref().unwrap_or_default(),
                        extra
                    ),
                );
            }
            continue;
        }
        if drawn != e.institutions {
            let missing: Vec<&String> = drawn
                .iter()
                .filter(|x| !e.institutions.contains(x))
                .collect();
            let extra: Vec<&String> = e
                .institutions
                .iter()
                .filter(|x| !drawn.contains(x))
                .collect();
            return fail(
                Step::Exclusion,
                format!(
                    "exclusion of task {}: differs from what that draw took (not listed: {:?}; listed but not drawn: {:?})",
                    e.task, missing, extra
                ),
            );
        }
    }
    Ok(())
}

/// `hex(SHA-256(bytes))`, for secrets and commitments in examples and tests.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
