//! Record lists (issue 14): their metadata, their rows (written in batches with multi-row
//! INSERTs, read back as a stream), and which tasks use them.

use super::bulk::values_clause;
use super::{Backend, Tx, dynamic};
use crate::domain::list::ListColumn;
use futures_util::TryStreamExt;
use sqlx::Row;
use std::collections::HashMap;

/// A list's metadata as stored (the salt is read separately, by auditors only).
#[derive(Debug, Clone)]
pub struct ListMeta {
    pub id: String,
    pub name: String,
    pub id_column: String,
    pub columns: Vec<ListColumn>,
    pub row_count: i64,
    pub sha256: String,
    pub file_sha256: String,
    pub format: String,
    pub encoding: Option<String>,
    pub organization: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub deleted_by: Option<String>,
    pub deleted_at: Option<String>,
}

/// One record to write.
pub struct RowIn {
    pub row_no: i64,
    pub member: String,
    pub record_id: String,
    /// The attribute values, a JSON array in the declared column order.
    pub attrs: String,
}

/// One stored record.
#[derive(Debug, Clone)]
pub struct RowOut {
    pub member: String,
    pub row_no: i64,
    pub record_id: String,
    pub attrs: String,
}

const META: &str = "id, name, id_column, columns, row_count, sha256, file_sha256, format, encoding, \
organization, created_by, created_at, deleted_by, deleted_at";

fn meta(row: &sqlx::any::AnyRow) -> Result<ListMeta, sqlx::Error> {
    let columns: String = row.try_get("columns")?;
    Ok(ListMeta {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        id_column: row.try_get("id_column")?,
        columns: serde_json::from_str(&columns).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        row_count: row.try_get("row_count")?,
        sha256: row.try_get("sha256")?,
        file_sha256: row.try_get("file_sha256")?,
        format: row.try_get("format")?,
        encoding: row.try_get("encoding")?,
        organization: row.try_get("organization")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        deleted_by: row.try_get("deleted_by")?,
        deleted_at: row.try_get("deleted_at")?,
    })
}

/// Writes a new list's metadata (its row count and content hash are set by [`finish`]).
pub async fn create(tx: &mut Tx, m: &ListMeta, salt_hex: &str) -> Result<(), sqlx::Error> {
    let columns = serde_json::to_string(&m.columns).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query(dynamic(format!(
        "INSERT INTO record_lists ({META}, salt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, $13)"
    )))
    .bind(&m.id)
    .bind(&m.name)
    .bind(&m.id_column)
    .bind(columns)
    .bind(m.row_count)
    .bind(&m.sha256)
    .bind(&m.file_sha256)
    .bind(&m.format)
    .bind(m.encoding.clone())
    .bind(m.organization.clone())
    .bind(&m.created_by)
    .bind(&m.created_at)
    .bind(salt_hex)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets the row count and content hash once every row is written.
pub async fn finish(tx: &mut Tx, id: &str, rows: i64, sha256: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE record_lists SET row_count = $1, sha256 = $2 WHERE id = $3")
        .bind(rows)
        .bind(sha256)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Rows per multi-row INSERT (5 values each).
pub const BATCH: usize = 2000;

/// Writes a batch of rows; a member already in the list (a duplicate id) is skipped, and
/// returned as `(row_no, row_no of the first occurrence)`.
pub async fn insert_rows(
    tx: &mut Tx,
    backend: Backend,
    list_id: &str,
    rows: &[RowIn],
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let mut duplicates = Vec::new();
    for chunk in rows.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO list_rows (list_id, member, row_no, record_id, attrs) VALUES {} ON CONFLICT (list_id, member) DO NOTHING",
            values_clause(backend, chunk.len(), 5)
        );
        let mut q = sqlx::query(dynamic(sql));
        for r in chunk {
            q = q
                .bind(list_id)
                .bind(&r.member)
                .bind(r.row_no)
                .bind(&r.record_id)
                .bind(&r.attrs);
        }
        let written = q.execute(&mut **tx).await?.rows_affected();
        if written as usize == chunk.len() {
            continue;
        }
        // Which rows lost to an earlier one with the same member (so the same id).
        let members: Vec<&str> = chunk.iter().map(|r| r.member.as_str()).collect();
        let mut first: HashMap<String, i64> = HashMap::new();
        for part in members.chunks(500) {
            let ph: Vec<String> = (0..part.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT member, row_no FROM list_rows WHERE list_id = $1 AND member IN ({})",
                ph.join(", ")
            );
            let mut q = sqlx::query(dynamic(sql)).bind(list_id);
            for m in part {
                q = q.bind(*m);
            }
            for row in q.fetch_all(&mut **tx).await? {
                first.insert(row.try_get("member")?, row.try_get("row_no")?);
            }
        }
        for r in chunk {
            if let Some(&f) = first.get(&r.member)
                && f != r.row_no
            {
                duplicates.push((r.row_no, f));
            }
        }
    }
    Ok(duplicates)
}

/// One list's metadata, deleted or not.
pub async fn get<'e, E>(exec: E, id: &str) -> Result<Option<ListMeta>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(dynamic(format!(
        "SELECT {META} FROM record_lists WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?
    .as_ref()
    .map(meta)
    .transpose()
}

/// Every list not deleted, newest first.
pub async fn all<'e, E>(exec: E) -> Result<Vec<ListMeta>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(dynamic(format!(
        "SELECT {META} FROM record_lists WHERE deleted_at IS NULL ORDER BY created_at DESC, id DESC"
    )))
    .fetch_all(exec)
    .await?
    .iter()
    .map(meta)
    .collect()
}

/// The list's salt (hex), for auditors and the draw.
pub async fn salt<'e, E>(exec: E, id: &str) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT salt FROM record_lists WHERE id = $1")
        .bind(id)
        .fetch_optional(exec)
        .await?
        .map(|r| r.try_get("salt"))
        .transpose()
}

/// The tasks drawing from the list.
pub async fn uses<'e, E>(exec: E, id: &str) -> Result<Vec<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    // Lists derived from it (B.17) keep it too: they are named `list:<id>`.
    sqlx::query(
        "SELECT task_id AS user_id FROM list_uses WHERE list_id = $1 \
         UNION ALL SELECT 'list:' || list_id AS user_id FROM list_sources WHERE source_id = $1 \
         ORDER BY user_id",
    )
    .bind(id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| r.try_get("user_id"))
    .collect()
}

/// Records how a derived list was made (B.17): its kind, its rule (JSON) and its sources.
pub async fn add_derivation(
    tx: &mut Tx,
    list: &str,
    kind: &str,
    rule: &str,
    sources: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO list_derivations (list_id, kind, rule) VALUES ($1, $2, $3)")
        .bind(list)
        .bind(kind)
        .bind(rule)
        .execute(&mut **tx)
        .await?;
    for (i, source) in sources.iter().enumerate() {
        sqlx::query(
            "INSERT INTO list_sources (list_id, source_id, position) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(list)
        .bind(source)
        .bind(i as i64)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// How a derived list was made: `(kind, rule JSON, source list ids in order)`.
pub async fn derivation(
    conn: &mut sqlx::AnyConnection,
    list: &str,
) -> Result<Option<(String, String, Vec<String>)>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT kind, rule FROM list_derivations WHERE list_id = $1")
        .bind(list)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let sources =
        sqlx::query("SELECT source_id FROM list_sources WHERE list_id = $1 ORDER BY position")
            .bind(list)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get("source_id"))
            .collect::<Result<Vec<String>, _>>()?;
    Ok(Some((row.try_get("kind")?, row.try_get("rule")?, sources)))
}

/// Records that `task` draws from `list`.
pub async fn add_use(tx: &mut Tx, list: &str, task: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO list_uses (list_id, task_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(list)
        .bind(task)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes an unused list's rows and marks it deleted (the metadata stays, for the audit
/// log's sake). Returns false when a task uses it meanwhile.
pub async fn delete(tx: &mut Tx, id: &str, by: &str, at: &str) -> Result<bool, sqlx::Error> {
    let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM list_uses WHERE list_id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    if used > 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM list_rows WHERE list_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE record_lists SET deleted_by = $1, deleted_at = $2 WHERE id = $3")
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

/// Every record of a list in member order (bytewise), read as a stream and handed to `each`
/// one by one, so a list of any size is never held in memory.
pub async fn each_row<'e, E>(
    exec: E,
    id: &str,
    mut each: impl FnMut(RowOut) -> Result<(), sqlx::Error>,
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut rows = sqlx::query(
        "SELECT member, row_no, record_id, attrs FROM list_rows WHERE list_id = $1 ORDER BY member",
    )
    .bind(id)
    .fetch(exec);
    while let Some(row) = rows.try_next().await? {
        each(RowOut {
            member: row.try_get("member")?,
            row_no: row.try_get("row_no")?,
            record_id: row.try_get("record_id")?,
            attrs: row.try_get("attrs")?,
        })?;
    }
    Ok(())
}

/// The ids of the given members of a list (for authorized callers only), by member.
pub async fn ids_of(
    conn: &mut sqlx::AnyConnection,
    list_id: &str,
    members: &[String],
) -> Result<HashMap<String, String>, sqlx::Error> {
    let mut out = HashMap::new();
    for part in members.chunks(500) {
        let ph: Vec<String> = (0..part.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT member, record_id FROM list_rows WHERE list_id = $1 AND member IN ({})",
            ph.join(", ")
        );
        let mut q = sqlx::query(dynamic(sql)).bind(list_id);
        for m in part {
            q = q.bind(m.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.insert(row.try_get("member")?, row.try_get("record_id")?);
        }
    }
    Ok(out)
}
