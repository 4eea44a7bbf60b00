//! Versioned records of the follow-up (rectifications, referrals, clues, objections,
//! blacklist listings): one row holding the current version as JSON in `data`, and every
//! version appended to `record_history` with its actor as `role:sub`. The row type and
//! the helpers are shared so each store module writes only its own table's columns.

use super::Tx;
use crate::domain::Actor;
use sqlx::Row;

/// A stored record with its row metadata.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub id: String,
    pub version: i64,
    pub data: T,
    pub created_at: String,
    pub updated_at: String,
}

/// The columns [`versioned`] reads.
pub(crate) const COLUMNS: &str = "id, version, data, created_at, updated_at";

pub(crate) fn decode<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(data).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(crate) fn encode<T: serde::Serialize>(v: &T) -> Result<String, sqlx::Error> {
    serde_json::to_string(v).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// Reads a row of [`COLUMNS`].
pub(crate) fn versioned<T: serde::de::DeserializeOwned>(
    r: &sqlx::any::AnyRow,
) -> Result<Versioned<T>, sqlx::Error> {
    let data: String = r.try_get("data")?;
    Ok(Versioned {
        id: r.try_get("id")?,
        version: r.try_get("version")?,
        data: decode(&data)?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Appends one version of a record to `record_history`.
pub(crate) async fn history(
    tx: &mut Tx,
    object_type: &str,
    id: &str,
    version: i64,
    data: &str,
    actor: &Actor,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO record_history (object_type, object_id, version, data, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(object_type)
    .bind(id)
    .bind(version)
    .bind(data)
    .bind(format!("{}:{}", actor.role, actor.sub))
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
