//! Checks made before a pool is opened, so a start-up failure is answered at once with
//! its cause and its path: a pool retries a refused connection until its acquire timeout
//! (30 s of silence, then "pool timed out"), and SQLite says only "unable to open database
//! file".

use super::Backend;
use anyhow::Context;
use std::time::Duration;

/// How long a first PostgreSQL connection may take before start-up gives up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Fails fast, naming the file or server and the reason, when the database cannot be
/// reached. A SQLite file is created only when the URL asks for it (`mode=rwc`).
pub async fn check(url: &str, backend: Backend) -> anyhow::Result<()> {
    match backend {
        Backend::Sqlite => {
            let Some(path) = crate::config::sqlite_path(url) else {
                return Ok(());
            };
            let create = url.contains("mode=rwc");
            if !create && !path.exists() {
                anyhow::bail!(
                    "no database at {} (run the command in the directory that holds it, or set DATABASE_URL)",
                    path.display()
                );
            }
            let mut options = std::fs::OpenOptions::new();
            options.read(true).write(true).create(create);
            options.open(&path).map(drop).map_err(|e| {
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| ".".into(), |p| p.display().to_string());
                anyhow::anyhow!(
                    "cannot open the SQLite database {}: {e} (the directory {dir} must exist and be writable)",
                    path.display()
                )
            })
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let conn = tokio::time::timeout(CONNECT_TIMEOUT, sqlx::AnyConnection::connect(url))
                .await
                .map_err(|_| {
                    anyhow::anyhow!(
                        "connecting to {}: no answer within {} s",
                        super::redact(url),
                        CONNECT_TIMEOUT.as_secs()
                    )
                })?
                .with_context(|| format!("connecting to {}", super::redact(url)))?;
            conn.close().await.ok();
            Ok(())
        }
    }
}
