//! The draw itself (suiji-draw/1 §5–6, §8 `result`).
//!
//! Institutions: one partial Fisher–Yates per stratum over member indices.
//!
//! Teams: the spec defines each team as `pick` over the list `C` of eligible inspectors in
//! id order. Building `C` as a list for every selection costs O(inspectors) allocations and
//! string comparisons; instead each department keeps bit sets over its inspectors ("all"
//! and "under the cap"). The few inspectors excluded for one selection (conflicts, members
//! of a small same region) are cleared temporarily, a large same region is masked out with
//! its own bit mask, and the partial Fisher–Yates runs lazily: the element at position `j`
//! of `C` is found by a popcount scan (n/64 words, a few dozen for thousands of inspectors)
//! unless an earlier swap put something else there. Loads only ever clear "under the cap"
//! bits. The output is exactly the spec's; `tests/draw_props.rs` checks it against a literal
//! implementation.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::SPEC;
use super::canonical::{Canon, CanonicalJson, Sink};
use super::rng::{Stream, derive, pick_indices, uniform_with};
use super::seed::{EntropyError, EntropyValue, check_entropy, seed};
use super::snapshot::{
    Member, Snapshot, SnapshotProblem, infeasible_pairs, pool_hash, stratum_size, validate,
};

/// The draw as first made. Never changes afterwards (replacements are kept beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawResult {
    /// Always `"suiji-draw/1"`.
    pub spec: String,
    /// Hex SHA-256 of the canonical snapshot.
    pub pool_hash: String,
    /// Hex of the 32-byte seed.
    pub seed: String,
    /// Drawn institutions in processing order.
    pub selections: Vec<Selection>,
}

/// One drawn institution and its team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// 1, 2, … across the whole draw.
    pub order: u64,
    /// Stratum id.
    pub stratum: String,
    /// Institution id.
    pub institution: String,
    /// First drawn inspector of the lead department. Always present in suiji-draw/1; null
    /// only in a suiji-draw/2 sample without teams (a /1 reader of a stored /2 result).
    #[serde(deserialize_with = "super::snapshot::required")]
    pub leader: Option<String>,
    /// One entry per department, in snapshot order.
    pub team: Vec<Team>,
}

/// The inspectors one department sends to one institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// Department code.
    pub department: String,
    /// Inspector ids in drawn order.
    pub inspectors: Vec<String>,
}

impl CanonicalJson for Team {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("department");
        w.str(&self.department);
        w.key("inspectors");
        w.str_array(self.inspectors.iter().map(String::as_str));
        w.end_object();
    }
}

impl CanonicalJson for Selection {
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

impl CanonicalJson for DrawResult {
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

/// `hex(SHA-256(canonical(result)))`.
pub fn result_hash(result: &DrawResult) -> String {
    hex::encode(result.canonical_sha256())
}

/// Why a draw could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DrawError {
    /// The snapshot is not well-formed (the first problem found; see [`validate`]).
    #[error("snapshot is not well-formed: {0}")]
    Invalid(SnapshotProblem),
    /// Some institution × department pairs have fewer eligible inspectors than the team size.
    #[error("infeasible snapshot: {} institution/department pair(s) with too few eligible inspectors, first {}/{}", .0.len(), .0[0].0, .0[0].1)]
    Infeasible(Vec<(String, String)>),
    /// The revealed entropy does not fit the plan.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
}

/// Make the draw: validate the snapshot (structure and feasibility), check every planned
/// source has a value and every commitment matches, compute the pool hash and seed, draw
/// the institutions of every stratum and the team of every department.
pub fn draw(snapshot: &Snapshot, entropy: &[EntropyValue]) -> Result<DrawResult, DrawError> {
    let (checked, ph) = checks_and_pool_hash(snapshot, || -> Result<(), DrawError> {
        check_entropy(&snapshot.entropy_plan, entropy)?;
        Ok(())
    });
    checked?;
    let seed = seed(&ph, entropy)?;
    draw_with_seed(snapshot, ph, &seed)
}

/// Validation, feasibility and `extra` on this thread while the pool hash is computed on
/// another (both only read the snapshot).
pub(crate) fn checks_and_pool_hash<E: From<DrawError> + Send>(
    snapshot: &Snapshot,
    extra: impl FnOnce() -> Result<(), E>,
) -> (Result<(), E>, String) {
    std::thread::scope(|sc| {
        let hasher = sc.spawn(|| pool_hash(snapshot));
        let checked = (|| {
            if let Some(p) = validate(snapshot).into_iter().next() {
                return Err(DrawError::Invalid(p).into());
            }
            let bad = infeasible_pairs(snapshot);
            if !bad.is_empty() {
                return Err(DrawError::Infeasible(bad).into());
            }
            extra()
        })();
        (checked, hasher.join().expect("pool hash thread panicked"))
    })
}

/// The draw for an already computed pool hash and seed, on a snapshot that passed
/// [`validate`] and [`infeasible_pairs`] (not re-checked here, except that an infeasible
/// team still yields [`DrawError::Infeasible`] instead of a panic).
pub fn draw_with_seed(
    snapshot: &Snapshot,
    pool_hash: String,
    seed: &[u8; 32],
) -> Result<DrawResult, DrawError> {
    // §5: institutions.
    let mut chosen: Vec<(usize, Vec<u32>)> = Vec::with_capacity(snapshot.strata.len());
    let mut total: u64 = 0;
    for (si, s) in snapshot.strata.iter().enumerate() {
        let n = s.members.len();
        let k = stratum_size(n as u64, s.ratio, s.min, s.max) as usize;
        let mut rng = Stream::new(derive(seed, "stratum", &[&s.id]));
        let picked = pick_indices(&mut rng, n, k);
        total += picked.len() as u64;
        chosen.push((si, picked));
    }

    // §6: teams, in three stages. (1) For every selection and department, look up the
    // institution's region and conflicts and derive the team stream's key and first words:
    // independent per team, so split over two threads. (2) The sequential part: draw every
    // team's inspector indices in processing order (loads depend on earlier teams).
    // (3) Build the result's strings, again split over two threads.
    let lead = snapshot
        .departments
        .iter()
        .position(|d| d.code == snapshot.lead_department)
        .ok_or_else(|| {
            DrawError::Invalid(SnapshotProblem::UnknownLeadDepartment(
                snapshot.lead_department.clone(),
            ))
        })?;
    let sels: Vec<(u32, u32)> = chosen
        .iter()
        .flat_map(|(si, picked)| picked.iter().map(move |&mi| (*si as u32, mi)))
        .collect();
    let mut teams = TeamDrawer::new(snapshot, total);
    let nd = snapshot.departments.len();

    let mut preps: Vec<Prep> = Vec::with_capacity(sels.len());
    preps.resize_with(sels.len(), Prep::default);
    {
        let teams = &teams;
        let prepare = |chunk_sels: &[(u32, u32)], out: &mut [Prep]| {
            for (&(si, mi), p) in chunk_sels.iter().zip(out.iter_mut()) {
                let m = &snapshot.strata[si as usize].members[mi as usize];
                *p = teams.prepare(seed, m);
            }
        };
        run_split(&sels, &mut preps, prepare);
    }

    let team_len: usize = snapshot
        .departments
        .iter()
        .map(|d| d.team_size as usize)
        .sum();
    let mut picked_idx: Vec<u32> = Vec::with_capacity(sels.len() * team_len);
    for (&(si, mi), prep) in sels.iter().zip(&preps) {
        let m = &snapshot.strata[si as usize].members[mi as usize];
        for di in 0..nd {
            teams.draw_team(&m.id, prep, di, &mut picked_idx)?;
        }
    }
    drop(preps);

    let mut selections: Vec<Selection> = Vec::with_capacity(sels.len());
    let build = |range: std::ops::Range<usize>| -> Vec<Selection> {
        let mut out = Vec::with_capacity(range.len());
        for i in range {
            let (si, mi) = sels[i];
            let s = &snapshot.strata[si as usize];
            let m = &s.members[mi as usize];
            let mut idx = &picked_idx[i * team_len..(i + 1) * team_len];
            let team: Vec<Team> = snapshot
                .departments
                .iter()
                .map(|d| {
                    let (mine, rest) = idx.split_at(d.team_size as usize);
                    idx = rest;
                    Team {
                        department: d.code.clone(),
                        inspectors: mine
                            .iter()
                            .map(|&k| d.inspectors[k as usize].id.clone())
                            .collect(),
                    }
                })
                .collect();
            out.push(Selection {
                order: i as u64 + 1,
                stratum: s.id.clone(),
                institution: m.id.clone(),
                leader: Some(team[lead].inspectors[0].clone()),
                team,
            });
        }
        out
    };
    if sels.len() >= PARALLEL_MIN {
        let mid = sels.len() / 2;
        let (a, b) = std::thread::scope(|sc| {
            let h = sc.spawn(|| build(mid..sels.len()));
            let a = build(0..mid);
            (a, h.join().expect("result builder thread panicked"))
        });
        selections.extend(a);
        selections.extend(b);
    } else {
        selections = build(0..sels.len());
    }
    Ok(DrawResult {
        spec: SPEC.to_owned(),
        pool_hash,
        seed: hex::encode(seed),
        selections,
    })
}

/// Below this many selections the work is not split over two threads.
const PARALLEL_MIN: usize = 4096;

/// Apply `f` to matching chunks of `input` and `output`, on two threads when large.
fn run_split<A: Sync, B: Send>(input: &[A], output: &mut [B], f: impl Fn(&[A], &mut [B]) + Sync) {
    if input.len() < PARALLEL_MIN {
        f(input, output);
        return;
    }
    let mid = input.len() / 2;
    let (in_a, in_b) = input.split_at(mid);
    let (out_a, out_b) = output.split_at_mut(mid);
    std::thread::scope(|sc| {
        let f = &f;
        sc.spawn(move || f(in_b, out_b));
        f(in_a, out_a);
    });
}

/// Words of the team streams read ahead: enough for a team of up to this many inspectors
/// without a rejection; anything further comes from a fresh stream on the same key.
const PREFIX_WORDS: usize = 4;

/// Per-selection lookups and stream prefixes, computed ahead of the sequential stage.
#[derive(Default)]
struct Prep {
    /// Region id of the institution, or `NO_REGION`.
    region: u32,
    /// Index into `TeamDrawer::conflict_lists`, or `NO_CONFLICTS`.
    conflicts: u32,
    /// Per department: the team stream's key and first words.
    streams: Vec<([u8; 32], [u64; PREFIX_WORDS])>,
}

const NO_CONFLICTS: u32 = u32::MAX;

/// The keystream of a team: precomputed words first, then the rest of the ChaCha20 stream.
struct PrefixStream<'p> {
    key: &'p [u8; 32],
    words: &'p [u64; PREFIX_WORDS],
    used: usize,
    rest: Option<Stream>,
}

impl PrefixStream<'_> {
    fn next_u64(&mut self) -> u64 {
        if self.used < PREFIX_WORDS {
            self.used += 1;
            return self.words[self.used - 1];
        }
        self.rest
            .get_or_insert_with(|| {
                let mut s = Stream::new(*self.key);
                for _ in 0..PREFIX_WORDS {
                    s.next_u64();
                }
                s
            })
            .next_u64()
    }

    fn uniform(&mut self, m: u64) -> u64 {
        uniform_with(m, || self.next_u64())
    }
}

const NO_REGION: u32 = u32::MAX;

/// Regions with more inspectors than this keep their own bit mask; smaller ones are removed
/// from the candidate sets temporarily, member by member.
const BIG_REGION: usize = 64;

/// A set of inspector indices as a bit set.
#[derive(Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn full(n: usize) -> Self {
        let mut w = vec![u64::MAX; n.div_ceil(64)];
        if !n.is_multiple_of(64)
            && let Some(last) = w.last_mut()
        {
            *last = (1u64 << (n % 64)) - 1;
        }
        Bits(w)
    }
    fn empty(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    #[inline]
    fn get(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
    #[inline]
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    #[inline]
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    /// Number of elements of `self \ minus`.
    #[inline]
    fn count_without(&self, minus: Option<&Bits>) -> u64 {
        match minus {
            None => self.0.iter().map(|w| u64::from(w.count_ones())).sum(),
            Some(m) => self
                .0
                .iter()
                .zip(&m.0)
                .map(|(w, m)| u64::from((w & !m).count_ones()))
                .sum(),
        }
    }
    /// The `j`-th (0-based, in index order) element of `self \ minus`.
    #[inline]
    fn select_without(&self, minus: Option<&Bits>, mut j: u64) -> usize {
        for (wi, &w) in self.0.iter().enumerate() {
            let mut w = match minus {
                Some(m) => w & !m.0[wi],
                None => w,
            };
            let c = u64::from(w.count_ones());
            if j < c {
                for _ in 0..j {
                    w &= w - 1;
                }
                return wi * 64 + w.trailing_zeros() as usize;
            }
            j -= c;
        }
        unreachable!("select_without: j out of range")
    }
}

/// Inspectors of one department sharing one region.
struct RegionSet {
    members: Vec<u32>,
    /// Bit mask of the members, for a large region.
    mask: Option<Bits>,
}

struct DeptState {
    team_size: usize,
    cap: u64,
    gid: Vec<u32>,
    region: Vec<u32>,
    /// Every inspector (minus temporary exclusions).
    all: Bits,
    /// Inspectors under the cap (minus temporary exclusions).
    under: Bits,
    regions: HashMap<u32, RegionSet>,
}

/// A position of the lazily shuffled list `C`: either a known inspector index or "whatever
/// was originally at position p".
#[derive(Clone, Copy)]
enum Slot {
    Inspector(usize),
    Original(usize),
}

/// Incremental team assignment state for one draw.
struct TeamDrawer<'a> {
    snapshot: &'a Snapshot,
    depts: Vec<DeptState>,
    region_ids: HashMap<&'a str, u32>,
    /// institution id -> index into `conflict_lists`.
    conflicts: HashMap<&'a str, u32>,
    /// Per institution with conflicts: (department index, inspector index) pairs.
    conflict_lists: Vec<Vec<(u32, u32)>>,
    /// Assignment count per distinct inspector id (shared across departments).
    loads: Vec<u64>,
    /// Where each distinct inspector id occurs: (department index, inspector index).
    occurrences: Vec<Vec<(u32, u32)>>,
    /// Temporarily excluded inspectors: (index, was under the cap).
    removed: Vec<(u32, bool)>,
    swaps: Vec<(usize, Slot)>,
}

impl<'a> TeamDrawer<'a> {
    fn new(snapshot: &'a Snapshot, total: u64) -> Self {
        let mut region_ids: HashMap<&str, u32> = HashMap::new();
        let mut gids: HashMap<&str, u32> = HashMap::new();
        let mut occurrences: Vec<Vec<(u32, u32)>> = Vec::new();
        let mut conflicts: HashMap<&str, u32> = HashMap::new();
        let mut conflict_lists: Vec<Vec<(u32, u32)>> = Vec::new();
        let mut depts = Vec::with_capacity(snapshot.departments.len());
        for (di, d) in snapshot.departments.iter().enumerate() {
            let n = d.inspectors.len();
            let cap = match snapshot.max_assignments_per_inspector {
                Some(c) => c,
                None if n == 0 => u64::MAX,
                None => (u128::from(total) * u128::from(d.team_size)).div_ceil(n as u128) as u64,
            };
            let mut gid = Vec::with_capacity(n);
            let mut region = Vec::with_capacity(n);
            let mut by_region: HashMap<u32, Vec<u32>> = HashMap::new();
            for (ii, insp) in d.inspectors.iter().enumerate() {
                let next = gids.len() as u32;
                let g = *gids.entry(insp.id.as_str()).or_insert(next);
                if g == next {
                    occurrences.push(Vec::new());
                }
                occurrences[g as usize].push((di as u32, ii as u32));
                gid.push(g);
                let r = match (&insp.region, snapshot.cross_region) {
                    (Some(r), true) => {
                        let next = region_ids.len() as u32;
                        let r = *region_ids.entry(r.as_str()).or_insert(next);
                        by_region.entry(r).or_default().push(ii as u32);
                        r
                    }
                    _ => NO_REGION,
                };
                region.push(r);
                let mut prev: Option<&str> = None;
                for c in &insp.conflicts {
                    if prev != Some(c.as_str()) {
                        let next = conflict_lists.len() as u32;
                        let k = *conflicts.entry(c.as_str()).or_insert(next);
                        if k == next {
                            conflict_lists.push(Vec::new());
                        }
                        conflict_lists[k as usize].push((di as u32, ii as u32));
                    }
                    prev = Some(c.as_str());
                }
            }
            let all = Bits::full(n);
            let under = if cap > 0 { all.clone() } else { Bits::empty(n) };
            let regions = by_region
                .into_iter()
                .map(|(r, members)| {
                    let mask = (members.len() > BIG_REGION).then(|| {
                        let mut m = Bits::empty(n);
                        for &i in &members {
                            m.set(i as usize);
                        }
                        m
                    });
                    (r, RegionSet { members, mask })
                })
                .collect();
            depts.push(DeptState {
                team_size: d.team_size as usize,
                cap,
                gid,
                region,
                all,
                under,
                regions,
            });
        }
        let loads = vec![0; occurrences.len()];
        TeamDrawer {
            snapshot,
            depts,
            region_ids,
            conflicts,
            conflict_lists,
            loads,
            occurrences,
            removed: Vec::new(),
            swaps: Vec::new(),
        }
    }

    /// Region, conflicts and team-stream prefixes of one selection (read-only, so it can
    /// run on another thread).
    fn prepare(&self, seed: &[u8; 32], m: &Member) -> Prep {
        let region = match (&m.region, self.snapshot.cross_region) {
            (Some(r), true) => self
                .region_ids
                .get(r.as_str())
                .copied()
                .unwrap_or(NO_REGION),
            _ => NO_REGION,
        };
        let conflicts = self
            .conflicts
            .get(m.id.as_str())
            .copied()
            .unwrap_or(NO_CONFLICTS);
        let streams = self
            .snapshot
            .departments
            .iter()
            .map(|d| {
                let key = derive(seed, "team", &[&m.id, &d.code]);
                let mut s = Stream::new(key);
                let mut words = [0u64; PREFIX_WORDS];
                for w in &mut words {
                    *w = s.next_u64();
                }
                (key, words)
            })
            .collect();
        Prep {
            region,
            conflicts,
            streams,
        }
    }

    /// Draw the team of department `di` for institution `inst`, append its inspector
    /// indices to `out` in drawn order, then update loads.
    fn draw_team(
        &mut self,
        inst: &str,
        prep: &Prep,
        di: usize,
        out: &mut Vec<u32>,
    ) -> Result<(), DrawError> {
        let dept = &self.snapshot.departments[di];
        let rid = prep.region;
        let st = &mut self.depts[di];
        self.removed.clear();

        // Exclusions for this institution: a large same region is masked out, a small one
        // and the conflicting inspectors are removed for the duration of this pick.
        let mut mask: Option<&Bits> = None;
        if rid != NO_REGION
            && let Some(rs) = st.regions.get(&rid)
        {
            match &rs.mask {
                Some(m) => mask = Some(m),
                None => {
                    for &i in &rs.members {
                        let was_under = st.under.get(i as usize);
                        st.all.clear(i as usize);
                        st.under.clear(i as usize);
                        self.removed.push((i, was_under));
                    }
                }
            }
        }
        if prep.conflicts != NO_CONFLICTS {
            for &(d, i) in &self.conflict_lists[prep.conflicts as usize] {
                if d as usize != di || (rid != NO_REGION && st.region[i as usize] == rid) {
                    continue;
                }
                let was_under = st.under.get(i as usize);
                st.all.clear(i as usize);
                st.under.clear(i as usize);
                self.removed.push((i, was_under));
            }
        }

        let k = st.team_size;
        let n_under = st.under.count_without(mask);
        let (set, m) = if n_under >= k as u64 {
            (&st.under, n_under)
        } else {
            (&st.all, st.all.count_without(mask))
        };
        if m < k as u64 {
            return Err(DrawError::Infeasible(vec![(
                inst.to_owned(),
                dept.code.clone(),
            )]));
        }

        // Lazy partial Fisher–Yates over C (positions 0..m).
        let (key, words) = &prep.streams[di];
        let mut rng = PrefixStream {
            key,
            words,
            used: 0,
            rest: None,
        };
        self.swaps.clear();
        let start = out.len();
        let slot = |swaps: &[(usize, Slot)], p: usize| -> Slot {
            swaps
                .iter()
                .rev()
                .find(|(q, _)| *q == p)
                .map_or(Slot::Original(p), |&(_, v)| v)
        };
        let resolve = |s: Slot| -> usize {
            match s {
                Slot::Inspector(i) => i,
                Slot::Original(p) => set.select_without(mask, p as u64),
            }
        };
        for i in 0..k {
            let j = i + rng.uniform(m - i as u64) as usize;
            let vj = resolve(slot(&self.swaps, j));
            let vi = slot(&self.swaps, i);
            self.swaps.push((i, Slot::Inspector(vj)));
            self.swaps.push((j, vi));
            out.push(vj as u32);
        }

        // Undo the temporary exclusions.
        for &(i, was_under) in &self.removed {
            st.all.set(i as usize);
            if was_under {
                st.under.set(i as usize);
            }
        }

        // Loads (shared by inspector id across departments).
        for &i in &out[start..] {
            let g = self.depts[di].gid[i as usize] as usize;
            self.loads[g] += 1;
            let load = self.loads[g];
            for &(d2, i2) in &self.occurrences[g] {
                let st2 = &mut self.depts[d2 as usize];
                if load >= st2.cap {
                    st2.under.clear(i2 as usize);
                }
            }
        }
        Ok(())
    }
}
