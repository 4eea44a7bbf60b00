//! The tree form of a sample of records (docs/draw-spec.md B.18): each stratum (each group
//! of a nested stratum) commits to its members by an RFC 9162 Merkle root and a size
//! instead of listing them, and the bundle discloses only the members the draw considered,
//! each with its inclusion path. Pure: the caller streams the rows.
//!
//! - [`leaf`]: `SHA-256(0x00 ‖ member ‖ cap value)` over raw 32-byte hashes;
//! - [`Builder`]: the incremental Merkle builder (O(log n) memory), which can also record
//!   the inclusion paths of chosen indices in the same single pass;
//! - [`Shuffle`]: §4's Fisher–Yates over `0..n` with a sparse map (O(steps) memory);
//! - [`draw_subtree`]: §4's pick / B.15's cap loop over indices;
//! - [`check_members`] and [`draw_selections`]: what a verifier does with a bundle.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::merkle::{node_hash, verify_path};
use super::rng::{Stream, derive};
use super::sample::{RecordStratum, Records};
use super::snapshot::{Stratum, is_hash_hex, required, stratum_size};

/// One subtree of a stratum in tree form: the whole stratum (`group` null) or one group of a
/// nested stratum (`group` = the group's value hash, B.16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subtree {
    #[serde(deserialize_with = "required")]
    pub group: Option<String>,
    /// Hex RFC 9162 root over the leaves (`SHA-256("")` for none).
    pub root: String,
    /// Number of leaves (members).
    pub size: u64,
}

/// A disclosed member of a tree-form bundle: where it is, what it is, and its path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberProof {
    /// Stratum id.
    pub stratum: String,
    /// The group's value hash (nested stratum), else null.
    #[serde(deserialize_with = "required")]
    pub group: Option<String>,
    /// Position of the leaf in its subtree (members sorted bytewise by member hash).
    pub index: u64,
    /// The member hash (B.12).
    pub member: String,
    /// The member's value hash in the cap column (B.15), null when the stratum has no cap.
    #[serde(deserialize_with = "required")]
    pub cap_value: Option<String>,
    /// Sibling hashes, bottom-up (RFC 9162 §2.1.3.1).
    pub path: Vec<String>,
}

/// `SHA-256(0x00 ‖ member ‖ cap_value)` with the 32 raw bytes of each hash; `cap_value`
/// only when the stratum has a cap.
pub fn leaf(member: &[u8; 32], cap_value: Option<&[u8; 32]>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(member);
    if let Some(c) = cap_value {
        h.update(c);
    }
    h.finalize().into()
}

/// A 32-byte hash.
pub type Hash = [u8; 32];

/// A root and the inclusion paths of some leaves.
pub type RootAndPaths = (Hash, Vec<Vec<Hash>>);

/// The 32 bytes of a 64-hex hash.
pub fn unhex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    (is_hash_hex(s) && hex::decode_to_slice(s, &mut out).is_ok()).then_some(out)
}

fn empty_root() -> [u8; 32] {
    Sha256::digest([]).into()
}

/// Largest power of two strictly less than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The subtrees (as leaf ranges `(start, len)`) whose roots form the inclusion path of leaf
/// `i` in a tree of `n` leaves, bottom-up.
fn path_ranges(i: u64, n: u64) -> Vec<(u64, u64)> {
    fn go(i: u64, lo: u64, len: u64, out: &mut Vec<(u64, u64)>) {
        if len <= 1 {
            return;
        }
        let k = split(len);
        if i < lo + k {
            go(i, lo, k, out);
            out.push((lo + k, len - k));
        } else {
            go(i, lo + k, len - k, out);
            out.push((lo, k));
        }
    }
    let mut out = Vec::new();
    go(i, 0, n, &mut out);
    out
}

/// An aligned perfect subtree `(height, position)` when the range is one.
fn perfect(start: u64, len: u64) -> Option<(u32, u64)> {
    (len.is_power_of_two() && start.is_multiple_of(len))
        .then(|| (len.trailing_zeros(), start / len))
}

/// The RFC 9162 tree built leaf by leaf: a stack of perfect subtrees (at most 64), so memory
/// is O(log n). Optionally records the nodes the inclusion paths of chosen leaves need, as
/// they complete, so paths come out of the same single pass.
#[derive(Debug, Default)]
pub struct Builder {
    /// (height, first leaf, hash) of the perfect subtrees not yet merged, left to right.
    stack: Vec<(u32, u64, [u8; 32])>,
    size: u64,
    want: HashMap<(u32, u64), Option<[u8; 32]>>,
    /// (target index, path ranges) for the paths to produce.
    targets: Vec<(u64, Vec<(u64, u64)>)>,
    expected: Option<u64>,
}

impl Builder {
    /// A builder that only computes the root.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for a tree of exactly `size` leaves that also produces the inclusion paths
    /// of `targets` (any order, duplicates allowed) at [`Builder::finish_paths`].
    pub fn with_targets(size: u64, targets: &[u64]) -> Self {
        let mut b = Self {
            expected: Some(size),
            ..Self::default()
        };
        for &t in targets {
            let ranges = path_ranges(t, size);
            for &(s, l) in &ranges {
                if let Some(key) = perfect(s, l) {
                    b.want.insert(key, None);
                }
            }
            b.targets.push((t, ranges));
        }
        b
    }

    /// Leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append the next leaf.
    pub fn push(&mut self, leaf: [u8; 32]) {
        let mut node = (0u32, self.size, leaf);
        self.size += 1;
        self.record(node);
        while let Some(&(h, s, l)) = self.stack.last() {
            if h != node.0 {
                break;
            }
            self.stack.pop();
            node = (h + 1, s, node_hash(&l, &node.2));
            self.record(node);
        }
        self.stack.push(node);
    }

    fn record(&mut self, (h, start, hash): (u32, u64, [u8; 32])) {
        if self.want.is_empty() {
            return;
        }
        if let Some(slot) = self.want.get_mut(&(h, start >> h)) {
            *slot = Some(hash);
        }
    }

    /// The root of the subtrees starting at leaf `from` (a boundary of the stack).
    fn fold_from(&self, from: u64) -> Option<[u8; 32]> {
        let mut r: Option<[u8; 32]> = None;
        for &(_, s, h) in self.stack.iter().rev() {
            if s < from {
                break;
            }
            r = Some(match r {
                None => h,
                Some(right) => node_hash(&h, &right),
            });
        }
        r
    }

    /// The root of the leaves pushed so far (`SHA-256("")` for none).
    pub fn root(&self) -> [u8; 32] {
        self.fold_from(0).unwrap_or_else(empty_root)
    }

    /// The root and the inclusion paths of the targets, in the order given.
    ///
    /// # Errors
    /// When the number of leaves pushed is not the size given to [`Builder::with_targets`].
    pub fn finish_paths(self) -> Result<RootAndPaths, String> {
        if let Some(n) = self.expected
            && n != self.size
        {
            return Err(format!(
                "the tree was announced with {n} leaves, {} were pushed",
                self.size
            ));
        }
        let mut paths = Vec::with_capacity(self.targets.len());
        for (t, ranges) in &self.targets {
            let mut p = Vec::with_capacity(ranges.len());
            for &(s, l) in ranges {
                let h = match perfect(s, l).and_then(|k| self.want.get(&k).copied().flatten()) {
                    Some(h) => h,
                    None => self
                        .fold_from(s)
                        .ok_or_else(|| format!("no node for the path of leaf {t}"))?,
                };
                p.push(h);
            }
            paths.push(p);
        }
        Ok((self.root(), paths))
    }
}

/// §4's Fisher–Yates over `0..n`, one position at a time, with a sparse map of the moved
/// positions: step `i` yields `a[i]` after the swap, exactly as the dense shuffle would.
pub struct Shuffle {
    rng: Stream,
    n: u64,
    i: u64,
    moved: HashMap<u64, u64>,
}

impl Shuffle {
    /// The shuffle of `0..n` driven by `rng(key)`.
    pub fn new(key: [u8; 32], n: u64) -> Self {
        Self {
            rng: Stream::new(key),
            n,
            i: 0,
            moved: HashMap::new(),
        }
    }
}

impl Iterator for Shuffle {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.i >= self.n {
            return None;
        }
        let i = self.i;
        let j = i + self.rng.uniform(self.n - i);
        let ai = self.moved.remove(&i).unwrap_or(i);
        let aj = if j == i {
            ai
        } else {
            let aj = self.moved.get(&j).copied().unwrap_or(j);
            self.moved.insert(j, ai);
            aj
        };
        self.i += 1;
        Some(aj)
    }
}

/// What the draw of one subtree did: the indices taken (selection order) and every index
/// it considered (taken or skipped by the cap), in the order considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawn {
    pub chosen: Vec<u64>,
    pub considered: Vec<u64>,
}

/// Draw `k` of the indices `0..n` with `rng(key)`: §4's pick, or with `cap = Some(max)` the
/// B.15 loop, where `value(i)` is the cap value of leaf `i`.
///
/// # Errors
/// `Err(i)` when the cap loop needs the value of leaf `i` and `value` does not know it.
pub fn draw_subtree<V: std::hash::Hash + Eq>(
    key: [u8; 32],
    n: u64,
    k: u64,
    cap: Option<u64>,
    mut value: impl FnMut(u64) -> Option<V>,
) -> Result<Drawn, u64> {
    let mut shuffle = Shuffle::new(key, n);
    let Some(max) = cap else {
        let chosen: Vec<u64> = shuffle.by_ref().take(k as usize).collect();
        return Ok(Drawn {
            considered: chosen.clone(),
            chosen,
        });
    };
    let mut taken: HashMap<V, u64> = HashMap::new();
    let mut out = Drawn {
        chosen: Vec::new(),
        considered: Vec::new(),
    };
    while (out.chosen.len() as u64) < k {
        let Some(i) = shuffle.next() else { break };
        out.considered.push(i);
        let v = value(i).ok_or(i)?;
        let c = taken.entry(v).or_insert(0);
        if *c < max {
            *c += 1;
            out.chosen.push(i);
        }
    }
    Ok(out)
}

/// The key of a subtree's stream: `derive(seed, "stratum", id)` or, for a group,
/// `derive(seed, "stratum", id, group)` (as B.16).
pub fn subtree_key(seed: &[u8; 32], stratum: &str, group: Option<&str>) -> [u8; 32] {
    match group {
        None => derive(seed, "stratum", &[stratum]),
        Some(g) => derive(seed, "stratum", &[stratum, g]),
    }
}

/// Is this snapshot's `records` in tree form (B.18)?
pub fn is_tree(records: Option<&Records>) -> bool {
    records.is_some_and(|r| r.strata.iter().any(|s| s.trees.is_some()))
}

/// How many members stratum `si` of a records snapshot has: listed, or the sum of its
/// trees' sizes in tree form.
pub fn stratum_members(snapshot: &super::v2::Snapshot2, si: usize) -> u64 {
    let trees = snapshot
        .records
        .as_ref()
        .and_then(|r| r.strata.get(si))
        .and_then(|r| r.trees.as_ref());
    match trees {
        Some(t) => t.iter().map(|t| t.size).sum(),
        None => snapshot
            .strata
            .get(si)
            .map_or(0, |s| s.members.len() as u64),
    }
}

/// The B.18 structure rules of a tree-form `records` against the snapshot's strata.
pub fn validate_tree(strata: &[Stratum], records: &Records) -> Vec<String> {
    let mut out = Vec::new();
    let mut total = 0u64;
    for (st, rs) in strata.iter().zip(&records.strata) {
        let id = &rs.stratum;
        let Some(trees) = &rs.trees else {
            out.push(format!(
                "records: stratum {id}: trees missing (a snapshot in tree form gives them for every stratum)"
            ));
            continue;
        };
        if !st.members.is_empty() {
            out.push(format!(
                "stratum {id}: in tree form the members are not listed (members must be [])"
            ));
        }
        if rs.cap.as_ref().is_some_and(|c| !c.values.is_empty())
            || rs.group.as_ref().is_some_and(|g| !g.values.is_empty())
        {
            out.push(format!(
                "records: stratum {id}: in tree form cap.values and group.values are [] (the leaves commit to the values)"
            ));
        }
        let known = |c: &str| records.columns.iter().any(|x| x.name == c);
        if rs.cap.as_ref().is_some_and(|c| !known(&c.column))
            || rs.group.as_ref().is_some_and(|g| !known(&g.column))
        {
            out.push(format!(
                "records: stratum {id}: the cap or group column is not a column of the list"
            ));
        }
        if rs.cap.as_ref().is_some_and(|c| c.max == 0) {
            out.push(format!("records: stratum {id} cap: max is at least 1"));
        }
        match &rs.group {
            None => {
                if trees.len() != 1 || trees[0].group.is_some() {
                    out.push(format!(
                        "records: stratum {id}: a stratum without group has exactly one tree, with group null"
                    ));
                }
            }
            Some(_) => {
                for (i, t) in trees.iter().enumerate() {
                    match t.group.as_deref() {
                        Some(g) if is_hash_hex(g) => {
                            if i > 0 && trees[i - 1].group.as_deref() >= Some(g) {
                                out.push(format!(
                                    "records: stratum {id}: groups not sorted by value hash or not unique"
                                ));
                            }
                        }
                        _ => out.push(format!(
                            "records: stratum {id}: every tree of a nested stratum names its group's value hash (64 lowercase hex digits)"
                        )),
                    }
                    if t.size == 0 {
                        out.push(format!(
                            "records: stratum {id}: a group has at least one member (size 0 found)"
                        ));
                    }
                }
            }
        }
        for t in trees {
            if !is_hash_hex(&t.root) {
                out.push(format!(
                    "records: stratum {id}: tree root is not 64 lowercase hex digits"
                ));
            }
            if t.size == 0 && t.root != hex::encode(empty_root()) {
                out.push(format!(
                    "records: stratum {id}: an empty tree's root is SHA-256(\"\")"
                ));
            }
            total = total.saturating_add(t.size);
        }
    }
    if total > records.list_rows {
        out.push(format!(
            "records: the trees hold {total} members, the list has {} records",
            records.list_rows
        ));
    }
    out
}

/// Where a disclosed member lives: (stratum position, group, index).
type Place<'a> = (usize, Option<&'a str>, u64);

/// Check every disclosed member (B.18): sorted by (stratum order, group, index), unique,
/// in an existing subtree, with a cap value exactly when the stratum has a cap, and a path
/// that leads from its leaf to the subtree's root.
pub fn check_members(
    strata: &[Stratum],
    records: &Records,
    members: &[MemberProof],
) -> Result<(), String> {
    let position: HashMap<&str, usize> = strata
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut last: Option<Place> = None;
    for m in members {
        let who = format!(
            "member {} (stratum {}, index {})",
            m.member, m.stratum, m.index
        );
        let Some(&si) = position.get(m.stratum.as_str()) else {
            return Err(format!("{who}: no such stratum"));
        };
        let place = (si, m.group.as_deref(), m.index);
        if last.is_some_and(|l| l >= place) {
            return Err(format!(
                "{who}: members not sorted by stratum, group and index, or not unique"
            ));
        }
        last = Some(place);
        let rs: &RecordStratum = &records.strata[si];
        let Some(tree) = rs
            .trees
            .as_ref()
            .and_then(|t| t.iter().find(|t| t.group == m.group))
        else {
            return Err(format!("{who}: the stratum has no such group"));
        };
        if m.index >= tree.size {
            return Err(format!("{who}: index beyond the tree's size {}", tree.size));
        }
        let member = unhex(&m.member).ok_or_else(|| format!("{who}: not a member hash"))?;
        let cap = match (&rs.cap, &m.cap_value) {
            (None, None) => None,
            (Some(_), Some(v)) => {
                Some(unhex(v).ok_or_else(|| format!("{who}: cap_value is not a hash"))?)
            }
            (None, Some(_)) => {
                return Err(format!("{who}: cap_value given, the stratum has no cap"));
            }
            (Some(_), None) => {
                return Err(format!("{who}: cap_value missing, the stratum has a cap"));
            }
        };
        let path = m
            .path
            .iter()
            .map(|h| unhex(h))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{who}: a path entry is not a hash"))?;
        let root = unhex(&tree.root).ok_or_else(|| format!("{who}: tree root is not a hash"))?;
        if !verify_path(
            &leaf(&member, cap.as_ref()),
            m.index,
            tree.size,
            &path,
            &root,
        ) {
            return Err(format!("{who}: the path does not lead to the tree's root"));
        }
    }
    Ok(())
}

/// One selection of a tree-form draw: stratum position and member hash.
pub type Chosen = (usize, String);

/// The draw of a snapshot in tree form (B.18) over the disclosed members (already checked
/// by [`check_members`]): every subtree in order, its members at the indices §4 / B.15
/// produce. Every index the draw considers must be disclosed, and every disclosed member
/// must have been considered.
pub fn draw_selections(
    seed: &[u8; 32],
    strata: &[Stratum],
    records: &Records,
    members: &[MemberProof],
) -> Result<Vec<Chosen>, String> {
    let position: HashMap<&str, usize> = strata
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let known: HashMap<Place, &MemberProof> = members
        .iter()
        .filter_map(|m| {
            let si = *position.get(m.stratum.as_str())?;
            Some(((si, m.group.as_deref(), m.index), m))
        })
        .collect();
    let mut used = 0usize;
    let mut out = Vec::new();
    for (si, (st, rs)) in strata.iter().zip(&records.strata).enumerate() {
        for t in rs.trees.iter().flatten() {
            let k = stratum_size(t.size, st.ratio, st.min, st.max);
            let key = subtree_key(seed, &st.id, t.group.as_deref());
            let at = |i: u64| known.get(&(si, t.group.as_deref(), i)).copied();
            let drawn = draw_subtree(key, t.size, k, rs.cap.as_ref().map(|c| c.max), |i| {
                at(i).and_then(|m| m.cap_value.clone())
            })
            .map_err(|i| missing(st, t, i))?;
            for &i in &drawn.considered {
                if at(i).is_none() {
                    return Err(missing(st, t, i));
                }
            }
            used += drawn.considered.len();
            for i in drawn.chosen {
                out.push((si, at(i).map(|m| m.member.clone()).unwrap_or_default()));
            }
        }
    }
    if used != members.len() {
        return Err(format!(
            "{} member(s) disclosed, the draw considered {used}: a disclosed member was not considered",
            members.len()
        ));
    }
    Ok(out)
}

fn missing(st: &Stratum, t: &Subtree, i: u64) -> String {
    format!(
        "stratum {}{}: the member at index {i}, considered by the draw, is not disclosed",
        st.id,
        t.group
            .as_deref()
            .map(|g| format!(" group {g}"))
            .unwrap_or_default()
    )
}

/// The members one subtree discloses (B.18), with the whole subtree in memory: `leaves` are
/// its members in member-hash order with their cap value hashes (all `Some` exactly when
/// the stratum has a cap of `cap_max`). The reference for tests and vectors; the service
/// streams ([`Builder::with_targets`]).
pub fn disclose_subtree(
    seed: &[u8; 32],
    stratum: &Stratum,
    group: Option<&str>,
    cap_max: Option<u64>,
    leaves: &[([u8; 32], Option<[u8; 32]>)],
) -> Vec<MemberProof> {
    let n = leaves.len() as u64;
    let k = stratum_size(n, stratum.ratio, stratum.min, stratum.max);
    let key = subtree_key(seed, &stratum.id, group);
    let drawn =
        draw_subtree(key, n, k, cap_max, |i| leaves[i as usize].1).expect("every value is known");
    let mut indices = drawn.considered;
    indices.sort_unstable();
    let mut b = Builder::with_targets(n, &indices);
    for (m, c) in leaves {
        b.push(leaf(m, c.as_ref()));
    }
    let (_, paths) = b.finish_paths().expect("size known");
    indices
        .into_iter()
        .zip(paths)
        .map(|(i, p)| MemberProof {
            stratum: stratum.id.clone(),
            group: group.map(str::to_owned),
            index: i,
            member: hex::encode(leaves[i as usize].0),
            cap_value: leaves[i as usize].1.map(hex::encode),
            path: p.iter().map(hex::encode).collect(),
        })
        .collect()
}

/// Per stratum and group, the leaves of a sealed stratum in tree form, fed in member-hash
/// order (the list rows' primary-key order), each into its subtree's [`Builder`].
#[derive(Debug, Default)]
pub struct Sealer {
    /// Per stratum: `None` key for an ungrouped stratum, else one builder per group.
    strata: Vec<std::collections::BTreeMap<Option<[u8; 32]>, Builder>>,
    grouped: Vec<bool>,
    last: Option<[u8; 32]>,
}

impl Sealer {
    /// `grouped[i]`: whether stratum `i` is nested (B.16).
    pub fn new(grouped: Vec<bool>) -> Self {
        let strata = grouped
            .iter()
            .map(|&g| {
                let mut m = std::collections::BTreeMap::new();
                if !g {
                    m.insert(None, Builder::new());
                }
                m
            })
            .collect();
        Self {
            strata,
            grouped,
            last: None,
        }
    }

    /// Number of open subtrees (groups) so far, over all strata.
    pub fn subtrees(&self) -> usize {
        self.strata.iter().map(|m| m.len()).sum()
    }

    /// Add a member of stratum `s` (with its group's and cap's value hashes when the
    /// stratum has them). Members must come in strictly ascending member-hash order.
    ///
    /// # Errors
    /// Out of order, or a group given to an ungrouped stratum (or missing).
    pub fn push(
        &mut self,
        s: usize,
        member: &[u8; 32],
        group: Option<&[u8; 32]>,
        cap: Option<&[u8; 32]>,
    ) -> Result<(), String> {
        if self.last.is_some_and(|l| l >= *member) {
            return Err("members not in ascending member-hash order".into());
        }
        self.last = Some(*member);
        if self.grouped.get(s).copied() != Some(group.is_some()) {
            return Err(format!(
                "stratum {s}: group given iff the stratum is nested"
            ));
        }
        self.strata[s]
            .entry(group.copied())
            .or_default()
            .push(leaf(member, cap));
        Ok(())
    }

    /// The trees of every stratum, as the snapshot writes them.
    pub fn finish(self) -> Vec<Vec<Subtree>> {
        self.strata
            .into_iter()
            .map(|m| {
                m.into_iter()
                    .map(|(g, b)| Subtree {
                        group: g.map(hex::encode),
                        root: hex::encode(b.root()),
                        size: b.size(),
                    })
                    .collect()
            })
            .collect()
    }
}

/// The auditor's side of B.18 (`suiji verify --list --salt`): the list's records in file
/// order, collected per stratum and group as raw hashes (72 bytes a record: the list file
/// is in file order, the trees in member-hash order, so this sorts in memory), then each
/// subtree's root and size compared with the snapshot's.
#[derive(Debug, Default)]
pub struct ListLeaves {
    /// Per stratum: (group number, member hash, cap value hash or zeros).
    rows: Vec<Vec<(u32, Hash, Hash)>>,
    groups: Vec<[u8; 32]>,
    group_no: HashMap<[u8; 32], u32>,
    capped: Vec<bool>,
}

impl ListLeaves {
    /// For `strata` strata.
    pub fn new(strata: usize) -> Self {
        Self {
            rows: vec![Vec::new(); strata],
            capped: vec![false; strata],
            ..Self::default()
        }
    }

    /// A record of stratum `s`, with its value hashes (hex) in the group and cap columns.
    pub fn push(
        &mut self,
        s: usize,
        id: &str,
        salt: &[u8],
        group: Option<String>,
        cap: Option<String>,
    ) {
        let member = unhex(&crate::domain::list::member_hash(salt, id)).unwrap_or_default();
        let g = match group.as_deref().and_then(unhex) {
            None => 0,
            Some(g) => {
                let next = self.groups.len() as u32 + 1;
                *self.group_no.entry(g).or_insert_with(|| {
                    self.groups.push(g);
                    next
                })
            }
        };
        let c = cap.as_deref().and_then(unhex);
        self.capped[s] |= c.is_some();
        self.rows[s].push((g, member, c.unwrap_or_default()));
    }

    /// Compare every subtree of the snapshot with the one the list gives.
    pub fn check(self, records: &Records) -> Result<(), String> {
        for ((rows, rs), capped) in self.rows.into_iter().zip(&records.strata).zip(self.capped) {
            let id = &rs.stratum;
            let mut by: std::collections::BTreeMap<Option<Hash>, Vec<(Hash, Hash)>> =
                std::collections::BTreeMap::new();
            if rs.group.is_none() {
                by.insert(None, Vec::new());
            }
            for (g, m, c) in rows {
                let g = (g > 0).then(|| self.groups[g as usize - 1]);
                by.entry(g).or_default().push((m, c));
            }
            let trees = rs.trees.as_deref().unwrap_or_default();
            if by.len() != trees.len() {
                return Err(format!(
                    "stratum {id}: the list gives {} tree(s), the snapshot has {}",
                    by.len(),
                    trees.len()
                ));
            }
            for ((g, mut leaves), t) in by.into_iter().zip(trees) {
                leaves.sort_unstable();
                let mut b = Builder::new();
                for (m, c) in &leaves {
                    b.push(leaf(m, capped.then_some(c)));
                }
                let group = g.map(hex::encode);
                let root = hex::encode(b.root());
                if group != t.group || b.size() != t.size || root != t.root {
                    return Err(format!(
                        "stratum {id}{}: the list gives {} member(s) with root {root}, the snapshot has {} with root {}",
                        group.map(|g| format!(" group {g}")).unwrap_or_default(),
                        b.size(),
                        t.size,
                        t.root
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::merkle;
    use crate::draw::rng::pick_indices;

    fn leaves(n: u64) -> Vec<[u8; 32]> {
        (0..n)
            .map(|i| leaf(&Sha256::digest(i.to_le_bytes()).into(), None))
            .collect()
    }

    #[test]
    fn the_builder_gives_the_rfc9162_root_and_paths_in_one_pass() {
        for n in 0..=40u64 {
            let l = leaves(n);
            let mut b = Builder::new();
            for x in &l {
                b.push(*x);
            }
            assert_eq!(b.root(), merkle::root(&l), "root of {n}");
            if n == 0 {
                continue;
            }
            let targets: Vec<u64> = (0..n).rev().chain([0, n - 1]).collect();
            let mut b = Builder::with_targets(n, &targets);
            for x in &l {
                b.push(*x);
            }
            let (root, paths) = b.finish_paths().unwrap();
            assert_eq!(root, merkle::root(&l));
            for (t, p) in targets.iter().zip(&paths) {
                assert_eq!(*p, merkle::path(&l, *t as usize), "path of {t} in {n}");
                assert!(verify_path(&l[*t as usize], *t, n, p, &root));
            }
        }
        let mut b = Builder::with_targets(3, &[0]);
        b.push([0; 32]);
        assert!(b.finish_paths().is_err());
    }

    #[test]
    fn the_sparse_shuffle_is_the_dense_one() {
        for n in [1u64, 2, 3, 10, 77, 500] {
            for k in [0, 1, n / 2, n] {
                let key = [n as u8 ^ k as u8; 32];
                let dense = pick_indices(&mut Stream::new(key), n as usize, k as usize);
                let sparse: Vec<u64> = Shuffle::new(key, n).take(k as usize).collect();
                assert_eq!(
                    dense.iter().map(|&x| x as u64).collect::<Vec<_>>(),
                    sparse,
                    "{n} {k}"
                );
            }
            let all: Vec<u64> = Shuffle::new([9; 32], n).collect();
            let mut sorted = all.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_cap_loop_over_indices_is_b15s() {
        // The list form's capped draw (sample::draw_stratum) and the tree form's agree.
        use crate::draw::sample::{RecordStratum, ValueCap};
        use crate::draw::{Member, Ratio};
        let n = 60u64;
        let values: Vec<String> = (0..n)
            .map(|i| format!("{:064x}", if i < 40 { 1 } else { i % 3 + 2 }))
            .collect();
        let st = Stratum {
            id: "s".into(),
            ratio: Ratio { num: 0, den: 1 },
            min: 6,
            max: Some(6),
            members: (0..n)
                .map(|i| Member {
                    id: format!("{i:064x}"),
                    region: None,
                })
                .collect(),
        };
        let rs = RecordStratum {
            stratum: "s".into(),
            conditions: Vec::new(),
            cap: Some(ValueCap {
                column: "d".into(),
                max: 2,
                values: values.clone(),
            }),
            group: None,
            trees: None,
        };
        for s in 0..10u8 {
            let seed = [s; 32];
            let list: Vec<u64> = crate::draw::sample::draw_stratum(&seed, &st, Some(&rs))
                .into_iter()
                .map(|i| i as u64)
                .collect();
            let d = draw_subtree(subtree_key(&seed, "s", None), n, 6, Some(2), |i| {
                Some(values[i as usize].clone())
            })
            .unwrap();
            assert_eq!(d.chosen, list);
            assert!(d.considered.len() >= 6);
            // Without a value the loop names the index it needs.
            let first = d.considered[0];
            assert_eq!(
                draw_subtree(subtree_key(&seed, "s", None), n, 6, Some(2), |_| None::<
                    String,
                >),
                Err(first)
            );
        }
    }

    #[test]
    fn the_sealer_builds_one_tree_per_stratum_and_group() {
        let mut members: Vec<[u8; 32]> = (0..30u64)
            .map(|i| Sha256::digest(i.to_le_bytes()).into())
            .collect();
        members.sort_unstable();
        let g = |i: usize| [if i.is_multiple_of(2) { 1u8 } else { 2u8 }; 32];
        let mut s = Sealer::new(vec![false, true]);
        for (i, m) in members.iter().enumerate() {
            if i < 10 {
                s.push(0, m, None, None).unwrap();
            } else {
                s.push(1, m, Some(&g(i)), Some(&[7; 32])).unwrap();
            }
        }
        assert!(s.push(0, &members[0], None, None).is_err());
        let trees = s.finish();
        assert_eq!(trees[0].len(), 1);
        assert_eq!(trees[0][0].size, 10);
        let l0: Vec<[u8; 32]> = members[..10].iter().map(|m| leaf(m, None)).collect();
        assert_eq!(trees[0][0].root, hex::encode(merkle::root(&l0)));
        assert_eq!(trees[1].len(), 2);
        assert_eq!(trees[1][0].group, Some(hex::encode([1u8; 32])));
        let l1: Vec<[u8; 32]> = (10..30)
            .filter(|i| i % 2 == 0)
            .map(|i| leaf(&members[i], Some(&[7; 32])))
            .collect();
        assert_eq!(trees[1][0].root, hex::encode(merkle::root(&l1)));
        assert_eq!(trees[1][0].size, 10);
    }
}
