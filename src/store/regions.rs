//! Names of administrative divisions loaded by administrators (the built-in ones live in
//! `domain::regions`). Each change bumps the row's version and keeps the new version in
//! `record_history`, like the calendar years.

use super::{Store, Tx};
use crate::domain::Actor;
use sqlx::Row;

impl Store {
    /// Every stored division name: `(code, name)`, by code.
    pub async fn region_names(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query("SELECT code, name FROM region_names ORDER BY code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("code")?, r.try_get("name")?)))
            .collect()
    }
}

/// Stores a division's name (a new version if it had one) with its history row; returns
/// the version.
pub async fn save_region_name(
    tx: &mut Tx,
    code: &str,
    name: &str,
    actor: &Actor,
) -> Result<i64, sqlx::Error> {
    let at = tx.now();
    let current: Option<i64> = sqlx::query("SELECT version FROM region_names WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get("version"))
        .transpose()?;
    let version = current.unwrap_or(0) + 1;
    let sql = if current.is_some() {
        "UPDATE region_names SET version = $1, name = $2, updated_by = $3, updated_at = $4 WHERE code = $5"
    } else {
        "INSERT INTO region_names (version, name, updated_by, updated_at, code) VALUES ($1, $2, $3, $4, $5)"
    };
    sqlx::query(sql)
        .bind(version)
        .bind(name)
        .bind(&actor.sub)
        .bind(&at)
        .bind(code)
        .execute(&mut **tx)
        .await?;
    let data = serde_json::json!({"code": code, "name": name}).to_string();
    sqlx::query(
        "INSERT INTO record_history (object_type, object_id, version, data, actor, at) \
         VALUES ('region_name', $1, $2, $3, $4, $5)",
    )
    .bind(code)
    .bind(version)
    .bind(data)
    .bind(&actor.sub)
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    Ok(version)
}
