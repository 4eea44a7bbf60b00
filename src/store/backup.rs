//! Backups of an embedded SQLite database. (PostgreSQL is backed up with its own tools:
//! `pg_dump --format=custom --file FILE "$DATABASE_URL"`, restored with `pg_restore`.)

use super::{Backend, Store};
use anyhow::{Context, bail};
use std::path::Path;

/// Writes a consistent copy of the database to `target` while the service keeps running
/// (`VACUUM INTO`: one read transaction, no lock held against writers for long).
pub async fn sqlite_backup(store: &Store, target: &Path) -> anyhow::Result<()> {
    if store.backend() != Backend::Sqlite {
        bail!(
            "suiji backup copies SQLite databases; for PostgreSQL run: pg_dump --format=custom --file {} \"$DATABASE_URL\"",
            target.display()
        );
    }
    if target.exists() {
        bail!("{} exists already; choose a new file", target.display());
    }
    let path = target
        .to_str()
        .context("the backup path must be valid UTF-8")?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "VACUUM INTO '{}'",
        path.replace('\'', "''")
    )))
    .execute(store.pool())
    .await
    .with_context(|| format!("writing the backup {}", target.display()))?;
    Ok(())
}
