//! What `/metrics` reads from the database at each scrape.

use sqlx::{AnyPool, Row};

/// The sequence number of the audit chain's head: its length.
pub async fn audit_chain_length(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64, _>("seq")?,
        None => 0,
    })
}
