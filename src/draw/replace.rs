//! Replacement of an inspector after the draw (递补, suiji-draw/1 §7).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::canonical::{Canon, CanonicalJson, Sink};
use super::engine::DrawResult;
use super::rng::{Stream, derive};
use super::snapshot::{Member, Snapshot, is_hash_hex};

/// A recorded request to replace `out` in the team of `department` at `institution`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplacementRequest {
    /// 1, 2, … in the order the requests were recorded.
    pub seq: u64,
    /// Institution id of the selection.
    pub institution: String,
    /// Department code of the team.
    pub department: String,
    /// Inspector leaving the team.
    pub out: String,
    /// Why (free text, published).
    pub reason: String,
}

/// A request together with the drawn substitute (`in`). Serialized flat, as in the bundle:
/// `{"seq", "institution", "department", "out", "reason", "in"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    /// See [`ReplacementRequest::seq`].
    pub seq: u64,
    /// See [`ReplacementRequest::institution`].
    pub institution: String,
    /// See [`ReplacementRequest::department`].
    pub department: String,
    /// See [`ReplacementRequest::out`].
    pub out: String,
    /// See [`ReplacementRequest::reason`].
    pub reason: String,
    /// The drawn substitute.
    pub r#in: String,
}

impl Replacement {
    /// Join a request and its substitute.
    pub fn new(request: ReplacementRequest, inspector_in: String) -> Self {
        Replacement {
            seq: request.seq,
            institution: request.institution,
            department: request.department,
            out: request.out,
            reason: request.reason,
            r#in: inspector_in,
        }
    }

    /// The request part (everything but `in`).
    pub fn request(&self) -> ReplacementRequest {
        ReplacementRequest {
            seq: self.seq,
            institution: self.institution.clone(),
            department: self.department.clone(),
            out: self.out.clone(),
            reason: self.reason.clone(),
        }
    }
}

impl CanonicalJson for Replacement {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("department");
        w.str(&self.department);
        w.key("in");
        w.str(&self.r#in);
        w.key("institution");
        w.str(&self.institution);
        w.key("out");
        w.str(&self.out);
        w.key("reason");
        w.str(&self.reason);
        w.key("seq");
        w.u64(self.seq);
        w.end_object();
    }
}

/// Why a replacement cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplaceError {
    /// `seq` is not one more than the number of earlier replacements.
    #[error("replacement seq {found}: expected seq {expected}")]
    Seq {
        /// The next sequence number.
        expected: u64,
        /// The one given.
        found: u64,
    },
    /// The institution was not drawn.
    #[error("institution {0} is not among the selections")]
    UnknownInstitution(String),
    /// No such department in the snapshot.
    #[error("department {0} is not in the snapshot")]
    UnknownDepartment(String),
    /// `out` is not in the current team.
    #[error("{out} is not in the current {department} team of {institution}")]
    NotInTeam {
        /// Institution id.
        institution: String,
        /// Department code.
        department: String,
        /// Inspector id.
        out: String,
    },
    /// Every eligible inspector is already in the team or was replaced out of it.
    #[error("no eligible substitute in {department} for {institution}")]
    NoEligibleSubstitute {
        /// Institution id.
        institution: String,
        /// Department code.
        department: String,
    },
    /// The result does not belong to the snapshot (seed, departments or institutions differ).
    #[error("result does not fit the snapshot: {0}")]
    ResultMismatch(String),
    /// An earlier replacement cannot be applied.
    #[error("earlier replacement seq {seq} cannot be applied: {reason}")]
    History {
        /// Its seq.
        seq: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// Teams and loads after the draw and the replacements applied so far.
pub struct ReplayState<'a> {
    snapshot: &'a Snapshot,
    seed: [u8; 32],
    /// institution id -> (selection index, member).
    selection: HashMap<&'a str, (usize, &'a Member)>,
    /// `teams[selection][department]`.
    teams: Vec<Vec<Vec<String>>>,
    gone: HashMap<(usize, usize), HashSet<String>>,
    loads: HashMap<String, u64>,
    caps: Vec<u64>,
    applied: u64,
}

impl<'a> ReplayState<'a> {
    /// The state right after the draw `result` of `snapshot`.
    pub fn new(snapshot: &'a Snapshot, result: &DrawResult) -> Result<Self, ReplaceError> {
        if !is_hash_hex(&result.seed) {
            return Err(ReplaceError::ResultMismatch(
                "seed is not 64 hex digits".into(),
            ));
        }
        let mut seed = [0u8; 32];
        hex::decode_to_slice(&result.seed, &mut seed)
            .map_err(|e| ReplaceError::ResultMismatch(e.to_string()))?;
        let total = result.selections.len() as u64;
        let caps = snapshot
            .departments
            .iter()
            .map(|d| match snapshot.max_assignments_per_inspector {
                Some(c) => c,
                None if d.inspectors.is_empty() => u64::MAX,
                None => (u128::from(total) * u128::from(d.team_size))
                    .div_ceil(d.inspectors.len() as u128) as u64,
            })
            .collect();
        let strata: HashMap<&str, &crate::draw::Stratum> =
            snapshot.strata.iter().map(|s| (s.id.as_str(), s)).collect();
        let mut selection = HashMap::with_capacity(result.selections.len());
        let mut teams = Vec::with_capacity(result.selections.len());
        let mut loads: HashMap<String, u64> = HashMap::new();
        for (si, sel) in result.selections.iter().enumerate() {
            let stratum = strata.get(sel.stratum.as_str()).ok_or_else(|| {
                ReplaceError::ResultMismatch(format!("unknown stratum {}", sel.stratum))
            })?;
            let member = stratum
                .members
                .binary_search_by(|m| m.id.as_str().cmp(&sel.institution))
                .map(|i| &stratum.members[i])
                .map_err(|_| {
                    ReplaceError::ResultMismatch(format!(
                        "institution {} is not in stratum {}",
                        sel.institution, sel.stratum
                    ))
                })?;
            selection.insert(member.id.as_str(), (si, member));
            if sel.team.len() != snapshot.departments.len()
                || sel
                    .team
                    .iter()
                    .zip(&snapshot.departments)
                    .any(|(t, d)| t.department != d.code)
            {
                return Err(ReplaceError::ResultMismatch(format!(
                    "teams of {} do not list the snapshot's departments",
                    sel.institution
                )));
            }
            let mut per_dept = Vec::with_capacity(sel.team.len());
            for t in &sel.team {
                for i in &t.inspectors {
                    *loads.entry(i.clone()).or_default() += 1;
                }
                per_dept.push(t.inspectors.clone());
            }
            teams.push(per_dept);
        }
        Ok(ReplayState {
            snapshot,
            seed,
            selection,
            teams,
            gone: HashMap::new(),
            loads,
            caps,
            applied: 0,
        })
    }

    /// Number of replacements applied so far.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The current team of `department` at `institution`, if both exist.
    pub fn team(&self, institution: &str, department: &str) -> Option<&[String]> {
        let (si, _) = self.selection.get(institution)?;
        let di = self
            .snapshot
            .departments
            .iter()
            .position(|d| d.code == department)?;
        Some(&self.teams[*si][di])
    }

    fn locate(&self, req: &ReplacementRequest) -> Result<(usize, usize, usize), ReplaceError> {
        let (si, _) = *self
            .selection
            .get(req.institution.as_str())
            .ok_or_else(|| ReplaceError::UnknownInstitution(req.institution.clone()))?;
        let di = self
            .snapshot
            .departments
            .iter()
            .position(|d| d.code == req.department)
            .ok_or_else(|| ReplaceError::UnknownDepartment(req.department.clone()))?;
        let pos = self.teams[si][di]
            .iter()
            .position(|i| *i == req.out)
            .ok_or_else(|| ReplaceError::NotInTeam {
                institution: req.institution.clone(),
                department: req.department.clone(),
                out: req.out.clone(),
            })?;
        Ok((si, di, pos))
    }

    /// Draw the substitute for `req` (the next request, `seq` = applied + 1) without
    /// applying it.
    pub fn substitute(&self, req: &ReplacementRequest) -> Result<String, ReplaceError> {
        if req.seq != self.applied + 1 {
            return Err(ReplaceError::Seq {
                expected: self.applied + 1,
                found: req.seq,
            });
        }
        let (si, di, _) = self.locate(req)?;
        let (_, member) = self.selection[req.institution.as_str()];
        let dept = &self.snapshot.departments[di];
        let team = &self.teams[si][di];
        let gone = self.gone.get(&(si, di));
        let eligible: Vec<&str> = dept
            .inspectors
            .iter()
            .filter(|i| {
                i.conflicts.binary_search(&member.id).is_err()
                    && !(self.snapshot.cross_region
                        && i.region.is_some()
                        && i.region == member.region)
                    && i.id != req.out
                    && !gone.is_some_and(|g| g.contains(&i.id))
                    && !team.contains(&i.id)
            })
            .map(|i| i.id.as_str())
            .collect();
        let cap = self.caps[di];
        let under: Vec<&str> = eligible
            .iter()
            .copied()
            .filter(|i| self.loads.get(*i).copied().unwrap_or(0) < cap)
            .collect();
        let candidates = if under.is_empty() { eligible } else { under };
        if candidates.is_empty() {
            return Err(ReplaceError::NoEligibleSubstitute {
                institution: req.institution.clone(),
                department: req.department.clone(),
            });
        }
        let seq = req.seq.to_string();
        let mut rng = Stream::new(derive(
            &self.seed,
            "replace",
            &[&member.id, &dept.code, &seq],
        ));
        let j = rng.uniform(candidates.len() as u64) as usize;
        Ok(candidates[j].to_owned())
    }

    /// Apply a replacement (its `in` as recorded, not recomputed).
    pub fn apply(&mut self, r: &Replacement) -> Result<(), ReplaceError> {
        let req = r.request();
        if req.seq != self.applied + 1 {
            return Err(ReplaceError::Seq {
                expected: self.applied + 1,
                found: req.seq,
            });
        }
        let (si, di, pos) = self.locate(&req)?;
        self.gone.entry((si, di)).or_default().insert(r.out.clone());
        self.teams[si][di][pos] = r.r#in.clone();
        if let Some(l) = self.loads.get_mut(&r.out) {
            *l = l.saturating_sub(1);
        }
        *self.loads.entry(r.r#in.clone()).or_default() += 1;
        self.applied += 1;
        Ok(())
    }
}

/// Draw the substitute for `request`, given the draw and the replacements recorded so far
/// (applied as recorded, in order). `request.seq` must be `previous.len() + 1`.
pub fn replace(
    snapshot: &Snapshot,
    result: &DrawResult,
    previous: &[Replacement],
    request: &ReplacementRequest,
) -> Result<Replacement, ReplaceError> {
    let mut state = ReplayState::new(snapshot, result)?;
    for r in previous {
        state.apply(r).map_err(|e| ReplaceError::History {
            seq: r.seq,
            reason: e.to_string(),
        })?;
    }
    let inn = state.substitute(request)?;
    Ok(Replacement::new(request.clone(), inn))
}
