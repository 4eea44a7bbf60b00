//! The sealed snapshot (suiji-draw/1 §2): types, canonical form, pool hash, structural
//! validation and the feasibility check used at sealing.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::SPEC;
use super::canonical::{Canon, CanonicalJson, Sink};

/// Deserialize an `Option` field that must be present in the document (as a value or `null`).
pub(crate) fn required<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

/// Everything a draw depends on, fixed before any randomness exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Always `"suiji-draw/1"`.
    pub spec: String,
    /// The inspection task this draw belongs to.
    pub task_id: String,
    /// Code of the department whose first drawn inspector leads each team.
    pub lead_department: String,
    /// When true an inspector never inspects an institution of his own region.
    pub cross_region: bool,
    /// Hard-coded cap on assignments per inspector, or `None` for the automatic cap.
    #[serde(deserialize_with = "required")]
    pub max_assignments_per_inspector: Option<u64>,
    /// Strata, sorted by id.
    pub strata: Vec<Stratum>,
    /// Departments, sorted by code.
    pub departments: Vec<Department>,
    /// Sources of randomness, sorted by source.
    pub entropy_plan: Vec<EntropyPlanEntry>,
}

/// A group of institutions sampled at its own ratio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stratum {
    /// Stratum id (unique in the snapshot).
    pub id: String,
    /// Fraction of members to draw (rounded up).
    pub ratio: Ratio,
    /// Lower bound on the number drawn (bounded by the number of members).
    pub min: u64,
    /// Upper bound on the number drawn, if any.
    #[serde(deserialize_with = "required")]
    pub max: Option<u64>,
    /// Institutions, sorted by id.
    pub members: Vec<Member>,
}

/// An exact fraction `num / den`, `den ≥ 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ratio {
    /// Numerator.
    pub num: u64,
    /// Denominator (≥ 1).
    pub den: u64,
}

/// An institution that may be drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Institution id (unique across all strata).
    pub id: String,
    /// Region, used by the cross-region rule.
    #[serde(deserialize_with = "required")]
    pub region: Option<String>,
}

/// A department that sends `team_size` inspectors to every drawn institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    /// Department code (unique).
    pub code: String,
    /// Inspectors per selected institution (≥ 1).
    pub team_size: u64,
    /// Inspectors, sorted by id.
    pub inspectors: Vec<Inspector>,
}

/// An inspector of a department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inspector {
    /// Inspector id (unique within the department).
    pub id: String,
    /// Region, used by the cross-region rule.
    #[serde(deserialize_with = "required")]
    pub region: Option<String>,
    /// Institution ids this inspector must not inspect (回避), sorted.
    pub conflicts: Vec<String>,
}

/// A planned source of randomness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntropyPlanEntry {
    /// `department:<code>` or `beacon:<name>`.
    pub source: String,
    /// `hex(SHA-256(secret))` for department sources, `None` for beacons.
    #[serde(deserialize_with = "required")]
    pub commitment: Option<String>,
    /// Free text, e.g. which beacon round will be used.
    #[serde(deserialize_with = "required")]
    pub note: Option<String>,
}

impl CanonicalJson for Ratio {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("den");
        w.u64(self.den);
        w.key("num");
        w.u64(self.num);
        w.end_object();
    }
}

impl CanonicalJson for Member {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("id");
        w.str(&self.id);
        w.key("region");
        w.opt_str(self.region.as_deref());
        w.end_object();
    }
}

impl CanonicalJson for Stratum {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("id");
        w.str(&self.id);
        w.key("max");
        w.opt_u64(self.max);
        w.key("members");
        w.begin_array();
        for m in &self.members {
            m.write_canonical(w);
        }
        w.end_array();
        w.key("min");
        w.u64(self.min);
        w.key("ratio");
        self.ratio.write_canonical(w);
        w.end_object();
    }
}

impl CanonicalJson for Inspector {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("conflicts");
        w.str_array(self.conflicts.iter().map(String::as_str));
        w.key("id");
        w.str(&self.id);
        w.key("region");
        w.opt_str(self.region.as_deref());
        w.end_object();
    }
}

impl CanonicalJson for Department {
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
        w.end_object();
    }
}

impl CanonicalJson for EntropyPlanEntry {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("commitment");
        w.opt_str(self.commitment.as_deref());
        w.key("note");
        w.opt_str(self.note.as_deref());
        w.key("source");
        w.str(&self.source);
        w.end_object();
    }
}

impl CanonicalJson for Snapshot {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
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
        w.key("lead_department");
        w.str(&self.lead_department);
        w.key("max_assignments_per_inspector");
        w.opt_u64(self.max_assignments_per_inspector);
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

/// `hex(SHA-256(canonical(snapshot)))`, streamed into the hasher.
pub fn pool_hash(snapshot: &Snapshot) -> String {
    hex::encode(snapshot.canonical_sha256())
}

/// The number of institutions drawn from a stratum of `n` members (§5):
/// `ceil(n·num/den)`, then capped by `max`, raised to `min`, capped by `n`.
pub fn stratum_size(n: u64, ratio: Ratio, min: u64, max: Option<u64>) -> u64 {
    let den = u128::from(ratio.den.max(1));
    let prod = u128::from(n) * u128::from(ratio.num);
    let mut k = prod.div_ceil(den);
    if let Some(max) = max {
        k = k.min(u128::from(max));
    }
    k = k.max(u128::from(min));
    k = k.min(u128::from(n));
    k as u64
}

/// A structural problem in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SnapshotProblem {
    /// `spec` is not `suiji-draw/1`.
    #[error("spec is {0:?}, expected \"suiji-draw/1\"")]
    WrongSpec(String),
    /// An id, code, source or region contains the byte 0x00.
    #[error("{what} {value:?} contains the byte 0x00")]
    NulByte {
        /// What kind of string.
        what: &'static str,
        /// The offending string.
        value: String,
    },
    /// Two strata out of order or with the same id.
    #[error("strata not sorted by id or not unique: {prev:?} before {next:?}")]
    StrataOrder {
        /// Earlier id.
        prev: String,
        /// Later id.
        next: String,
    },
    /// A ratio with a zero denominator.
    #[error("stratum {0}: ratio denominator is 0")]
    ZeroDenominator(String),
    /// Members out of order or repeated within a stratum.
    #[error("stratum {stratum}: members not sorted by id or not unique: {prev:?} before {next:?}")]
    MemberOrder {
        /// Stratum id.
        stratum: String,
        /// Earlier id.
        prev: String,
        /// Later id.
        next: String,
    },
    /// An institution listed in two strata.
    #[error("institution {id} is listed in strata {first} and {second}")]
    MemberInTwoStrata {
        /// Institution id.
        id: String,
        /// First stratum.
        first: String,
        /// Second stratum.
        second: String,
    },
    /// Departments out of order or repeated.
    #[error("departments not sorted by code or not unique: {prev:?} before {next:?}")]
    DepartmentOrder {
        /// Earlier code.
        prev: String,
        /// Later code.
        next: String,
    },
    /// `lead_department` is not one of the departments.
    #[error("lead_department {0:?} is not one of the departments")]
    UnknownLeadDepartment(String),
    /// A department with `team_size` 0.
    #[error("department {0}: team_size must be at least 1")]
    ZeroTeamSize(String),
    /// Inspectors out of order or repeated within a department.
    #[error(
        "department {department}: inspectors not sorted by id or not unique: {prev:?} before {next:?}"
    )]
    InspectorOrder {
        /// Department code.
        department: String,
        /// Earlier id.
        prev: String,
        /// Later id.
        next: String,
    },
    /// Conflicts of an inspector not sorted.
    #[error("department {department}, inspector {inspector}: conflicts not sorted")]
    ConflictOrder {
        /// Department code.
        department: String,
        /// Inspector id.
        inspector: String,
    },
    /// The entropy plan is empty.
    #[error("entropy_plan is empty")]
    NoEntropy,
    /// Entropy sources out of order or repeated.
    #[error("entropy_plan not sorted by source or not unique: {prev:?} before {next:?}")]
    EntropyOrder {
        /// Earlier source.
        prev: String,
        /// Later source.
        next: String,
    },
    /// A source that is neither `department:<code>` nor `beacon:<name>`.
    #[error("entropy source {0:?} is neither department:<code> nor beacon:<name>")]
    UnknownSourceKind(String),
    /// A department source without a commitment, or a commitment that is not 64 lowercase hex digits.
    #[error("entropy source {0}: commitment must be 64 lowercase hex digits")]
    BadCommitment(String),
    /// A beacon with a commitment.
    #[error("entropy source {0}: a beacon has no commitment (null)")]
    BeaconCommitment(String),
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub(crate) fn is_hash_hex(s: &str) -> bool {
    s.len() == 64 && is_lower_hex(s)
}

pub(crate) fn is_value_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && is_lower_hex(s)
}

fn nul(what: &'static str, s: &str, out: &mut Vec<SnapshotProblem>) {
    if s.as_bytes().contains(&0) {
        out.push(SnapshotProblem::NulByte {
            what,
            value: s.to_owned(),
        });
    }
}

/// Every structural problem of `snapshot` (empty when well-formed): spec string, sort
/// orders and uniqueness, no 0x00 byte, `den ≥ 1`, `team_size ≥ 1`, a known lead department,
/// an entropy plan with valid commitments. Feasibility is checked by [`infeasible_pairs`].
pub fn validate(snapshot: &Snapshot) -> Vec<SnapshotProblem> {
    let mut out = Vec::new();
    if snapshot.spec != SPEC {
        out.push(SnapshotProblem::WrongSpec(snapshot.spec.clone()));
    }
    for (i, s) in snapshot.strata.iter().enumerate() {
        nul("stratum id", &s.id, &mut out);
        if i > 0 && snapshot.strata[i - 1].id >= s.id {
            out.push(SnapshotProblem::StrataOrder {
                prev: snapshot.strata[i - 1].id.clone(),
                next: s.id.clone(),
            });
        }
        if s.ratio.den == 0 {
            out.push(SnapshotProblem::ZeroDenominator(s.id.clone()));
        }
        for (j, m) in s.members.iter().enumerate() {
            nul("institution id", &m.id, &mut out);
            if let Some(r) = &m.region {
                nul("region", r, &mut out);
            }
            if j > 0 && s.members[j - 1].id >= m.id {
                out.push(SnapshotProblem::MemberOrder {
                    stratum: s.id.clone(),
                    prev: s.members[j - 1].id.clone(),
                    next: m.id.clone(),
                });
            }
        }
    }
    check_disjoint_strata(snapshot, &mut out);

    for (i, d) in snapshot.departments.iter().enumerate() {
        nul("department code", &d.code, &mut out);
        if i > 0 && snapshot.departments[i - 1].code >= d.code {
            out.push(SnapshotProblem::DepartmentOrder {
                prev: snapshot.departments[i - 1].code.clone(),
                next: d.code.clone(),
            });
        }
        if d.team_size == 0 {
            out.push(SnapshotProblem::ZeroTeamSize(d.code.clone()));
        }
        for (j, insp) in d.inspectors.iter().enumerate() {
            nul("inspector id", &insp.id, &mut out);
            if let Some(r) = &insp.region {
                nul("region", r, &mut out);
            }
            if j > 0 && d.inspectors[j - 1].id >= insp.id {
                out.push(SnapshotProblem::InspectorOrder {
                    department: d.code.clone(),
                    prev: d.inspectors[j - 1].id.clone(),
                    next: insp.id.clone(),
                });
            }
            if insp.conflicts.windows(2).any(|w| w[0] > w[1]) {
                out.push(SnapshotProblem::ConflictOrder {
                    department: d.code.clone(),
                    inspector: insp.id.clone(),
                });
            }
        }
    }
    if !snapshot
        .departments
        .iter()
        .any(|d| d.code == snapshot.lead_department)
    {
        out.push(SnapshotProblem::UnknownLeadDepartment(
            snapshot.lead_department.clone(),
        ));
    }

    if snapshot.entropy_plan.is_empty() {
        out.push(SnapshotProblem::NoEntropy);
    }
    for (i, e) in snapshot.entropy_plan.iter().enumerate() {
        nul("entropy source", &e.source, &mut out);
        if i > 0 && snapshot.entropy_plan[i - 1].source >= e.source {
            out.push(SnapshotProblem::EntropyOrder {
                prev: snapshot.entropy_plan[i - 1].source.clone(),
                next: e.source.clone(),
            });
        }
        if e.source.starts_with("department:") {
            if !e.commitment.as_deref().is_some_and(is_hash_hex) {
                out.push(SnapshotProblem::BadCommitment(e.source.clone()));
            }
        } else if e.source.starts_with("beacon:") {
            if e.commitment.is_some() {
                out.push(SnapshotProblem::BeaconCommitment(e.source.clone()));
            }
        } else {
            out.push(SnapshotProblem::UnknownSourceKind(e.source.clone()));
        }
    }
    out
}

/// No institution in two strata: a k-way merge of the (sorted) member lists, falling back
/// to a hash set if some list is unsorted (that problem is reported separately).
fn check_disjoint_strata(snapshot: &Snapshot, out: &mut Vec<SnapshotProblem>) {
    let strata = &snapshot.strata;
    if strata.len() < 2 {
        return;
    }
    let sorted = strata
        .iter()
        .all(|s| s.members.windows(2).all(|w| w[0].id < w[1].id));
    if !sorted {
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for s in strata {
            for m in &s.members {
                if let Some(first) = seen.insert(&m.id, &s.id)
                    && first != s.id
                {
                    out.push(SnapshotProblem::MemberInTwoStrata {
                        id: m.id.clone(),
                        first: first.to_owned(),
                        second: s.id.clone(),
                    });
                }
            }
        }
        return;
    }
    // Merge: repeatedly take the smallest head; equal heads from two strata collide.
    let mut heads: Vec<usize> = vec![0; strata.len()];
    let mut heap = std::collections::BinaryHeap::new();
    for (si, s) in strata.iter().enumerate() {
        if let Some(m) = s.members.first() {
            heap.push(std::cmp::Reverse((m.id.as_str(), si)));
        }
    }
    let mut last: Option<(&str, usize)> = None;
    while let Some(std::cmp::Reverse((id, si))) = heap.pop() {
        if let Some((lid, lsi)) = last
            && lid == id
        {
            out.push(SnapshotProblem::MemberInTwoStrata {
                id: id.to_owned(),
                first: strata[lsi].id.clone(),
                second: strata[si].id.clone(),
            });
        }
        last = Some((id, si));
        heads[si] += 1;
        if let Some(m) = strata[si].members.get(heads[si]) {
            heap.push(std::cmp::Reverse((m.id.as_str(), si)));
        }
    }
}

/// Every `(institution id, department code)` pair whose eligible inspectors (after the
/// conflict and cross-region rules, before any cap) are fewer than the department's team
/// size. Sealing must refuse a snapshot for which this is not empty. Pairs are listed in
/// stratum/member order, departments in snapshot order within a member.
pub fn infeasible_pairs(snapshot: &Snapshot) -> Vec<(String, String)> {
    struct DeptStats<'a> {
        n: u64,
        team_size: u64,
        region_count: HashMap<&'a str, u64>,
        max_region: u64,
        /// institution -> inspectors of this department conflicting with it, with their region.
        conflicts: HashMap<&'a str, Vec<Option<&'a str>>>,
        max_conflicts: u64,
    }
    let stats: Vec<DeptStats> = snapshot
        .departments
        .iter()
        .map(|d| {
            let mut region_count: HashMap<&str, u64> = HashMap::new();
            let mut conflicts: HashMap<&str, Vec<Option<&str>>> = HashMap::new();
            for i in &d.inspectors {
                if snapshot.cross_region
                    && let Some(r) = &i.region
                {
                    *region_count.entry(r).or_default() += 1;
                }
                let mut prev: Option<&str> = None;
                for c in &i.conflicts {
                    if prev == Some(c.as_str()) {
                        continue;
                    }
                    prev = Some(c);
                    conflicts
                        .entry(c.as_str())
                        .or_default()
                        .push(i.region.as_deref());
                }
            }
            let max_region = region_count.values().copied().max().unwrap_or(0);
            let max_conflicts = conflicts
                .values()
                .map(|v| v.len() as u64)
                .max()
                .unwrap_or(0);
            DeptStats {
                n: d.inspectors.len() as u64,
                team_size: d.team_size,
                region_count,
                max_region,
                conflicts,
                max_conflicts,
            }
        })
        .collect();

    // Fast path: if even the worst region plus the worst conflict list leaves enough
    // inspectors for every department, no pair can be infeasible.
    let has_members = snapshot.strata.iter().any(|s| !s.members.is_empty());
    if !has_members
        || stats
            .iter()
            .all(|s| s.n >= s.team_size + s.max_region + s.max_conflicts)
    {
        return Vec::new();
    }

    let mut out = Vec::new();
    for s in &snapshot.strata {
        for m in &s.members {
            for (d, st) in snapshot.departments.iter().zip(&stats) {
                let same_region = match (&m.region, snapshot.cross_region) {
                    (Some(r), true) => st.region_count.get(r.as_str()).copied().unwrap_or(0),
                    _ => 0,
                };
                let conflicting = st.conflicts.get(m.id.as_str()).map_or(0, |regions| {
                    regions
                        .iter()
                        .filter(|ir| {
                            // Conflicting inspectors of the member's own region are already
                            // excluded by the region rule: do not count them twice.
                            !(snapshot.cross_region
                                && ir.is_some()
                                && ir.as_deref() == m.region.as_deref())
                        })
                        .count() as u64
                });
                let eligible = st.n - same_region - conflicting;
                if eligible < st.team_size {
                    out.push((m.id.clone(), d.code.clone()));
                }
            }
        }
    }
    out
}
