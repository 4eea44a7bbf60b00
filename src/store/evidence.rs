//! Evidence storage: content-addressed bytes (files beside a SQLite database, or rows of
//! `evidence_blobs`) and the references that attach them to a drawn institution's result.
//!
//! The bytes are made durable before their reference is written: a file goes to a
//! temporary name, is fsynced, renamed to `ab/cdef…` and its directory fsynced; a blob row
//! is inserted in the same transaction as the reference. A crash between the file and
//! the reference leaves an unreferenced file, never a reference without its bytes.

use super::{Store, Tx};
use crate::domain::Actor;
use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One piece of evidence attached to a result.
#[derive(Debug, Clone)]
pub struct EvidenceRow {
    pub task_id: String,
    pub institution_id: String,
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub filename: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

const COLUMNS: &str =
    "task_id, institution_id, sha256, size, media_type, filename, uploaded_by, uploaded_at";

fn from_row(r: &AnyRow) -> Result<EvidenceRow, sqlx::Error> {
    Ok(EvidenceRow {
        task_id: r.try_get("task_id")?,
        institution_id: r.try_get("institution_id")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get("size")?,
        media_type: r.try_get("media_type")?,
        filename: r.try_get("filename")?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: r.try_get("uploaded_at")?,
    })
}

/// `<dir>/ab/cdef…` for a lowercase hex SHA-256.
fn blob_path(dir: &Path, sha256: &str) -> PathBuf {
    dir.join(&sha256[..2]).join(&sha256[2..])
}

/// Writes the bytes as a file named by their digest, atomically and durably (temp file,
/// fsync, rename, fsync of the directory). An existing file of that name holds the same
/// bytes already and is kept.
fn write_file(dir: &Path, sha256: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let target = blob_path(dir, sha256);
    if target.exists() {
        return Ok(());
    }
    let shard = target.parent().expect("a blob path has a parent");
    std::fs::create_dir_all(shard)
        .with_context(|| format!("creating the evidence directory {}", shard.display()))?;
    let tmp = shard.join(format!(".tmp-{}", uuid::Uuid::now_v7().simple()));
    let result = (|| -> anyhow::Result<()> {
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        std::fs::rename(&tmp, &target)
            .with_context(|| format!("renaming to {}", target.display()))?;
        std::fs::File::open(shard)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing the directory {}", shard.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

impl Store {
    /// Makes the bytes durable outside a transaction when they are kept as files (before
    /// the reference is written); a no-op when they are kept in the database.
    pub async fn put_evidence_file(
        &self,
        sha256: &str,
        bytes: axum::body::Bytes,
    ) -> anyhow::Result<()> {
        let Some(dir) = self.evidence_dir().map(Path::to_path_buf) else {
            return Ok(());
        };
        let sha = sha256.to_owned();
        tokio::task::spawn_blocking(move || write_file(&dir, &sha, &bytes))
            .await
            .context("the evidence writer stopped")?
    }

    /// Reads the bytes of a piece of evidence.
    pub async fn evidence_bytes(&self, sha256: &str) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(dir) = self.evidence_dir() {
            let path = blob_path(dir, sha256);
            return match tokio::fs::read(&path).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
            };
        }
        let row = sqlx::query("SELECT data FROM evidence_blobs WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get::<Vec<u8>, _>("data")).transpose()?)
    }
}

/// Inserts the bytes as a blob row when they are kept in the database (no-op for files
/// or when the same content is stored already).
pub async fn put_blob(
    tx: &mut Tx,
    in_database: bool,
    sha256: &str,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    if !in_database {
        return Ok(());
    }
    let exists = sqlx::query("SELECT 1 AS one FROM evidence_blobs WHERE sha256 = $1")
        .bind(sha256)
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    if !exists {
        sqlx::query("INSERT INTO evidence_blobs (sha256, size, data) VALUES ($1, $2, $3)")
            .bind(sha256)
            .bind(bytes.len() as i64)
            .bind(bytes.to_vec())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The reference for this result and content, if any.
pub async fn find<'e, E>(
    exec: E,
    task_id: &str,
    institution_id: &str,
    sha256: &str,
) -> Result<Option<EvidenceRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM evidence WHERE task_id = $1 AND institution_id = $2 AND sha256 = $3"
    )))
    .bind(task_id)
    .bind(institution_id)
    .bind(sha256)
    .fetch_optional(exec)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Attaches content to a result.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut Tx,
    task_id: &str,
    institution_id: &str,
    sha256: &str,
    size: i64,
    media_type: &str,
    filename: &str,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO evidence (task_id, institution_id, sha256, size, media_type, filename, \
         uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(task_id)
    .bind(institution_id)
    .bind(sha256)
    .bind(size)
    .bind(media_type)
    .bind(filename)
    .bind(&actor.sub)
    .bind(tx.now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every piece of evidence of a task (of one institution when given), oldest first.
pub async fn list<'e, E>(
    exec: E,
    task_id: &str,
    institution_id: Option<&str>,
) -> Result<Vec<EvidenceRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = match institution_id {
        Some(_) => format!(
            "SELECT {COLUMNS} FROM evidence WHERE task_id = $1 AND institution_id = $2 \
             ORDER BY uploaded_at, sha256"
        ),
        None => format!(
            "SELECT {COLUMNS} FROM evidence WHERE task_id = $1 \
             ORDER BY institution_id, uploaded_at, sha256"
        ),
    };
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(task_id);
    if let Some(i) = institution_id {
        q = q.bind(i);
    }
    q.fetch_all(exec).await?.iter().map(from_row).collect()
}
