//! Versioned registry records. Each table keeps the current version of a record (the
//! submitted document in `data`, plus the columns filters need); `record_history` keeps
//! every version ever written; the audit log says who wrote it. Updates name the version
//! they replace, so two coordinators editing one record cannot overwrite each other.

use super::audit;
use super::{Tx, new_id};
use crate::domain::Actor;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// A registry document type and how it is stored.
pub trait Record:
    Serialize + DeserializeOwned + Clone + PartialEq + Send + Sync + Unpin + 'static
{
    /// The tolerant, versioned form rows are written and read in
    /// (`domain::stored_registry`), so the API type can change without breaking rows.
    type Stored: Serialize + DeserializeOwned + From<Self> + Into<Self>;
    /// The table holding current versions.
    const TABLE: &'static str;
    /// The object type named in history and audit entries.
    const OBJECT: &'static str;
    /// The indexed columns and their values, besides id/version/data/timestamps.
    fn columns(&self) -> Vec<(&'static str, String)>;
    /// Tags to mirror into `<OBJECT>_tags` for filtering, when the type has them.
    fn tags(&self) -> Option<&[String]> {
        None
    }
}

/// A record as stored: identity, version and the document.
#[derive(Debug, Clone)]
pub struct Stored<T> {
    pub id: String,
    pub version: i64,
    pub data: T,
    pub created_at: String,
    pub updated_at: String,
}

/// A record's stored JSON, written through its stored form.
pub(crate) fn encode<T: Record>(data: &T) -> Result<String, sqlx::Error> {
    serde_json::to_string(&T::Stored::from(data.clone()))
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// A record read back from its stored JSON through its stored form.
pub(crate) fn decode<T: Record>(json: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str::<T::Stored>(json)
        .map(Into::into)
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub fn stored_from_row<T: Record>(row: &AnyRow) -> Result<Stored<T>, sqlx::Error> {
    let data: String = row.try_get("data")?;
    Ok(Stored {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        data: decode(&data)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub const RECORD_COLUMNS: &str = "id, version, data, created_at, updated_at";

pub async fn get<'e, T: Record, E>(exec: E, id: &str) -> Result<Option<Stored<T>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!("SELECT {RECORD_COLUMNS} FROM {} WHERE id = $1", T::TABLE);
    sqlx::query(super::dynamic(sql))
        .bind(id)
        .fetch_optional(exec)
        .await?
        .map(|r| stored_from_row(&r))
        .transpose()
}

async fn write_side_tables<T: Record>(
    tx: &mut Tx,
    actor: &Actor,
    id: &str,
    version: i64,
    data: &T,
    data_json: &str,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO record_history (object_type, object_id, version, data, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(T::OBJECT)
    .bind(id)
    .bind(version)
    .bind(data_json)
    .bind(&actor.sub)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    if let Some(tags) = data.tags() {
        let table = format!("{}_tags", T::OBJECT);
        let fk = format!("{}_id", T::OBJECT);
        sqlx::query(super::dynamic(format!(
            "DELETE FROM {table} WHERE {fk} = $1"
        )))
        .bind(id)
        .execute(&mut **tx)
        .await?;
        for tag in tags {
            sqlx::query(super::dynamic(format!(
                "INSERT INTO {table} ({fk}, tag) VALUES ($1, $2)"
            )))
            .bind(id)
            .bind(tag)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Inserts a new record (version 1) with its history row and audit entry.
pub async fn insert<T: Record>(
    tx: &mut Tx,
    actor: &Actor,
    data: &T,
) -> Result<Stored<T>, sqlx::Error> {
    let id = new_id();
    let at = tx.now();
    let json = encode(data)?;
    let cols = data.columns();
    let names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
    let placeholders: Vec<String> = (0..cols.len()).map(|i| format!("${}", i + 6)).collect();
    let sql = format!(
        "INSERT INTO {} (id, version, data, created_at, updated_at, {}) VALUES ($1, $2, $3, $4, $5, {})",
        T::TABLE,
        names.join(", "),
        placeholders.join(", ")
    );
    let mut q = sqlx::query(super::dynamic(sql))
        .bind(&id)
        .bind(1i64)
        .bind(&json)
        .bind(&at)
        .bind(&at);
    for (_, v) in &cols {
        q = q.bind(v.clone());
    }
    q.execute(&mut **tx).await?;
    write_side_tables(tx, actor, &id, 1, data, &json, &at).await?;
    audit::append(
        tx,
        actor,
        &format!("{}.create", T::OBJECT),
        T::OBJECT,
        &id,
        &audit::payload_digest(data),
    )
    .await?;
    Ok(Stored {
        id,
        version: 1,
        data: json_roundtrip(data)?,
        created_at: at.clone(),
        updated_at: at,
    })
}

fn json_roundtrip<T: Record>(data: &T) -> Result<T, sqlx::Error> {
    serde_json::to_value(data)
        .and_then(serde_json::from_value)
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// What became of an update.
#[derive(Debug)]
pub enum Update<T> {
    Updated(Stored<T>),
    /// The submitted document equals the current one: nothing written.
    Unchanged(Stored<T>),
    NotFound,
    /// The caller's version is not the current one.
    Stale {
        current: i64,
    },
}

/// Replaces a record's document if `expected_version` is still current.
pub async fn update<T: Record>(
    tx: &mut Tx,
    actor: &Actor,
    id: &str,
    expected_version: i64,
    data: &T,
) -> Result<Update<T>, sqlx::Error> {
    let Some(current) = get::<T, _>(&mut **tx, id).await? else {
        return Ok(Update::NotFound);
    };
    if current.version != expected_version {
        return Ok(Update::Stale {
            current: current.version,
        });
    }
    if &current.data == data {
        return Ok(Update::Unchanged(current));
    }
    let at = tx.now();
    let json = encode(data)?;
    let cols = data.columns();
    let sets: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, (n, _))| format!("{n} = ${}", i + 6))
        .collect();
    let sql = format!(
        "UPDATE {} SET version = $1, data = $2, updated_at = $3, {} WHERE id = $4 AND version = $5",
        T::TABLE,
        sets.join(", ")
    );
    let version = expected_version + 1;
    let mut q = sqlx::query(super::dynamic(sql))
        .bind(version)
        .bind(&json)
        .bind(&at)
        .bind(id)
        .bind(expected_version);
    for (_, v) in &cols {
        q = q.bind(v.clone());
    }
    if q.execute(&mut **tx).await?.rows_affected() == 0 {
        // Someone else committed in between (PostgreSQL read committed).
        let current = get::<T, _>(&mut **tx, id).await?.map_or(0, |s| s.version);
        return Ok(Update::Stale { current });
    }
    write_side_tables(tx, actor, id, version, data, &json, &at).await?;
    audit::append(
        tx,
        actor,
        &format!("{}.update", T::OBJECT),
        T::OBJECT,
        id,
        &audit::payload_digest(data),
    )
    .await?;
    Ok(Update::Updated(Stored {
        id: id.to_string(),
        version,
        data: json_roundtrip(data)?,
        created_at: current.created_at,
        updated_at: at,
    }))
}

/// One version of a record as it was written (the API shows it through its own view type).
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub version: i64,
    /// Subject of the token that wrote this version.
    pub actor: String,
    pub at: String,
    /// The document of this version.
    pub data: serde_json::Value,
}

pub async fn history(
    pool: &AnyPool,
    object: &str,
    id: &str,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT version, actor, at, data FROM record_history \
         WHERE object_type = $1 AND object_id = $2 ORDER BY version",
    )
    .bind(object)
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let data: String = r.try_get("data")?;
            Ok(HistoryEntry {
                version: r.try_get("version")?,
                actor: r.try_get("actor")?,
                at: r.try_get("at")?,
                data: serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::registry::InstitutionInput;
    use crate::store::Store;

    fn institution() -> InstitutionInput {
        serde_json::from_value(serde_json::json!({
            "credit_code": "911506000000000024",
            "name": "乌兰镇卫生院",
            "kind": "designated_hospital",
            "level": "primary",
            "ownership": "public",
            "region": "150621",
            "address": "乌兰镇",
            "risk_grade": "B",
            "status": "suspended",
            "tags": ["医共体"],
        }))
        .unwrap()
    }

    #[test]
    fn the_stored_form_writes_what_the_input_type_wrote() {
        // Same bytes as before the stored form existed: the audit chain's payload digests
        // and record_history stay valid for rows written from now on.
        let i = institution();
        assert_eq!(encode(&i).unwrap(), serde_json::to_string(&i).unwrap());
    }

    #[tokio::test]
    async fn rows_in_the_current_and_in_an_older_stored_shape_both_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/suiji.db?mode=rwc", dir.path().display());
        let store = Store::open(&url).await.unwrap();
        let actor = Actor {
            sub: "admin".into(),
            role: "admin".into(),
        };
        let mut tx = store.begin().await.unwrap();
        let current = insert(&mut tx, &actor, &institution()).await.unwrap();
        let current_id = current.id.clone();
        let mut second = institution();
        second.credit_code = crate::domain::CreditCode::parse("91350100M000100Y43").unwrap();
        let older_id = insert(&mut tx, &actor, &second).await.unwrap().id;
        // A row written before `address`, `status` and `tags` existed, by a version that
        // also kept a field this one no longer knows.
        sqlx::query("UPDATE institutions SET data = $1 WHERE id = $2")
            .bind(
                r#"{"credit_code":"91350100M000100Y43","name":"甲药店","kind":"retail_pharmacy","level":"none","ownership":"private","region":"150621","risk_grade":"C","legacy_grade":"乙"}"#,
            )
            .bind(&older_id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let read = store
            .record::<InstitutionInput>(&current_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.data, current.data);
        let old = store
            .record::<InstitutionInput>(&older_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old.data.name, "甲药店");
        assert_eq!(old.data.address, "");
        assert_eq!(
            old.data.status,
            crate::domain::registry::InstitutionStatus::Active
        );
        assert!(old.data.tags.is_empty());
        // The API input type itself refuses that document (unknown field): only the
        // stored form reads it.
        assert!(
            serde_json::from_str::<InstitutionInput>(
                r#"{"credit_code":"91350100M000100Y43","name":"甲药店","kind":"retail_pharmacy","level":"none","ownership":"private","region":"150621","risk_grade":"C","legacy_grade":"乙"}"#
            )
            .is_err()
        );
        store.close().await;
    }
}
