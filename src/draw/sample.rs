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

/// The conditions of one stratum, sorted by column (empty: every record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordStratum {
    pub stratum: String,
    #[serde(rename = "where")]
    pub conditions: Vec<Condition>,
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
            w.key("stratum");
            w.str(&s.stratum);
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
    let mut content = ContentHash::new(&records.id_column, &columns);
    let mut members: Vec<Vec<String>> = vec![Vec::new(); records.strata.len()];
    let mut n = 0u64;
    for row in rows {
        let (id, values) = row?;
        n += 1;
        content.row(&id, &values);
        if let Some(s) = matcher.stratum_of(&values) {
            members[s].push(member_hash(salt, &id));
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
    for ((id, snapshot_members), mut computed) in strata.iter().zip(members) {
        computed.sort_unstable();
        if computed.len() != snapshot_members.len()
            || computed.iter().zip(snapshot_members).any(|(a, b)| a != b)
        {
            return Err(format!(
                "stratum {id}: the list gives {} member(s), the snapshot has {}, or they differ",
                computed.len(),
                snapshot_members.len()
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
    }
    out
}
