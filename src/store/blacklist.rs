//! The blacklist's rows (issue 15 part 7): one row per listing with its current version;
//! every version in `record_history` (object type `blacklist`).

use super::Tx;
use super::versioned::{COLUMNS, Versioned, decode, encode, history, versioned};
use crate::domain::Actor;
use crate::domain::blacklist::Listing;
use crate::domain::result::ResultInput;
use sqlx::Row;

/// A stored listing with its row metadata.
pub type Entry = Versioned<Listing>;

/// Writes a listing: version 1 inserts, version 2 replaces version 1 (false when another
/// write came first). Appends the version to the record history.
pub async fn save(
    tx: &mut Tx,
    id: &str,
    version: i64,
    l: &Listing,
    actor: &Actor,
) -> Result<bool, sqlx::Error> {
    let data = encode(l)?;
    let at = tx.now();
    let done = if version == 1 {
        sqlx::query(
            "INSERT INTO blacklist_entries (id, version, institution_id, task_id, state, listed_on, \
             until_date, data, created_at, updated_at) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(id)
        .bind(&l.institution_id)
        .bind(&l.task_id)
        .bind(l.state.code())
        .bind(l.listed_on.to_string())
        .bind(l.until.to_string())
        .bind(&data)
        .bind(&at)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    } else {
        sqlx::query(
            "UPDATE blacklist_entries SET version = $1, state = $2, data = $3, updated_at = $4 \
             WHERE id = $5 AND version = $6",
        )
        .bind(version)
        .bind(l.state.code())
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
    history(tx, "blacklist", id, version, &data, actor, &at).await?;
    Ok(true)
}

pub async fn get<'e, E>(exec: E, id: &str) -> Result<Option<Entry>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(super::dynamic(format!(
        "SELECT {COLUMNS} FROM blacklist_entries WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?
    .map(|r| versioned(&r))
    .transpose()
}

/// Listings, newest first; `current_on`: only those listed (not delisted) whose end date
/// is on or after that day (the caller checks the start and the delisting date).
pub async fn list<'e, E>(
    exec: E,
    current_on: Option<&str>,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut q = super::QueryBuilder::new(&format!(
        "SELECT {COLUMNS} FROM blacklist_entries WHERE 1 = 1"
    ));
    if let Some(day) = current_on {
        let p = q.text(day);
        q.push(&format!(" AND state = 'listed' AND until_date >= {p}"));
    }
    let l = q.bind(super::Param::Int(limit));
    q.push(&format!(" ORDER BY created_at DESC, id DESC LIMIT {l}"));
    q.query()
        .fetch_all(exec)
        .await?
        .iter()
        .map(versioned)
        .collect()
}

/// Whether the institution has a listing that is not delisted and ends on or after `day`.
pub async fn open_listing(tx: &mut Tx, institution: &str, day: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 AS x FROM blacklist_entries WHERE institution_id = $1 AND state = 'listed' \
         AND until_date >= $2",
    )
    .bind(institution)
    .bind(day)
    .fetch_optional(&mut **tx)
    .await?
    .is_some())
}

/// Every version of a listing, oldest first: (version, data, actor, at).
pub async fn versions<'e, E>(
    exec: E,
    id: &str,
) -> Result<Vec<(i64, Listing, String, String)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT version, data, actor, at FROM record_history \
         WHERE object_type = 'blacklist' AND object_id = $1 ORDER BY version",
    )
    .bind(id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| {
        let data: String = r.try_get("data")?;
        Ok((
            r.try_get("version")?,
            decode(&data)?,
            r.try_get("actor")?,
            r.try_get("at")?,
        ))
    })
    .collect()
}

/// A published result a listing can rest on.
pub struct PublishedResult {
    pub version: i64,
    pub data: ResultInput,
    pub institution_name: String,
    pub credit_code: String,
    pub region: String,
}

/// The latest published version of an institution's result in a public task, with the
/// institution's registry card; None when there is none.
pub async fn published_result(
    tx: &mut Tx,
    task_id: &str,
    institution: &str,
) -> Result<Option<PublishedResult>, sqlx::Error> {
    let Some(r) = sqlx::query(
        "SELECT r.version, r.data, i.name, i.credit_code, i.region FROM inspection_results r \
         JOIN tasks t ON t.id = r.task_id JOIN institutions i ON i.id = r.institution_id \
         WHERE r.task_id = $1 AND r.institution_id = $2 AND r.published_at IS NOT NULL \
           AND t.state IN ('published', 'closed') \
         ORDER BY r.version DESC LIMIT 1",
    )
    .bind(task_id)
    .bind(institution)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let data: String = r.try_get("data")?;
    Ok(Some(PublishedResult {
        version: r.try_get("version")?,
        data: decode(&data)?,
        institution_name: r.try_get("name")?,
        credit_code: r.try_get("credit_code")?,
        region: r.try_get("region")?,
    }))
}
