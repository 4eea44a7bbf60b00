//! The audit log (全程留痕): an append-only hash chain. Every mutation of the service
//! appends one entry in the same transaction as the change itself, so a change without its
//! entry (or an entry without its change) cannot exist.

use super::{QueryBuilder, Tx};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};
use std::collections::BTreeMap;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub use crate::domain::Actor;

/// One link of the chain, as stored (the API shows it through its own view type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor_sub: String,
    pub actor_role: String,
    /// What was done, e.g. `institution.create`, `task.draw`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// SHA-256 of the canonical JSON of the request payload.
    pub payload_sha256: String,
    pub prev_hash: String,
    /// SHA-256 of the canonical JSON of every other field of this entry.
    pub entry_hash: String,
}

impl AuditEntry {
    /// SHA-256 over the canonical JSON (sorted keys, no white space) of every field but
    /// `entry_hash`. A BTreeMap of strings and integers serializes canonically whatever
    /// serde_json features are enabled.
    pub fn compute_hash(&self) -> String {
        use serde_json::Value;
        let mut m: BTreeMap<&str, Value> = BTreeMap::new();
        m.insert("seq", self.seq.into());
        m.insert("at", self.at.clone().into());
        m.insert("actor_sub", self.actor_sub.clone().into());
        m.insert("actor_role", self.actor_role.clone().into());
        m.insert("action", self.action.clone().into());
        m.insert("object_type", self.object_type.clone().into());
        m.insert("object_id", self.object_id.clone().into());
        m.insert("payload_sha256", self.payload_sha256.clone().into());
        m.insert("prev_hash", self.prev_hash.clone().into());
        let bytes = serde_json::to_vec(&m).expect("a map of strings serializes");
        hex::encode(Sha256::digest(&bytes))
    }
}

/// SHA-256 (hex) of a payload's canonical JSON (keys sorted at every level), the same
/// canonical form the draw specification uses.
pub fn payload_digest<T: Serialize>(payload: &T) -> String {
    let value = serde_json::to_value(payload).unwrap_or(serde_json::Value::Null);
    // Request payloads hold text, integers, booleans and dates, never floats, which are
    // the one thing canonical JSON refuses.
    let bytes =
        crate::draw::canonical_json(&value).expect("payloads hold no floating-point numbers");
    hex::encode(Sha256::digest(&bytes))
}

/// Appends one entry. The first statement bumps the chain head, which locks it (a row
/// lock on PostgreSQL, the write lock on SQLite), so concurrent appends form one chain.
pub async fn append(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    object_type: &str,
    object_id: &str,
    payload_sha256: &str,
) -> Result<AuditEntry, sqlx::Error> {
    sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    let mut entry = AuditEntry {
        seq: row.try_get("seq")?,
        at: tx.now(),
        actor_sub: actor.sub.clone(),
        actor_role: actor.role.clone(),
        action: action.into(),
        object_type: object_type.into(),
        object_id: object_id.into(),
        payload_sha256: payload_sha256.into(),
        prev_hash: row.try_get("hash")?,
        entry_hash: String::new(),
    };
    entry.entry_hash = entry.compute_hash();
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor_sub, actor_role, action, object_type, object_id, \
         payload_sha256, prev_hash, entry_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(entry.seq)
    .bind(&entry.at)
    .bind(&entry.actor_sub)
    .bind(&entry.actor_role)
    .bind(&entry.action)
    .bind(&entry.object_type)
    .bind(&entry.object_id)
    .bind(&entry.payload_sha256)
    .bind(&entry.prev_hash)
    .bind(&entry.entry_hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&entry.entry_hash)
        .execute(&mut **tx)
        .await?;
    Ok(entry)
}

fn entry_from_row(r: &sqlx::any::AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        actor_sub: r.try_get("actor_sub")?,
        actor_role: r.try_get("actor_role")?,
        action: r.try_get("action")?,
        object_type: r.try_get("object_type")?,
        object_id: r.try_get("object_id")?,
        payload_sha256: r.try_get("payload_sha256")?,
        prev_hash: r.try_get("prev_hash")?,
        entry_hash: r.try_get("entry_hash")?,
    })
}

const COLUMNS: &str = "seq, at, actor_sub, actor_role, action, object_type, object_id, \
                       payload_sha256, prev_hash, entry_hash";

/// Filters of the audit-log listing.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub after_seq: Option<i64>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub action: Option<String>,
    pub actor: Option<String>,
    pub limit: i64,
}

pub async fn list(pool: &AnyPool, f: &AuditFilter) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let mut q = QueryBuilder::new(&format!("SELECT {COLUMNS} FROM audit_log WHERE 1 = 1"));
    if let Some(after) = f.after_seq {
        let p = q.bind(super::Param::Int(after));
        q.push(&format!(" AND seq > {p}"));
    }
    for (col, v) in [
        ("object_type", &f.object_type),
        ("object_id", &f.object_id),
        ("action", &f.action),
        ("actor_sub", &f.actor),
    ] {
        if let Some(v) = v {
            let p = q.text(v.clone());
            q.push(&format!(" AND {col} = {p}"));
        }
    }
    let p = q.bind(super::Param::Int(f.limit));
    q.push(&format!(" ORDER BY seq LIMIT {p}"));
    q.query()
        .fetch_all(pool)
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
}

/// The outcome of rechecking the whole chain.
#[derive(Debug, Clone)]
pub struct ChainReport {
    /// True when every link holds.
    pub ok: bool,
    /// How many entries were checked.
    pub entries: i64,
    /// Hash of the last entry (the chain head).
    pub head: String,
    /// The first broken link, if any; also the first row of current state (a task, a
    /// finding) that contradicts the entries of its object.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// Rechecks every link in order, page by page so memory stays flat on a long log.
pub async fn verify_chain(pool: &AnyPool) -> Result<ChainReport, sqlx::Error> {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut checked = 0i64;
    loop {
        let page = sqlx::query(super::dynamic(format!(
            "SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 5000"
        )))
        .bind(expected_seq)
        .fetch_all(pool)
        .await?;
        if page.is_empty() {
            break;
        }
        for row in &page {
            let e = entry_from_row(row)?;
            let broken = if e.seq != expected_seq {
                Some(format!("entry {expected_seq} is missing"))
            } else if e.prev_hash != prev {
                Some(format!(
                    "prev_hash {} does not match the hash of entry {}",
                    e.prev_hash,
                    e.seq - 1
                ))
            } else if e.compute_hash() != e.entry_hash {
                Some("entry_hash does not match the entry's contents (altered)".to_string())
            } else {
                None
            };
            if let Some(reason) = broken {
                return Ok(ChainReport {
                    ok: false,
                    entries: checked,
                    head: prev,
                    first_broken: Some(BrokenLink {
                        seq: expected_seq,
                        reason,
                    }),
                });
            }
            prev = e.entry_hash;
            expected_seq += 1;
            checked += 1;
        }
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: String = head.try_get("hash")?;
    let first_broken = if head_seq != checked || head_hash != prev {
        Some(BrokenLink {
            seq: checked + 1,
            reason: format!(
                "the chain head says {head_seq} entries ending in {head_hash}, the log has {checked} ending in {prev} (entries removed at the end?)"
            ),
        })
    } else {
        cross_check(pool).await?
    };
    Ok(ChainReport {
        ok: first_broken.is_none(),
        entries: checked,
        head: prev,
        first_broken,
    })
}

/// Check a saved chain anchor (`seq` and the entry hash published at that time) against the
/// log: the entry must still exist, still hash to its contents, and still carry that hash.
/// `Ok(Err(reason))` when the anchor contradicts the log (history was rewritten or cut).
pub async fn check_anchor(
    pool: &AnyPool,
    seq: i64,
    hash: &str,
) -> Result<Result<(), String>, sqlx::Error> {
    let row = sqlx::query(super::dynamic(format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq = $1"
    )))
    .bind(seq)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(Err(format!(
            "entry {seq} of the anchor does not exist in the log (entries removed?)"
        )));
    };
    let e = entry_from_row(&row)?;
    if e.compute_hash() != e.entry_hash {
        return Ok(Err(format!(
            "entry {seq} no longer hashes to its stored entry_hash (altered)"
        )));
    }
    if e.entry_hash != hash {
        return Ok(Err(format!(
            "entry {seq} has hash {}, the anchor says {hash} (history was rewritten)",
            e.entry_hash
        )));
    }
    Ok(Ok(()))
}

/// What the audit entries of one task say its current rows must be.
#[derive(Default)]
struct TaskTrail {
    /// The states the entries allow, with the entry that decided them.
    states: Vec<&'static str>,
    last: i64,
    pool_hash: Option<(i64, String)>,
    result_hash: Option<(i64, String)>,
    recorded: std::collections::HashSet<String>,
    recorded_parts: std::collections::HashSet<String>,
    results_published: bool,
}

/// Cross-checks current state against the audit chain (issue 16, #8): every task's state,
/// `pool_hash`, `seed` and `result_hash`, and every recorded or published finding, against
/// the entries of that task. The first row that disagrees is named, with the entry it
/// contradicts. Run after the chain itself holds (the entries are then trustworthy).
pub async fn cross_check(pool: &AnyPool) -> Result<Option<BrokenLink>, sqlx::Error> {
    let mut trails: BTreeMap<String, TaskTrail> = BTreeMap::new();
    let entries = sqlx::query(
        "SELECT seq, action, object_id, payload_sha256 FROM audit_log \
         WHERE object_type = 'task' ORDER BY seq",
    )
    .fetch_all(pool)
    .await?;
    for r in &entries {
        let seq: i64 = r.try_get("seq")?;
        let action: String = r.try_get("action")?;
        let id: String = r.try_get("object_id")?;
        let payload: String = r.try_get("payload_sha256")?;
        let t = trails.entry(id).or_default();
        let states: Option<Vec<&'static str>> = match action.as_str() {
            "task.create" => Some(vec!["draft"]),
            "task.seal" => {
                t.pool_hash = Some((seq, payload.clone()));
                Some(vec!["sealed"])
            }
            "task.draw" => {
                t.result_hash = Some((seq, payload.clone()));
                Some(vec!["drawn"])
            }
            "task.publish" => Some(vec!["published"]),
            "task.cancel" => Some(vec!["cancelled"]),
            // Publishing the last result closes the task in the same transaction.
            "result.publish" => {
                t.results_published = true;
                Some(if t.states.contains(&"published") {
                    vec!["published", "closed"]
                } else {
                    t.states.clone()
                })
            }
            "result.record" => {
                t.recorded.insert(payload.clone());
                None
            }
            // A department's part (joint fieldwork): checked against result_parts below.
            "result_part.record" => {
                t.recorded_parts.insert(payload.clone());
                None
            }
            _ => None,
        };
        if let Some(s) = states {
            t.states = s;
            t.last = seq;
        }
    }
    let tasks = sqlx::query(
        "SELECT t.id, t.state, t.pool_hash, t.seed, t.result_hash, r.result \
         FROM tasks t LEFT JOIN task_results r ON r.task_id = t.id ORDER BY t.id",
    )
    .fetch_all(pool)
    .await?;
    let empty = TaskTrail::default();
    for r in &tasks {
        let id: String = r.try_get("id")?;
        let state: String = r.try_get("state")?;
        let pool_hash: Option<String> = r.try_get("pool_hash")?;
        let seed: Option<String> = r.try_get("seed")?;
        let result_hash: Option<String> = r.try_get("result_hash")?;
        let result: Option<String> = r.try_get("result")?;
        let t = trails.get(&id).unwrap_or(&empty);
        let broken = |seq: i64, reason: String| {
            Ok(Some(BrokenLink {
                seq,
                reason: format!("tasks row {id}: {reason}"),
            }))
        };
        if t.states.is_empty() {
            return broken(0, "no audit entry created this task".into());
        }
        if !t.states.contains(&state.as_str()) {
            return broken(
                t.last,
                format!(
                    "state is {state}, but its audit entries (last: entry {}) leave it {}",
                    t.last,
                    t.states.join(" or ")
                ),
            );
        }
        let expect = |what: &str, stored: &Option<String>, logged: &Option<(i64, String)>| match (
            stored, logged,
        ) {
            (None, None) => None,
            (Some(s), Some((_, l))) if s == l => None,
            (s, Some((seq, l))) => Some((
                *seq,
                format!(
                    "{what} is {}, entry {seq} recorded {l}",
                    s.as_deref().unwrap_or("empty")
                ),
            )),
            (Some(s), None) => Some((t.last, format!("{what} is {s}, no audit entry set it"))),
        };
        if let Some((seq, reason)) = expect("pool_hash", &pool_hash, &t.pool_hash)
            .or_else(|| expect("result_hash", &result_hash, &t.result_hash))
        {
            return broken(seq, reason);
        }
        // The stored result is the canonical JSON the result hash is taken over; the seed
        // and pool hash must be the ones inside it.
        if let (Some(text), Some((seq, logged))) = (&result, &t.result_hash) {
            let hash = hex::encode(Sha256::digest(text.as_bytes()));
            if &hash != logged {
                return broken(
                    *seq,
                    format!(
                        "the stored draw result hashes to {hash}, entry {seq} recorded {logged}"
                    ),
                );
            }
            let parsed: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            for (col, value) in [("seed", &seed), ("pool_hash", &pool_hash)] {
                let inside = parsed.get(col).and_then(|v| v.as_str());
                if inside != value.as_deref() {
                    return broken(
                        *seq,
                        format!(
                            "{col} is {}, the draw result of entry {seq} holds {}",
                            value.as_deref().unwrap_or("empty"),
                            inside.unwrap_or("nothing")
                        ),
                    );
                }
            }
        }
    }
    let results = sqlx::query(
        "SELECT task_id, institution_id, version, data, correction_reason, published_at \
         FROM inspection_results ORDER BY task_id, institution_id, version",
    )
    .fetch_all(pool)
    .await?;
    for r in &results {
        let task: String = r.try_get("task_id")?;
        let institution: String = r.try_get("institution_id")?;
        let version: i64 = r.try_get("version")?;
        let data: String = r.try_get("data")?;
        let reason: Option<String> = r.try_get("correction_reason")?;
        let published: Option<String> = r.try_get("published_at")?;
        let t = trails.get(&task).unwrap_or(&empty);
        let row = format!("inspection_results row {task}/{institution} version {version}");
        // What `result.record` hashed: the institution and the input with its reason.
        let digest = serde_json::from_str::<crate::domain::result::ResultInput>(&data)
            .ok()
            .map(|mut input| {
                input.correction_reason = reason;
                payload_digest(&(institution.as_str(), &input))
            });
        if !digest.is_some_and(|d| t.recorded.contains(&d)) {
            return Ok(Some(BrokenLink {
                seq: t.last,
                reason: format!(
                    "{row}: its content matches no result.record entry of the task (altered in place?)"
                ),
            }));
        }
        if published.is_some() && !t.results_published {
            return Ok(Some(BrokenLink {
                seq: t.last,
                reason: format!("{row}: published, but no result.publish entry of the task"),
            }));
        }
    }
    if let Some(broken) = cross_check_parts(pool, &trails).await? {
        return Ok(Some(broken));
    }
    cross_check_registries(pool).await
}

/// Each department's result part against the `result_part.record` entries of its task
/// (what they hashed: the institution, the department and the input with its reason).
async fn cross_check_parts(
    pool: &AnyPool,
    trails: &BTreeMap<String, TaskTrail>,
) -> Result<Option<BrokenLink>, sqlx::Error> {
    let empty = TaskTrail::default();
    let parts = sqlx::query(
        "SELECT task_id, institution_id, department, version, data, correction_reason, \
         published_at FROM result_parts ORDER BY task_id, institution_id, department, version",
    )
    .fetch_all(pool)
    .await?;
    for r in &parts {
        let task: String = r.try_get("task_id")?;
        let institution: String = r.try_get("institution_id")?;
        let department: String = r.try_get("department")?;
        let version: i64 = r.try_get("version")?;
        let data: String = r.try_get("data")?;
        let reason: Option<String> = r.try_get("correction_reason")?;
        let published: Option<String> = r.try_get("published_at")?;
        let t = trails.get(&task).unwrap_or(&empty);
        let row = format!("result_parts row {task}/{institution}/{department} version {version}");
        let digest = serde_json::from_str::<crate::domain::result::ResultInput>(&data)
            .ok()
            .map(|mut input| {
                input.correction_reason = reason;
                payload_digest(&(institution.as_str(), department.as_str(), &input))
            });
        if !digest.is_some_and(|d| t.recorded_parts.contains(&d)) {
            return Ok(Some(BrokenLink {
                seq: t.last,
                reason: format!(
                    "{row}: its content matches no result_part.record entry of the task (altered in place?)"
                ),
            }));
        }
        if published.is_some() && !t.results_published {
            return Ok(Some(BrokenLink {
                seq: t.last,
                reason: format!("{row}: published, but no result.publish entry of the task"),
            }));
        }
    }
    Ok(None)
}

/// Each registry row against `record_history` (append-only): the row's version is the
/// latest there and its data is that version's. Where every version of a record was an
/// API write (one `create`/`update` entry each, none from a bulk import, whose one entry
/// covers the file), the latest entry's payload digest must be the digest of the data.
async fn cross_check_registries(pool: &AnyPool) -> Result<Option<BrokenLink>, sqlx::Error> {
    for (table, object) in [
        ("institutions", "institution"),
        ("inspectors", "inspector"),
        ("inspection_items", "inspection_item"),
    ] {
        let rows = sqlx::query(super::dynamic(format!(
            "SELECT id, version, data FROM {table} ORDER BY id"
        )))
        .fetch_all(pool)
        .await?;
        // The latest history version of each record (plain scans: no correlated subquery,
        // which PostgreSQL plans badly on large registries).
        let mut latest: BTreeMap<String, (i64, String)> = BTreeMap::new();
        let history = sqlx::query(
            "SELECT object_id, version, data FROM record_history WHERE object_type = $1 \
             ORDER BY object_id, version",
        )
        .bind(object)
        .fetch_all(pool)
        .await?;
        for h in &history {
            latest.insert(
                h.try_get("object_id")?,
                (h.try_get("version")?, h.try_get("data")?),
            );
        }
        let mut entries: BTreeMap<String, (i64, i64, String)> = BTreeMap::new();
        let log = sqlx::query(
            "SELECT seq, object_id, payload_sha256 FROM audit_log \
             WHERE object_type = $1 AND (action = $2 OR action = $3) ORDER BY seq",
        )
        .bind(object)
        .bind(format!("{object}.create"))
        .bind(format!("{object}.update"))
        .fetch_all(pool)
        .await?;
        for r in &log {
            let e = entries.entry(r.try_get("object_id")?).or_default();
            e.0 = r.try_get("seq")?;
            e.1 += 1;
            e.2 = r.try_get("payload_sha256")?;
        }
        for r in &rows {
            let id: String = r.try_get("id")?;
            let version: i64 = r.try_get("version")?;
            let data: String = r.try_get("data")?;
            let (latest, history) = match latest.get(&id) {
                Some((v, d)) => (Some(*v), Some(d.as_str())),
                None => (None, None),
            };
            let (seq, count, digest) = entries.get(&id).cloned().unwrap_or_default();
            let broken = |reason: String| {
                Ok(Some(BrokenLink {
                    seq,
                    reason: format!("{table} row {id}: {reason}"),
                }))
            };
            if latest != Some(version) {
                return broken(format!(
                    "version {version}, but record_history's latest is {}",
                    latest.map_or("none".into(), |v| v.to_string())
                ));
            }
            let parsed: Option<serde_json::Value> = serde_json::from_str(&data).ok();
            let same = match (
                &parsed,
                history.map(serde_json::from_str::<serde_json::Value>),
            ) {
                (Some(a), Some(Ok(b))) => *a == b,
                _ => false,
            };
            if !same {
                return broken(format!(
                    "data differs from version {version} in record_history (altered in place?)"
                ));
            }
            if count == version && parsed.is_some_and(|v| payload_digest(&v) != digest) {
                return broken(format!(
                    "data does not match the payload digest of entry {seq} (altered in place?)"
                ));
            }
        }
    }
    Ok(None)
}
