//! Samples of records (issue 14, docs/draw-spec.md B.12): what a /2 snapshot says about the
//! record list its strata were taken from, and the full check an auditor holding the list
//! and its salt makes. Pure: the caller reads the list file.
//!
//! A record appears in the snapshot (as a stratum member) only as its member hash
//! `hex(SHA-256(salt || utf8(id)))`. The snapshot's `records` field commits to the list's
//! canonical content hash, its row count, its columns, `hex(SHA-256(salt))` and each
//! stratum's conditions, so that whoever holds the list and the salt can recompute every
//! stratum exactly; whoever holds neither learns nothing about who was drawn.

use super::canonical::{Canon, CanonicalJson, Sink};
use crate::domain::list::{ContentHash, member_hash, salt_commitment};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// A column of the list as the snapshot records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordColumn {
    pub name: String,
    /// `text`, `integer` or `date`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One condition: the record's value in `column` is one of `values` (sorted, unique; the
/// value's text: as written, integers in decimal, dates `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub column: String,
    pub values: Vec<String>,
}

/// The conditions of one stratum, sorted by column (empty: every record), and optionally
/// its per-value cap (B.15) and its grouping (B.16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordStratum {
    pub stratum: String,
    #[serde(rename = "where")]
    pub conditions: Vec<Condition>,
    /// At most `max` drawn records per value of `column` (B.15). Absent when unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<ValueCap>,
    /// The stratum is drawn group by group, one group per value of `column` (B.16).
    /// Absent when unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Grouping>,
    /// Tree form (B.18): the stratum's members committed by Merkle roots, one subtree for
    /// the stratum or one per group. Absent in the list form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trees: Option<Vec<super::tree::Subtree>>,
}

/// A per-value cap (B.15): `values[i]` is the value hash ([`value_hash`]) of the stratum's
/// `i`-th member (snapshot order) in `column`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueCap {
    pub column: String,
    pub max: u64,
    pub values: Vec<String>,
}

/// A grouping (B.16): `values[i]` is the value hash of the stratum's `i`-th member in
/// `column`; each group draws the stratum's count on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grouping {
    pub column: String,
    pub values: Vec<String>,
}

/// `hex(SHA-256(salt || utf8(column) || 0x00 || utf8(text)))`: a record's value in a capped
/// or grouping column as the snapshot commits to it (B.15), `text` as in [`value_text`].
pub fn value_hash(salt: &[u8], column: &str, text: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(salt);
    h.update(column.as_bytes());
    h.update([0u8]);
    h.update(text.as_bytes());
    hex::encode(h.finalize())
}

/// The `records` field of a /2 snapshot whose members are records of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Records {
    /// SHA-256 of the list's canonical content (B.12).
    pub list_sha256: String,
    pub list_rows: u64,
    pub id_column: String,
    pub columns: Vec<RecordColumn>,
    /// `hex(SHA-256(salt))`.
    pub salt_commitment: String,
    /// One entry per stratum of the snapshot, in the same order (by stratum id).
    pub strata: Vec<RecordStratum>,
    /// When the list is derived from lists (a top-N ranking, an intersection; B.17): how.
    /// Absent for an uploaded list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivation: Option<Derivation>,
}

/// How a derived list was made (B.17): `kind` (`top`, `intersection`) and the recorded
/// rule with its sources' content hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derivation {
    pub kind: String,
    pub rule: Value,
}

impl CanonicalJson for Records {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("columns");
        w.begin_array();
        for c in &self.columns {
            w.begin_object();
            w.key("name");
            w.str(&c.name);
            w.key("type");
            w.str(&c.kind);
            w.end_object();
        }
        w.end_array();
        if let Some(d) = &self.derivation {
            w.key("derivation");
            w.begin_object();
            w.key("kind");
            w.str(&d.kind);
            w.key("rule");
            let mut bytes = Vec::new();
            // A rule is JSON of strings, integers, arrays and objects: always canonical.
            let _ = super::canonical::write_value(&mut bytes, &d.rule);
            w.raw_value(&bytes);
            w.end_object();
        }
        w.key("id_column");
        w.str(&self.id_column);
        w.key("list_rows");
        w.u64(self.list_rows);
        w.key("list_sha256");
        w.str(&self.list_sha256);
        w.key("salt_commitment");
        w.str(&self.salt_commitment);
        w.key("strata");
        w.begin_array();
        for s in &self.strata {
            w.begin_object();
            if let Some(c) = &s.cap {
                w.key("cap");
                w.begin_object();
                w.key("column");
                w.str(&c.column);
                w.key("max");
                w.u64(c.max);
                w.key("values");
                w.str_array(c.values.iter().map(String::as_str));
                w.end_object();
            }
            if let Some(g) = &s.group {
                w.key("group");
                w.begin_object();
                w.key("column");
                w.str(&g.column);
                w.key("values");
                w.str_array(g.values.iter().map(String::as_str));
                w.end_object();
            }
            w.key("stratum");
            w.str(&s.stratum);
            if let Some(trees) = &s.trees {
                w.key("trees");
                w.begin_array();
                for t in trees {
                    w.begin_object();
                    w.key("group");
                    w.opt_str(t.group.as_deref());
                    w.key("root");
                    w.str(&t.root);
                    w.key("size");
                    w.u64(t.size);
                    w.end_object();
                }
                w.end_array();
            }
            w.key("where");
            w.begin_array();
            for c in &s.conditions {
                w.begin_object();
                w.key("column");
                w.str(&c.column);
                w.key("values");
                w.str_array(c.values.iter().map(String::as_str));
                w.end_object();
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
}

/// The text a condition compares: strings as they are, integers in decimal.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Which stratum (index into `records.strata`) a record with these attribute values (in
/// column order) belongs to: the first whose every condition holds.
pub struct Matcher {
    /// Per stratum: (column index, accepted values).
    strata: Vec<Vec<(usize, Vec<String>)>>,
}

impl Matcher {
    pub fn new(records: &Records) -> Result<Self, String> {
        let index: HashMap<&str, usize> = records
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        let mut strata = Vec::with_capacity(records.strata.len());
        for s in &records.strata {
            let mut conds = Vec::with_capacity(s.conditions.len());
            for c in &s.conditions {
                let i = *index.get(c.column.as_str()).ok_or_else(|| {
                    format!(
                        "stratum {}: column {} is not a column of the list",
                        s.stratum, c.column
                    )
                })?;
                conds.push((i, c.values.clone()));
            }
            strata.push(conds);
        }
        Ok(Self { strata })
    }

    pub fn stratum_of(&self, values: &[Value]) -> Option<usize> {
        self.strata.iter().position(|conds| {
            conds.iter().all(|(i, accepted)| {
                values
                    .get(*i)
                    .is_some_and(|v| accepted.binary_search(&value_text(v)).is_ok())
            })
        })
    }
}

/// Checks the structure of `records` against the snapshot's strata ids (B.12).
pub fn check_structure(records: &Records, strata_ids: &[&str]) -> Result<(), String> {
    let hex64 =
        |s: &str| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !hex64(&records.list_sha256) || !hex64(&records.salt_commitment) {
        return Err("records: list_sha256 and salt_commitment are 64 lowercase hex digits".into());
    }
    let ids: Vec<&str> = records.strata.iter().map(|s| s.stratum.as_str()).collect();
    if ids != strata_ids {
        return Err(format!(
            "records.strata names {ids:?}, the snapshot's strata are {strata_ids:?}"
        ));
    }
    for c in &records.columns {
        if !matches!(c.kind.as_str(), "text" | "integer" | "date") {
            return Err(format!("records.columns: type {} is unknown", c.kind));
        }
    }
    for s in &records.strata {
        if !s.conditions.windows(2).all(|w| w[0].column < w[1].column) {
            return Err(format!(
                "records: the conditions of stratum {} are not sorted by column, or repeat one",
                s.stratum
            ));
        }
        for c in &s.conditions {
            if c.values.is_empty() || !c.values.windows(2).all(|w| w[0] < w[1]) {
                return Err(format!(
                    "records: stratum {} column {}: values are empty, unsorted or repeated",
                    s.stratum, c.column
                ));
            }
        }
    }
    Matcher::new(records).map(|_| ())
}

/// The auditor's full check (B.12): the salt matches its commitment; the list (its rows in
/// file order, each id with its typed values) hashes to `list_sha256` and has `list_rows`
/// rows; and each stratum's members are exactly the member hashes of the records it
/// selects, sorted. `strata` are the snapshot's strata as (id, member ids).
pub fn check_list<I>(
    records: &Records,
    strata: &[(&str, Vec<&str>)],
    salt: &[u8],
    rows: I,
) -> Result<(), String>
where
    I: IntoIterator<Item = Result<(String, Vec<Value>), String>>,
{
    if salt_commitment(salt) != records.salt_commitment {
        return Err("the salt does not match the snapshot's salt_commitment".into());
    }
    let columns: Vec<crate::domain::list::ListColumn> = records
        .columns
        .iter()
        .map(|c| {
            serde_json::from_value(serde_json::json!({"name": c.name, "type": c.kind}))
                .map_err(|e| format!("records.columns: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let matcher = Matcher::new(records)?;
    let position = |c: &str| records.columns.iter().position(|x| x.name == c);
    // Per stratum: the column index of its cap and of its group, if any.
    let extra: Vec<(Option<usize>, Option<usize>)> = records
        .strata
        .iter()
        .map(|s| {
            (
                s.cap.as_ref().and_then(|c| position(&c.column)),
                s.group.as_ref().and_then(|g| position(&g.column)),
            )
        })
        .collect();
    let tree = super::tree::is_tree(Some(records));
    let mut leaves = super::tree::ListLeaves::new(records.strata.len());
    let mut content = ContentHash::new(&records.id_column, &columns);
    // (member hash, cap value hash, group value hash)
    type Member = (String, Option<String>, Option<String>);
    let mut members: Vec<Vec<Member>> = vec![Vec::new(); records.strata.len()];
    let mut n = 0u64;
    for row in rows {
        let (id, values) = row?;
        n += 1;
        content.row(&id, &values);
        if let Some(s) = matcher.stratum_of(&values) {
            let vh = |col: Option<usize>| {
                col.map(|i| {
                    let text = values.get(i).map(value_text).unwrap_or_default();
                    value_hash(salt, &records.columns[i].name, &text)
                })
            };
            let (cap, group) = extra[s];
            if tree {
                leaves.push(s, &id, salt, vh(group), vh(cap));
            } else {
                members[s].push((member_hash(salt, &id), vh(cap), vh(group)));
            }
        }
    }
    if n != records.list_rows {
        return Err(format!(
            "the list has {n} records, the snapshot says {}",
            records.list_rows
        ));
    }
    let sha = content.finish();
    if sha != records.list_sha256 {
        return Err(format!(
            "the list's canonical content hashes to {sha}, the snapshot says {}",
            records.list_sha256
        ));
    }
    if tree {
        return leaves.check(records);
    }
    for (((id, snapshot_members), mut computed), rs) in
        strata.iter().zip(members).zip(&records.strata)
    {
        computed.sort_unstable();
        if computed.len() != snapshot_members.len()
            || computed
                .iter()
                .zip(snapshot_members)
                .any(|(a, b)| a.0 != *b)
        {
            return Err(format!(
                "stratum {id}: the list gives {} member(s), the snapshot has {}, or they differ",
                computed.len(),
                snapshot_members.len()
            ));
        }
        if let Some(c) = &rs.cap
            && let Some(i) = computed
                .iter()
                .zip(&c.values)
                .position(|(m, v)| m.1.as_deref() != Some(v.as_str()))
        {
            return Err(format!(
                "stratum {id}: cap: member {} has another {} value in the list than the snapshot commits to",
                computed[i].0, c.column
            ));
        }
        if let Some(g) = &rs.group
            && let Some(i) = computed
                .iter()
                .zip(&g.values)
                .position(|(m, v)| m.2.as_deref() != Some(v.as_str()))
        {
            return Err(format!(
                "stratum {id}: group: member {} has another {} value in the list than the snapshot commits to",
                computed[i].0, g.column
            ));
        }
    }
    Ok(())
}

/// The B.12 rules of a snapshot with `records`: no teams, every member a 64-hex member hash
/// without region, and `records` well-formed for the snapshot's strata.
pub fn validate_records(snapshot: &super::v2::Snapshot2, records: &Records) -> Vec<String> {
    let mut out = Vec::new();
    if !snapshot.departments.is_empty() {
        out.push("a sample of records has no teams: departments must be empty".into());
    }
    if snapshot.cross_region {
        out.push("a sample of records has no regions: cross_region must be false".into());
    }
    let hex64 =
        |s: &str| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    for st in &snapshot.strata {
        if let Some(m) = st
            .members
            .iter()
            .find(|m| !hex64(&m.id) || m.region.is_some())
        {
            out.push(format!(
                "stratum {}: member {} is not a member hash (64 lowercase hex digits, region null)",
                st.id, m.id
            ));
        }
    }
    let ids: Vec<&str> = snapshot.strata.iter().map(|s| s.id.as_str()).collect();
    if let Err(e) = check_structure(records, &ids) {
        out.push(e);
    } else if super::tree::is_tree(Some(records)) {
        out.extend(super::tree::validate_tree(&snapshot.strata, records));
    } else {
        out.extend(validate_caps(snapshot, records));
    }
    out
}

// ---------------------------------------------------------------- caps and groups (B.15, B.16)

/// The members (indices into `stratum.members`) one stratum of a /2 snapshot draws, in
/// selection order. Without a cap or a group in `records` this is §6 exactly
/// (`pick(rng(derive(seed, "stratum", id)), members, k)`); with them it is B.15 / B.16.
pub fn draw_stratum(
    seed: &[u8; 32],
    stratum: &super::Stratum,
    records: Option<&RecordStratum>,
) -> Vec<usize> {
    let cap = records.and_then(|r| r.cap.as_ref());
    let size = |n: usize| {
        super::snapshot::stratum_size(n as u64, stratum.ratio, stratum.min, stratum.max) as usize
    };
    let draw = |key: [u8; 32], members: Vec<usize>| {
        let mut rng = super::rng::Stream::new(key);
        let k = size(members.len());
        match cap {
            None => super::rng::pick_indices(&mut rng, members.len(), k)
                .into_iter()
                .map(|i| members[i as usize])
                .collect(),
            Some(c) => capped_pick(&mut rng, members, k, c),
        }
    };
    match records.and_then(|r| r.group.as_ref()) {
        None => draw(
            super::rng::derive(seed, "stratum", &[&stratum.id]),
            (0..stratum.members.len()).collect(),
        ),
        Some(g) => groups(g, stratum.members.len())
            .into_iter()
            .flat_map(|(label, members)| {
                draw(
                    super::rng::derive(seed, "stratum", &[&stratum.id, label]),
                    members,
                )
            })
            .collect(),
    }
}

/// The groups of a grouped stratum (B.16): each distinct value hash, ascending, with its
/// members' indices ascending.
fn groups(g: &Grouping, n: usize) -> std::collections::BTreeMap<&str, Vec<usize>> {
    let mut by: std::collections::BTreeMap<&str, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, v) in g.values.iter().enumerate().take(n) {
        by.entry(v.as_str()).or_default().push(i);
    }
    by
}

/// B.15: Fisher–Yates over `a` step by step; the member reaching position `i` is taken
/// unless its value already has `max` members taken; stop at `k` taken or at the end.
fn capped_pick(
    rng: &mut super::rng::Stream,
    mut a: Vec<usize>,
    k: usize,
    cap: &ValueCap,
) -> Vec<usize> {
    let n = a.len();
    let mut taken: HashMap<&str, u64> = HashMap::new();
    let mut out = Vec::with_capacity(k);
    for i in 0..n {
        if out.len() >= k {
            break;
        }
        let j = i + rng.uniform((n - i) as u64) as usize;
        a.swap(i, j);
        let m = a[i];
        let count = taken.entry(cap.values[m].as_str()).or_insert(0);
        if *count < cap.max {
            *count += 1;
            out.push(m);
        }
    }
    out
}

/// Where a cap makes a stratum's count impossible (B.15): per group (`None` without a
/// group), the count asked for (§5) and the most the cap allows
/// (`Σ over values min(members with that value, max)`). Empty when every count is
/// reachable; the service refuses to seal such a snapshot.
pub fn cap_shortfalls(
    stratum: &super::Stratum,
    records: &RecordStratum,
) -> Vec<(Option<String>, u64, u64)> {
    let Some(cap) = &records.cap else {
        return Vec::new();
    };
    let n = stratum.members.len();
    let parts: Vec<(Option<String>, Vec<usize>)> = match &records.group {
        None => vec![(None, (0..n).collect())],
        Some(g) => groups(g, n)
            .into_iter()
            .map(|(l, m)| (Some(l.to_owned()), m))
            .collect(),
    };
    let mut out = Vec::new();
    for (label, members) in parts {
        let k = super::snapshot::stratum_size(
            members.len() as u64,
            stratum.ratio,
            stratum.min,
            stratum.max,
        );
        let mut per: HashMap<&str, u64> = HashMap::new();
        for &m in &members {
            *per.entry(cap.values[m].as_str()).or_insert(0) += 1;
        }
        let most: u64 = per.values().map(|&c| c.min(cap.max)).sum();
        if k > most {
            out.push((label, k, most));
        }
    }
    out
}

/// The B.15 / B.16 structure of one stratum's cap and group against its members.
fn check_cap_group(
    s: &RecordStratum,
    members: usize,
    columns: &[RecordColumn],
) -> Result<(), String> {
    let hex64 =
        |s: &str| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let known = |c: &str| columns.iter().any(|x| x.name == c);
    let check = |what: &str, column: &str, values: &[String]| {
        if !known(column) {
            return Err(format!(
                "records: stratum {} {what}: column {column} is not a column of the list",
                s.stratum
            ));
        }
        if values.len() != members || !values.iter().all(|v| hex64(v)) {
            return Err(format!(
                "records: stratum {} {what}: one value hash (64 lowercase hex digits) per member expected, {} found for {members} member(s)",
                s.stratum,
                values.len()
            ));
        }
        Ok(())
    };
    if let Some(c) = &s.cap {
        if c.max == 0 {
            return Err(format!(
                "records: stratum {} cap: max is at least 1",
                s.stratum
            ));
        }
        check("cap", &c.column, &c.values)?;
    }
    if let Some(g) = &s.group {
        check("group", &g.column, &g.values)?;
    }
    Ok(())
}

/// The B.12 rules plus B.15 / B.16 for caps and groups (called by [`validate_records`]).
fn validate_caps(snapshot: &super::v2::Snapshot2, records: &Records) -> Vec<String> {
    snapshot
        .strata
        .iter()
        .zip(&records.strata)
        .filter_map(|(st, rs)| check_cap_group(rs, st.members.len(), &records.columns).err())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::{Member, Ratio, Stratum};

    fn stratum(n: usize, k: u64) -> Stratum {
        Stratum {
            id: "s".into(),
            ratio: Ratio { num: 0, den: 1 },
            min: k,
            max: Some(k),
            members: (0..n)
                .map(|i| Member {
                    id: format!("{i:064x}"),
                    region: None,
                })
                .collect(),
        }
    }

    fn rs(cap: Option<(u64, Vec<String>)>, group: Option<Vec<String>>) -> RecordStratum {
        RecordStratum {
            stratum: "s".into(),
            conditions: Vec::new(),
            cap: cap.map(|(max, values)| ValueCap {
                column: "d".into(),
                max,
                values,
            }),
            group: group.map(|values| Grouping {
                column: "g".into(),
                values,
            }),
            trees: None,
        }
    }

    #[test]
    fn a_cap_that_never_binds_draws_exactly_as_pick() {
        let seed = [7u8; 32];
        let st = stratum(50, 10);
        let plain = draw_stratum(&seed, &st, None);
        let distinct: Vec<String> = (0..50).map(|i| format!("{i:064x}")).collect();
        assert_eq!(
            draw_stratum(&seed, &st, Some(&rs(Some((1, distinct)), None))),
            plain
        );
        assert_eq!(plain.len(), 10);
    }

    #[test]
    fn a_cap_skips_members_whose_value_is_full() {
        // 40 members with value A, 10 with B, 10 with C: at most 2 per value, 6 asked.
        let values: Vec<String> = (0..60)
            .map(|i| match i {
                0..40 => "a".repeat(64),
                40..50 => "b".repeat(64),
                _ => "c".repeat(64),
            })
            .collect();
        let st = stratum(60, 6);
        let r = rs(Some((2, values.clone())), None);
        for s in 0..20u8 {
            let got = draw_stratum(&[s; 32], &st, Some(&r));
            assert_eq!(got.len(), 6);
            for v in ["a", "b", "c"] {
                let n = got.iter().filter(|&&i| values[i].starts_with(v)).count();
                assert_eq!(n, 2, "seed {s}: value {v}");
            }
        }
        assert!(cap_shortfalls(&st, &r).is_empty());
        // 7 asked: at most 6 allowed.
        let st7 = stratum(60, 7);
        assert_eq!(cap_shortfalls(&st7, &r), vec![(None, 7, 6)]);
        assert_eq!(draw_stratum(&[1; 32], &st7, Some(&r)).len(), 6);
    }

    #[test]
    fn groups_draw_the_count_each_with_their_own_stream() {
        let groups: Vec<String> = (0..30)
            .map(|i| if i % 3 == 0 { "1" } else { "2" }.repeat(64))
            .collect();
        let st = stratum(30, 4);
        let r = rs(None, Some(groups.clone()));
        let got = draw_stratum(&[3; 32], &st, Some(&r));
        assert_eq!(got.len(), 8);
        // Groups in ascending value-hash order: group "11…" first.
        assert!(got[..4].iter().all(|&i| groups[i].starts_with('1')));
        assert!(got[4..].iter().all(|&i| groups[i].starts_with('2')));
        // A group's draw is pick over its members with key derive(seed, stratum, id, value).
        let members: Vec<usize> = (0..30).filter(|i| i % 3 == 0).collect();
        let mut rng = crate::draw::rng::Stream::new(crate::draw::rng::derive(
            &[3; 32],
            "stratum",
            &["s", &"1".repeat(64)],
        ));
        let expected: Vec<usize> = crate::draw::rng::pick_indices(&mut rng, members.len(), 4)
            .into_iter()
            .map(|i| members[i as usize])
            .collect();
        assert_eq!(&got[..4], &expected[..]);
    }
}
