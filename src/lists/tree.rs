//! Samples over large lists in the tree form (docs/draw-spec.md B.18): the seal streams the
//! list once in member order into one incremental Merkle builder per stratum (per group),
//! and the draw streams it once more to collect the considered members and their paths.
//! Nothing per record is kept in memory.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use crate::domain::list::ListColumn;
use crate::domain::task::TaskInput;
use crate::draw::sample::{Grouping, Matcher, Records, ValueCap, value_hash, value_text};
use crate::draw::snapshot::stratum_size;
use crate::draw::tree::{
    Builder, Hash, MemberProof, Sealer, Shuffle, draw_subtree, leaf, subtree_key, unhex,
};
use crate::draw::v2::{Entropy2, Snapshot2, seed_of};
use crate::store::lists as db;
use crate::tasks::{TaskError, TaskResult};

/// The most subtrees (groups) a tree-form snapshot may have, over all its strata: the
/// snapshot lists every group (B.18).
pub const MAX_GROUPS: usize = 10_000;

/// Where a record goes: its stratum, and its group and cap value hashes.
type Routed = (usize, Option<Hash>, Option<Hash>);

/// A record's stratum and its group and cap value hashes, or `None` when no stratum takes
/// it. `extra[s]` = (cap column, group column) of stratum `s`.
fn route(
    matcher: &Matcher,
    extra: &[(Option<usize>, Option<usize>)],
    columns: &[ListColumn],
    salt: &[u8],
    attrs: &str,
) -> Result<Option<Routed>, sqlx::Error> {
    let values: Vec<Value> =
        serde_json::from_str(attrs).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let Some(s) = matcher.stratum_of(&values) else {
        return Ok(None);
    };
    let vh = |col: Option<usize>| {
        col.and_then(|c| {
            let text = values.get(c).map(value_text).unwrap_or_default();
            unhex(&value_hash(salt, &columns[c].name, &text))
        })
    };
    let (cap, group) = extra[s];
    Ok(Some((s, vh(group), vh(cap))))
}

fn decode(what: String) -> sqlx::Error {
    sqlx::Error::Decode(what.into())
}

/// Seal a sample over a list in tree form: `records` (conditions set, snapshot order)
/// gains its trees, caps and groups (with empty `values`); `extra[s]` = (cap column, group
/// column) of snapshot stratum `s`, and `order[s]` its index in the task's strata.
#[allow(clippy::too_many_arguments)]
pub async fn seal(
    tx: &mut crate::store::Tx,
    cfg: &TaskInput,
    list_id: &str,
    columns: &[ListColumn],
    salt: &[u8],
    mut records: Records,
    order: &[usize],
    extra: &[(Option<usize>, Option<usize>)],
) -> TaskResult<Records> {
    let matcher = Matcher::new(&records).map_err(|e| TaskError::field("strata", e))?;
    let mut sealer = Sealer::new(extra.iter().map(|e| e.1.is_some()).collect());
    // Per stratum: members per (group, cap value), for the cap's feasibility (B.15).
    let mut counts: Vec<HashMap<(Option<Hash>, Hash), u64>> = vec![HashMap::new(); extra.len()];
    let mut too_many: Option<usize> = None;
    db::each_row(&mut **tx, list_id, |row| {
        let Some((s, group, cap)) = route(&matcher, extra, columns, salt, &row.attrs)? else {
            return Ok(());
        };
        let member = unhex(&row.member).ok_or_else(|| decode("member hash".into()))?;
        sealer
            .push(s, &member, group.as_ref(), cap.as_ref())
            .map_err(decode)?;
        if let Some(c) = cap {
            *counts[s].entry((group, c)).or_insert(0) += 1;
        }
        if group.is_some() && sealer.subtrees() > MAX_GROUPS {
            too_many = Some(s);
            return Err(decode("too many groups".into()));
        }
        Ok(())
    })
    .await
    .or_else(|e| if too_many.is_some() { Ok(()) } else { Err(e) })?;
    if let Some(s) = too_many {
        return Err(TaskError::field(
            format!("strata[{}].group_by", order[s]),
            format!(
                "a sample over a list of this size is sealed in tree form, where the snapshot lists every group: at most {MAX_GROUPS} groups in all; group by a column with fewer values"
            ),
        ));
    }
    for (s, trees) in sealer.finish().into_iter().enumerate() {
        let i = order[s];
        let st = &cfg.strata[i];
        let rs = &mut records.strata[s];
        if let Some(c) = &st.cap {
            rs.cap = Some(ValueCap {
                column: c.column.clone(),
                max: c.max,
                values: Vec::new(),
            });
            // B.15: per subtree, the most the cap allows.
            let mut most: BTreeMap<Option<String>, u64> = BTreeMap::new();
            for ((g, _), n) in &counts[s] {
                *most.entry(g.map(hex::encode)).or_insert(0) += n.min(&c.max);
            }
            for t in &trees {
                let ratio = crate::draw::Ratio {
                    num: st.ratio.num,
                    den: st.ratio.den,
                };
                let k = stratum_size(t.size, ratio, st.min, st.max);
                let m = most.get(&t.group).copied().unwrap_or(0);
                if k > m {
                    return Err(TaskError::field(
                        format!("strata[{i}].cap.max"),
                        format!(
                            "stratum {}{}: the count is {k} but at most {} per {} allows only {m} record(s); lower the count or raise the cap",
                            st.id,
                            t.group
                                .as_ref()
                                .map(|g| format!(" (group with value hash {g})"))
                                .unwrap_or_default(),
                            c.max,
                            c.column,
                        ),
                    ));
                }
            }
        }
        if let Some(g) = &st.group_by {
            rs.group = Some(Grouping {
                column: g.clone(),
                values: Vec::new(),
            });
        }
        rs.trees = Some(trees);
    }
    Ok(records)
}

/// One subtree of a sealed tree-form snapshot, as the draw needs it.
struct Sub {
    stratum: usize,
    group: Option<String>,
    size: u64,
    k: u64,
    key: Hash,
    cap: Option<u64>,
    /// How many of the shuffle's first positions to fetch.
    fetch: u64,
}

/// The members a tree-form draw discloses (B.18): the considered indices of every subtree,
/// found from the seed and the sizes, then one streaming pass over the list that collects
/// those members and their paths. With a cap, the considered indices depend on the values
/// of the members considered: the pass fetches twice the count and, in the rare case the
/// cap skipped more, passes again with twice as many.
pub async fn disclose(
    conn: &mut sqlx::AnyConnection,
    list_id: &str,
    snapshot: &Snapshot2,
    entropy: &Entropy2,
) -> TaskResult<Vec<MemberProof>> {
    let records = snapshot
        .records
        .as_ref()
        .ok_or_else(|| TaskError::internal("a tree-form draw without records"))?;
    let seed = seed_of(snapshot, entropy)
        .map_err(|f| TaskError::Conflict(format!("the draw cannot be made: {f}")))?;
    let meta = db::get(&mut *conn, list_id)
        .await?
        .ok_or_else(|| TaskError::internal(format!("no list {list_id}")))?;
    let salt = db::salt(&mut *conn, list_id)
        .await?
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(|| TaskError::internal(format!("no salt for list {list_id}")))?;
    let matcher = Matcher::new(records).map_err(TaskError::internal)?;
    let column = |name: &str| meta.columns.iter().position(|c| c.name == name);
    let extra: Vec<(Option<usize>, Option<usize>)> = records
        .strata
        .iter()
        .map(|r| {
            (
                r.cap.as_ref().and_then(|c| column(&c.column)),
                r.group.as_ref().and_then(|g| column(&g.column)),
            )
        })
        .collect();
    let mut subs: Vec<Sub> = Vec::new();
    let mut place: HashMap<(usize, Option<Hash>), usize> = HashMap::new();
    for (si, (st, rs)) in snapshot.strata.iter().zip(&records.strata).enumerate() {
        for t in rs.trees.iter().flatten() {
            let k = stratum_size(t.size, st.ratio, st.min, st.max);
            let cap = rs.cap.as_ref().map(|c| c.max);
            place.insert((si, t.group.as_deref().and_then(unhex)), subs.len());
            subs.push(Sub {
                stratum: si,
                group: t.group.clone(),
                size: t.size,
                k,
                key: subtree_key(&seed, &st.id, t.group.as_deref()),
                cap,
                fetch: if cap.is_some() {
                    (2 * k + 8).min(t.size)
                } else {
                    k
                },
            });
        }
    }
    loop {
        // The first `fetch` positions of each subtree's shuffle.
        let targets: Vec<Vec<u64>> = subs
            .iter()
            .map(|s| Shuffle::new(s.key, s.size).take(s.fetch as usize).collect())
            .collect();
        let wanted: Vec<HashSet<u64>> = targets
            .iter()
            .map(|t| t.iter().copied().collect())
            .collect();
        let mut builders: Vec<Builder> = subs
            .iter()
            .zip(&targets)
            .map(|(s, t)| Builder::with_targets(s.size, t))
            .collect();
        let mut found: Vec<HashMap<u64, (Hash, Option<Hash>)>> = vec![HashMap::new(); subs.len()];
        db::each_row(&mut *conn, list_id, |row| {
            let Some((s, group, cap)) = route(&matcher, &extra, &meta.columns, &salt, &row.attrs)?
            else {
                return Ok(());
            };
            let t = *place
                .get(&(s, group))
                .ok_or_else(|| decode(format!("a record of stratum {s} in no sealed tree")))?;
            let member = unhex(&row.member).ok_or_else(|| decode("member hash".into()))?;
            let b = &mut builders[t];
            let index = b.size();
            if wanted[t].contains(&index) {
                found[t].insert(index, (member, cap));
            }
            b.push(leaf(&member, cap.as_ref()));
            Ok(())
        })
        .await?;
        let mut again = false;
        let mut out = Vec::new();
        for (((sub, b), found), targets) in subs.iter_mut().zip(builders).zip(found).zip(targets) {
            let drawn = match draw_subtree(sub.key, sub.size, sub.k, sub.cap, |i| {
                found.get(&i).and_then(|f| f.1)
            }) {
                Ok(d) => d,
                Err(_) => {
                    sub.fetch = (sub.fetch * 2).min(sub.size);
                    again = true;
                    continue;
                }
            };
            let (root, paths) = b.finish_paths().map_err(TaskError::internal)?;
            let tree = &records.strata[sub.stratum]
                .trees
                .as_deref()
                .unwrap_or_default();
            if tree
                .iter()
                .find(|t| t.group == sub.group)
                .is_none_or(|t| t.root != hex::encode(root))
            {
                return Err(TaskError::internal(format!(
                    "stratum {}: the list no longer hashes to the sealed tree",
                    snapshot.strata[sub.stratum].id
                )));
            }
            let path_of: HashMap<u64, &Vec<Hash>> = targets.iter().copied().zip(&paths).collect();
            let mut considered = drawn.considered;
            considered.sort_unstable();
            for i in considered {
                let (member, cap) = found[&i];
                out.push(MemberProof {
                    stratum: snapshot.strata[sub.stratum].id.clone(),
                    group: sub.group.clone(),
                    index: i,
                    member: hex::encode(member),
                    cap_value: cap.map(hex::encode),
                    path: path_of[&i].iter().map(hex::encode).collect(),
                });
            }
        }
        if !again {
            return Ok(out);
        }
    }
}
