//! Objections to published results (异议, issue 15 part 5). Versioned like the clues
//! (each write appends to `record_history`); the filer's token is kept as its SHA-256.

use super::Tx;
use super::versioned::{COLUMNS, Versioned, encode, history, versioned};
use crate::domain::Actor;
use crate::domain::objection::Objection;
use sqlx::Row;

/// Writes an objection: version 1 inserts (with the token's hash and the filing time),
/// later versions replace the row when it still holds `version - 1`.
pub async fn save(
    tx: &mut Tx,
    id: &str,
    version: i64,
    o: &Objection,
    token_sha256: Option<&str>,
    actor: &Actor,
) -> Result<bool, sqlx::Error> {
    let data = encode(o)?;
    let at = tx.now();
    let done = if version == 1 {
        sqlx::query(
            "INSERT INTO objections (id, version, reference, task_id, institution_id, state, \
             due_date, token_sha256, filed_at, data, created_at, updated_at) \
             VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $8, $8)",
        )
        .bind(id)
        .bind(&o.reference)
        .bind(&o.task_id)
        .bind(&o.institution_id)
        .bind(o.state.code())
        .bind(o.due_date.to_string())
        .bind(token_sha256.unwrap_or_default())
        .bind(&at)
        .bind(&data)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    } else {
        sqlx::query(
            "UPDATE objections SET version = $1, state = $2, due_date = $3, data = $4, \
             updated_at = $5 WHERE id = $6 AND version = $7",
        )
        .bind(version)
        .bind(o.state.code())
        .bind(o.due_date.to_string())
        .bind(&data)
        .bind(&at)
        .bind(id)
        .bind(version - 1)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    };
    if done != 1 {
        return Ok(false);
    }
    history(tx, "objection", id, version, &data, actor, &at).await?;
    Ok(true)
}

pub async fn get<'e, E>(exec: E, id: &str) -> Result<Option<Versioned<Objection>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(super::dynamic(format!(
        "SELECT {COLUMNS} FROM objections WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?
    .map(|r| versioned(&r))
    .transpose()
}

/// The SHA-256 (hex) of an objection's token.
pub async fn token_sha256<'e, E>(exec: E, id: &str) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT token_sha256 FROM objections WHERE id = $1")
        .bind(id)
        .fetch_optional(exec)
        .await?
        .map(|r| r.try_get("token_sha256"))
        .transpose()
}

/// Objections, of one task (and institution) when given, in one state when given,
/// oldest first.
pub async fn list<'e, E>(
    exec: E,
    task_id: Option<&str>,
    institution_id: Option<&str>,
    state: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Versioned<Objection>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut q = super::QueryBuilder::new(&format!("SELECT {COLUMNS} FROM objections WHERE 1 = 1"));
    if let Some(t) = task_id {
        let p = q.text(t);
        q.push(&format!(" AND task_id = {p}"));
    }
    if let Some(i) = institution_id {
        let p = q.text(i);
        q.push(&format!(" AND institution_id = {p}"));
    }
    if let Some(s) = state {
        let p = q.text(s);
        q.push(&format!(" AND state = {p}"));
    }
    let l = q.bind(super::Param::Int(limit));
    let o = q.bind(super::Param::Int(offset));
    q.push(&format!(" ORDER BY created_at, id LIMIT {l} OFFSET {o}"));
    q.query()
        .fetch_all(exec)
        .await?
        .iter()
        .map(versioned)
        .collect()
}

/// How many objections were filed since `since` (RFC 3339, as stored), against one
/// result when given.
pub async fn filed_since(
    tx: &mut Tx,
    since: &str,
    result: Option<(&str, &str)>,
) -> Result<i64, sqlx::Error> {
    let row = match result {
        Some((task, inst)) => {
            sqlx::query(
                "SELECT COUNT(*) AS n FROM objections WHERE filed_at >= $1 \
                 AND task_id = $2 AND institution_id = $3",
            )
            .bind(since)
            .bind(task)
            .bind(inst)
            .fetch_one(&mut **tx)
            .await?
        }
        None => {
            sqlx::query("SELECT COUNT(*) AS n FROM objections WHERE filed_at >= $1")
                .bind(since)
                .fetch_one(&mut **tx)
                .await?
        }
    };
    row.try_get("n")
}
