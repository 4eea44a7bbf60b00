//! Tasks and everything a draw keeps: entropy commitments and reveals, the sealed
//! snapshot, the result, replacements. State changes are conditional updates
//! (`… WHERE state = $expected`), so two concurrent calls can never both move a task.

use super::records::stored_from_row;
use super::{Param, QueryBuilder, Tx, dynamic};
use crate::domain::Actor;
use crate::domain::registry::InspectorInput;
use crate::domain::stored::StoredTaskConfig;
use crate::domain::task::{TaskInput, TaskState};
use crate::draw::{CanonicalJson, DrawResult, Replacement, Snapshot};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// A task as stored.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: String,
    pub version: i64,
    pub state: TaskState,
    pub config: TaskInput,
    pub pool_hash: Option<String>,
    pub seed: Option<String>,
    pub result_hash: Option<String>,
    pub draw_key: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub sealed_at: Option<String>,
    pub drawn_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub published_at: Option<String>,
    pub closed_at: Option<String>,
}

impl TaskRow {
    /// How the task's institutions were chosen (issue 14): random (drawn) or targeted.
    pub fn mode(&self) -> crate::domain::targeted::TaskMode {
        self.config.mode()
    }

    /// Whether the institutions were drawn at random: only such tasks are draws for plan
    /// progress and yearly frequency caps; targeted tasks (定向) are exempt.
    pub fn is_random(&self) -> bool {
        self.config.is_random()
    }
}

const TASK_COLUMNS: &str = "id, version, state, config, pool_hash, seed, result_hash, draw_key, \
    cancel_reason, created_by, created_at, updated_at, sealed_at, drawn_at, cancelled_at, \
    published_at, closed_at";

fn decode<E: std::error::Error + Send + Sync + 'static>(e: E) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn task_from_row(r: &AnyRow) -> Result<TaskRow, sqlx::Error> {
    let state: String = r.try_get("state")?;
    let config: String = r.try_get("config")?;
    Ok(TaskRow {
        id: r.try_get("id")?,
        version: r.try_get("version")?,
        state: TaskState::parse(&state).map_err(|e| sqlx::Error::Decode(e.into()))?,
        config: StoredTaskConfig::from_json(&config).map_err(decode)?.into(),
        pool_hash: r.try_get("pool_hash")?,
        seed: r.try_get("seed")?,
        result_hash: r.try_get("result_hash")?,
        draw_key: r.try_get("draw_key")?,
        cancel_reason: r.try_get("cancel_reason")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        sealed_at: r.try_get("sealed_at")?,
        drawn_at: r.try_get("drawn_at")?,
        cancelled_at: r.try_get("cancelled_at")?,
        published_at: r.try_get("published_at")?,
        closed_at: r.try_get("closed_at")?,
    })
}

/// Stores a new draft task with one entropy row per planned source.
pub async fn insert(
    tx: &mut Tx,
    actor: &Actor,
    config: &TaskInput,
) -> Result<TaskRow, sqlx::Error> {
    let id = super::new_id();
    let at = tx.now();
    let json = serde_json::to_string(&StoredTaskConfig::from(config))
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO tasks (id, version, state, year, lead_department, config, created_by, \
         created_at, updated_at) VALUES ($1, 1, 'draft', $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(config.year as i64)
    .bind(config.lead_department.as_str())
    .bind(&json)
    .bind(&actor.sub)
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    for d in &config.departments {
        sqlx::query("INSERT INTO task_departments (task_id, department) VALUES ($1, $2)")
            .bind(&id)
            .bind(d.code.as_str())
            .execute(&mut **tx)
            .await?;
    }
    for p in &config.entropy_plan {
        sqlx::query("INSERT INTO task_entropy (task_id, source, note) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(&p.source)
            .bind(p.note.clone())
            .execute(&mut **tx)
            .await?;
    }
    get(&mut **tx, &id)
        .await?
        .ok_or_else(|| sqlx::Error::RowNotFound)
}

pub async fn get<'e, E>(exec: E, id: &str) -> Result<Option<TaskRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(dynamic(format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?
    .map(|r| task_from_row(&r))
    .transpose()
}

/// Reads a task inside a write transaction after taking its row lock (a no-op update
/// locks the row on PostgreSQL; SQLite's write transaction is already exclusive), so
/// the decisions made on what is read hold until commit.
pub async fn lock(tx: &mut Tx, id: &str) -> Result<Option<TaskRow>, sqlx::Error> {
    sqlx::query("UPDATE tasks SET version = version WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    get(&mut **tx, id).await
}

/// Moves a task from `from` to `to`, bumping its version; false if it was not in `from`.
pub async fn transition(
    tx: &mut Tx,
    id: &str,
    from: TaskState,
    to: TaskState,
) -> Result<bool, sqlx::Error> {
    let at = tx.now();
    let stamp = match to {
        TaskState::Sealed => ", sealed_at = $4",
        TaskState::Drawn => ", drawn_at = $4",
        TaskState::Cancelled => ", cancelled_at = $4",
        TaskState::Published => ", published_at = $4",
        TaskState::Closed => ", closed_at = $4",
        _ => ", updated_at = $4",
    };
    let done = sqlx::query(dynamic(format!(
        "UPDATE tasks SET state = $1, version = version + 1, updated_at = $4{stamp} \
         WHERE id = $2 AND state = $3"
    )))
    .bind(to.as_str())
    .bind(id)
    .bind(from.as_str())
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_cancel_reason(tx: &mut Tx, id: &str, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tasks SET cancel_reason = $1 WHERE id = $2")
        .bind(reason)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub use crate::domain::filter::TaskFilter;

/// A page of tasks in id order after `after`; the next cursor if there is more.
pub async fn list(
    pool: &AnyPool,
    f: &TaskFilter,
    after: Option<String>,
    limit: i64,
) -> Result<(Vec<TaskRow>, Option<String>), sqlx::Error> {
    let mut q = QueryBuilder::new(&format!("SELECT {TASK_COLUMNS} FROM tasks t WHERE 1 = 1"));
    super::filter::push_task_filter(&mut q, f);
    if let Some(a) = after {
        let p = q.text(a);
        q.push(&format!(" AND t.id > {p}"));
    }
    let p = q.bind(Param::Int(limit + 1));
    q.push(&format!(" ORDER BY t.id LIMIT {p}"));
    let mut rows: Vec<TaskRow> = q
        .query()
        .fetch_all(pool)
        .await?
        .iter()
        .map(task_from_row)
        .collect::<Result<_, _>>()?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|t| t.id.clone())
    } else {
        None
    };
    Ok((rows, next))
}

/// One planned source of randomness and how far it got, as stored (the API shows it through
/// its own view type).
#[derive(Debug, Clone)]
pub struct EntropyStatus {
    pub source: String,
    pub note: Option<String>,
    /// `hex(SHA-256(secret))`, posted before sealing (department sources).
    pub commitment: Option<String>,
    pub committed_by: Option<String>,
    pub committed_at: Option<String>,
    /// The revealed value, after sealing.
    pub value: Option<String>,
    pub revealed_by: Option<String>,
    pub revealed_at: Option<String>,
}

pub async fn entropy<'e, E>(exec: E, task_id: &str) -> Result<Vec<EntropyStatus>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT source, note, commitment, committed_by, committed_at, value, revealed_by, \
         revealed_at FROM task_entropy WHERE task_id = $1 ORDER BY source",
    )
    .bind(task_id)
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EntropyStatus {
                source: r.try_get("source")?,
                note: r.try_get("note")?,
                commitment: r.try_get("commitment")?,
                committed_by: r.try_get("committed_by")?,
                committed_at: r.try_get("committed_at")?,
                value: r.try_get("value")?,
                revealed_by: r.try_get("revealed_by")?,
                revealed_at: r.try_get("revealed_at")?,
            })
        })
        .collect()
}

/// Records a commitment if none exists yet for the source; false otherwise.
pub async fn commit(
    tx: &mut Tx,
    task_id: &str,
    source: &str,
    commitment: &str,
    actor: &Actor,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE task_entropy SET commitment = $1, committed_by = $2, committed_at = $3 \
         WHERE task_id = $4 AND source = $5 AND commitment IS NULL",
    )
    .bind(commitment)
    .bind(&actor.sub)
    .bind(tx.now())
    .bind(task_id)
    .bind(source)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a revealed value if none exists yet for the source; false otherwise.
pub async fn reveal(
    tx: &mut Tx,
    task_id: &str,
    source: &str,
    value: &str,
    actor: &Actor,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE task_entropy SET value = $1, revealed_by = $2, revealed_at = $3 \
         WHERE task_id = $4 AND source = $5 AND value IS NULL",
    )
    .bind(value)
    .bind(&actor.sub)
    .bind(tx.now())
    .bind(task_id)
    .bind(source)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Active institutions matching a stratum filter, by id: `(id, region)`.
pub async fn stratum_candidates(
    tx: &mut Tx,
    filter: &crate::store::registry::InstitutionFilter,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let mut q = QueryBuilder::new("SELECT i.id, i.region FROM institutions i WHERE 1 = 1");
    filter.apply(&mut q);
    if crate::store::Backend::of(tx) == crate::store::Backend::Sqlite {
        // SQLite's driver hands every row from its worker thread to the caller on its own
        // (a channel message and a wake-up each): 100,000 rows cost more than the query.
        // One row holding the whole stratum as a JSON array is read in one piece.
        q.sql = format!(
            "SELECT json_group_array(json_array(id, region)) AS members FROM ({})",
            q.sql
        );
        let json: String = q.query().fetch_one(&mut **tx).await?.try_get("members")?;
        let mut members: Vec<(String, String)> =
            serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(e.into()))?;
        members.sort_unstable();
        return Ok(members);
    }
    q.push(" ORDER BY i.id");
    q.query()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("region")?)))
        .collect()
}

/// Active inspectors of a department whose region starts with `region_prefix` (`""`:
/// anywhere), by id, with their declared conflicts.
pub async fn active_inspectors(
    tx: &mut Tx,
    department: &str,
    region_prefix: &str,
) -> Result<Vec<(String, InspectorInput)>, sqlx::Error> {
    let mut q = QueryBuilder::new(
        "SELECT p.id, p.version, p.data, p.created_at, p.updated_at FROM inspectors p \
         WHERE p.status = 'active'",
    );
    let d = q.text(department);
    q.push(&format!(" AND p.department = {d}"));
    if !region_prefix.is_empty() {
        let prefix = crate::domain::filter::RegionPrefix::validated(region_prefix.to_string());
        super::registry::region_prefixes(&mut q, "p.region", &[prefix]);
    }
    q.push(" ORDER BY p.id");
    let rows = q.query().fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|r| {
            let s = stored_from_row::<InspectorInput>(r)?;
            Ok((s.id, s.data))
        })
        .collect()
}

/// Which of `codes` are not active inspection items of any of `departments`.
pub async fn unknown_items(
    tx: &mut Tx,
    departments: &[String],
    codes: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut unknown = Vec::new();
    for code in codes {
        let mut q = QueryBuilder::new("SELECT 1 FROM inspection_items x WHERE x.status = 'active'");
        let p = q.text(code.clone());
        q.push(&format!(" AND x.code = {p}"));
        q.any_of("x.department", departments);
        if q.query().fetch_optional(&mut **tx).await?.is_none() {
            unknown.push(code.clone());
        }
    }
    Ok(unknown)
}

/// Stores the sealed snapshot (canonical JSON) and its hash.
pub async fn store_snapshot(
    tx: &mut Tx,
    task_id: &str,
    canonical: &str,
    pool_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO task_snapshots (task_id, snapshot) VALUES ($1, $2)")
        .bind(task_id)
        .bind(canonical)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE tasks SET pool_hash = $1 WHERE id = $2")
        .bind(pool_hash)
        .bind(task_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn snapshot<'e, E>(exec: E, task_id: &str) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT snapshot FROM task_snapshots WHERE task_id = $1")
        .bind(task_id)
        .fetch_optional(exec)
        .await?
        .map(|r| r.try_get("snapshot"))
        .transpose()
}

/// Stores the draw's result with its seed, hash and the idempotency key of the call.
pub async fn store_result(
    tx: &mut Tx,
    task_id: &str,
    canonical: &str,
    seed: &str,
    result_hash: &str,
    draw_key: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO task_results (task_id, result) VALUES ($1, $2)")
        .bind(task_id)
        .bind(canonical)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE tasks SET seed = $1, result_hash = $2, draw_key = $3 WHERE id = $4")
        .bind(seed)
        .bind(result_hash)
        .bind(draw_key.map(str::to_string))
        .bind(task_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn result<'e, E>(exec: E, task_id: &str) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT result FROM task_results WHERE task_id = $1")
        .bind(task_id)
        .fetch_optional(exec)
        .await?
        .map(|r| r.try_get("result"))
        .transpose()
}

pub async fn replacements<'e, E>(exec: E, task_id: &str) -> Result<Vec<Replacement>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT seq, institution, department, out_inspector, in_inspector, reason \
         FROM task_replacements WHERE task_id = $1 ORDER BY seq",
    )
    .bind(task_id)
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|r| {
            let seq: i64 = r.try_get("seq")?;
            Ok(Replacement {
                seq: seq as u64,
                institution: r.try_get("institution")?,
                department: r.try_get("department")?,
                out: r.try_get("out_inspector")?,
                reason: r.try_get("reason")?,
                r#in: r.try_get("in_inspector")?,
            })
        })
        .collect()
}

pub async fn insert_replacement(
    tx: &mut Tx,
    task_id: &str,
    r: &Replacement,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO task_replacements (task_id, seq, institution, department, out_inspector, \
         in_inspector, reason, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(task_id)
    .bind(r.seq as i64)
    .bind(&r.institution)
    .bind(&r.department)
    .bind(&r.out)
    .bind(&r.r#in)
    .bind(&r.reason)
    .bind(&actor.sub)
    .bind(tx.now())
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE tasks SET version = version + 1, updated_at = $1 WHERE id = $2")
        .bind(tx.now())
        .bind(task_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Everything a draw produced, read back from the store as the draw engine's types.
pub struct DrawRecord {
    pub snapshot: Snapshot,
    pub result: DrawResult,
    pub replacements: Vec<Replacement>,
}

fn stored<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(json)
        .map_err(|e| sqlx::Error::Decode(format!("stored {what} is unreadable: {e}").into()))
}

/// The sealed snapshot of a task, if it was sealed.
pub async fn sealed_snapshot(
    conn: &mut sqlx::AnyConnection,
    task_id: &str,
) -> Result<Option<Snapshot>, sqlx::Error> {
    snapshot(&mut *conn, task_id)
        .await?
        .map(|json| stored(&json, "snapshot"))
        .transpose()
}

/// The draw's result as first made, once the task is drawn (without the snapshot, which
/// a view does not need).
pub async fn drawn_result(
    conn: &mut sqlx::AnyConnection,
    task_id: &str,
) -> Result<Option<DrawResult>, sqlx::Error> {
    result(&mut *conn, task_id)
        .await?
        .map(|json| stored(&json, "result"))
        .transpose()
}

/// The draw's snapshot, result and replacements, once the task is drawn.
pub async fn load_draw(
    conn: &mut sqlx::AnyConnection,
    task_id: &str,
) -> Result<Option<DrawRecord>, sqlx::Error> {
    let Some(result) = result(&mut *conn, task_id).await? else {
        return Ok(None);
    };
    let snapshot = sealed_snapshot(&mut *conn, task_id).await?.ok_or_else(|| {
        sqlx::Error::Decode(format!("task {task_id} has a result but no snapshot").into())
    })?;
    Ok(Some(DrawRecord {
        snapshot,
        result: stored(&result, "result")?,
        replacements: replacements(&mut *conn, task_id).await?,
    }))
}

/// Stores the draw's result in canonical JSON with its seed, hash and the idempotency
/// key of the call; returns the result hash.
pub async fn save_result(
    tx: &mut Tx,
    task_id: &str,
    result: &DrawResult,
    draw_key: Option<&str>,
) -> Result<String, sqlx::Error> {
    let canonical = String::from_utf8(result.canonical_bytes())
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let result_hash = crate::draw::result_hash(result);
    store_result(
        tx,
        task_id,
        &canonical,
        &result.seed,
        &result_hash,
        draw_key,
    )
    .await?;
    Ok(result_hash)
}

/// The kept answer of the draw call that carried `key`.
pub async fn draw_answer(
    conn: &mut sqlx::AnyConnection,
    task_id: &str,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT body FROM draw_answers WHERE task_id = $1 AND draw_key = $2")
        .bind(task_id)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("body"))
        .transpose()
}

/// Keeps `body` as the answer of the draw call that carried `key`, unless an answer is
/// kept already; returns the kept answer.
pub async fn keep_draw_answer(
    tx: &mut Tx,
    task_id: &str,
    key: &str,
    body: &str,
) -> Result<String, sqlx::Error> {
    sqlx::query(
        "INSERT INTO draw_answers (task_id, draw_key, body, kept_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (task_id, draw_key) DO NOTHING",
    )
    .bind(task_id)
    .bind(key)
    .bind(body)
    .bind(tx.now())
    .execute(&mut **tx)
    .await?;
    draw_answer(tx, task_id, key)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

// ---- suiji-draw/2 ----

/// Stores the conflict leaves of a /2 task's sealed pool (JSON array, pool order).
pub async fn store_leaves(tx: &mut Tx, task_id: &str, leaves: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO task_conflict_leaves (task_id, leaves) VALUES ($1, $2)")
        .bind(task_id)
        .bind(leaves)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Everything a /2 draw produced (or, before the draw, what sealing froze).
pub struct DrawRecord2 {
    pub snapshot: crate::draw::v2::Snapshot2,
    pub leaves: Vec<crate::draw::merkle::ConflictLeaf>,
    /// `None` before the draw.
    pub result: Option<crate::draw::v2::Result2>,
    /// Stored replacement records in order (chained when read: see `tasks::chain2`).
    pub replacements: Vec<Replacement>,
    /// The members a tree-form draw disclosed (B.18); `None` otherwise.
    pub tree_members: Option<Vec<crate::draw::tree::MemberProof>>,
}

/// The members a tree-form draw disclosed (B.18), written with the draw.
pub async fn save_tree_members(
    tx: &mut Tx,
    task_id: &str,
    members: &[crate::draw::tree::MemberProof],
) -> Result<(), sqlx::Error> {
    let json = serde_json::to_string(members).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query("INSERT INTO task_tree_members (task_id, members) VALUES ($1, $2)")
        .bind(task_id)
        .bind(json)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The members a tree-form draw disclosed, if the task has any.
pub async fn tree_members(
    conn: &mut sqlx::AnyConnection,
    task_id: &str,
) -> Result<Option<Vec<crate::draw::tree::MemberProof>>, sqlx::Error> {
    let json: Option<String> =
        sqlx::query("SELECT members FROM task_tree_members WHERE task_id = $1")
            .bind(task_id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("members"))
            .transpose()?;
    json.map(|j| stored(&j, "tree members")).transpose()
}

/// The sealed /2 snapshot and its leaves, and the draw once made.
pub async fn load_draw2(
    conn: &mut sqlx::AnyConnection,
    task_id: &str,
) -> Result<Option<DrawRecord2>, sqlx::Error> {
    let Some(snapshot) = snapshot(&mut *conn, task_id).await? else {
        return Ok(None);
    };
    let leaves: Option<String> =
        sqlx::query("SELECT leaves FROM task_conflict_leaves WHERE task_id = $1")
            .bind(task_id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("leaves"))
            .transpose()?;
    let leaves = leaves.ok_or_else(|| {
        sqlx::Error::Decode(
            format!("/2 task {task_id} has a snapshot but no conflict leaves").into(),
        )
    })?;
    let result = result(&mut *conn, task_id)
        .await?
        .map(|json| stored(&json, "result"))
        .transpose()?;
    Ok(Some(DrawRecord2 {
        snapshot: stored(&snapshot, "snapshot")?,
        leaves: stored(&leaves, "conflict leaves")?,
        result,
        replacements: replacements(&mut *conn, task_id).await?,
        tree_members: tree_members(&mut *conn, task_id).await?,
    }))
}

/// Stores a /2 result (canonical JSON) with its seed, hash and idempotency key.
pub async fn save_result2(
    tx: &mut Tx,
    task_id: &str,
    result: &crate::draw::v2::Result2,
    draw_key: Option<&str>,
) -> Result<String, sqlx::Error> {
    let canonical = String::from_utf8(result.canonical_bytes())
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let result_hash = crate::draw::v2::result_hash2(result);
    store_result(
        tx,
        task_id,
        &canonical,
        &result.seed,
        &result_hash,
        draw_key,
    )
    .await?;
    Ok(result_hash)
}

/// A published head of the audit chain.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
    pub action: String,
    pub task_id: String,
    pub at: String,
    /// Whether the task may be named in public: a suiji-draw/2 task is announced at its
    /// seal; a /1 task only once its drawn list is published.
    pub task_public: bool,
}

/// Records the audit chain's head right after a seal, draw or publication.
pub async fn insert_anchor(tx: &mut Tx, a: &Anchor) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_anchors (seq, hash, action, task_id, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(a.seq)
    .bind(&a.hash)
    .bind(&a.action)
    .bind(&a.task_id)
    .bind(&a.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The latest anchors, newest first.
pub async fn anchors<'e, E>(exec: E, limit: i64) -> Result<Vec<Anchor>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT a.seq, a.hash, a.action, a.task_id, a.at, t.state, t.config \
         FROM audit_anchors a JOIN tasks t ON t.id = a.task_id ORDER BY a.seq DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| {
        let state: String = r.try_get("state")?;
        let config: String = r.try_get("config")?;
        let v2 = StoredTaskConfig::from_json(&config)
            .map_err(decode)?
            .protocol
            == Some(crate::domain::task::Protocol::V2);
        Ok(Anchor {
            seq: r.try_get("seq")?,
            hash: r.try_get("hash")?,
            action: r.try_get("action")?,
            task_id: r.try_get("task_id")?,
            at: r.try_get("at")?,
            task_public: v2 || matches!(state.as_str(), "published" | "closed"),
        })
    })
    .collect()
}

/// The audit chain's current head: `(seq, hash)`.
pub async fn audit_head<'e, E>(exec: E) -> Result<(i64, String), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(exec)
        .await?;
    Ok((r.try_get("seq")?, r.try_get("hash")?))
}
