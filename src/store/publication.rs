//! Publication (一公开): loaded calendars, the drawn list, and versioned results.

use super::{QueryBuilder, Tx, dynamic};
use crate::domain::Actor;
use crate::domain::result::ResultInput;
use sqlx::{AnyPool, Row};

/// Every loaded calendar year, as stored JSON.
pub async fn calendar_years(pool: &AnyPool) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query("SELECT year, data FROM calendar_years ORDER BY year")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("year")?, r.try_get("data")?)))
        .collect()
}

/// Stores a year's calendar (a new version if it existed) with its history row.
pub async fn save_calendar_year(
    tx: &mut Tx,
    year: i64,
    data: &str,
    actor: &Actor,
) -> Result<i64, sqlx::Error> {
    let at = tx.now();
    let current: Option<i64> = sqlx::query("SELECT version FROM calendar_years WHERE year = $1")
        .bind(year)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get("version"))
        .transpose()?;
    let version = current.unwrap_or(0) + 1;
    if current.is_some() {
        sqlx::query(
            "UPDATE calendar_years SET version = $1, data = $2, updated_by = $3, updated_at = $4 WHERE year = $5",
        )
        .bind(version)
        .bind(data)
        .bind(&actor.sub)
        .bind(&at)
        .bind(year)
        .execute(&mut **tx)
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO calendar_years (year, version, data, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(year)
        .bind(version)
        .bind(data)
        .bind(&actor.sub)
        .bind(&at)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO record_history (object_type, object_id, version, data, actor, at) \
         VALUES ('calendar_year', $1, $2, $3, $4, $5)",
    )
    .bind(year.to_string())
    .bind(version)
    .bind(data)
    .bind(&actor.sub)
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    Ok(version)
}

/// One drawn institution, as kept for publication.
pub struct SelectionRow {
    pub institution_id: String,
    pub order: i64,
    pub stratum: String,
    pub region: String,
}

pub async fn insert_selections(
    tx: &mut Tx,
    task_id: &str,
    rows: &[SelectionRow],
) -> Result<(), sqlx::Error> {
    let backend = super::Backend::of(tx);
    // Multi-row inserts keep a national draw (tens of thousands of selections) quick;
    // the bulk placeholders avoid SQLite's quadratic lookup of numbered parameters.
    for chunk in rows.chunks(200) {
        let sql = format!(
            "INSERT INTO task_selections (task_id, institution_id, draw_order, stratum, region) VALUES {}",
            super::bulk::values_clause(backend, chunk.len(), 5)
        );
        let mut q = sqlx::query(dynamic(sql));
        for r in chunk {
            q = q
                .bind(task_id.to_string())
                .bind(r.institution_id.clone())
                .bind(r.order)
                .bind(r.stratum.clone())
                .bind(r.region.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

pub async fn is_selected<'e, E>(
    exec: E,
    task_id: &str,
    institution: &str,
) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(
        sqlx::query("SELECT 1 FROM task_selections WHERE task_id = $1 AND institution_id = $2")
            .bind(task_id)
            .bind(institution)
            .fetch_optional(exec)
            .await?
            .is_some(),
    )
}

/// One version of a result.
#[derive(Debug, Clone)]
pub struct ResultRow {
    pub institution_id: String,
    pub version: i64,
    pub data: ResultInput,
    pub correction_reason: Option<String>,
    pub recorded_by: String,
    pub recorded_at: String,
    pub published_at: Option<String>,
}

const RESULT_COLUMNS: &str =
    "institution_id, version, data, correction_reason, recorded_by, recorded_at, published_at";

fn result_from_row(r: &sqlx::any::AnyRow) -> Result<ResultRow, sqlx::Error> {
    let data: String = r.try_get("data")?;
    Ok(ResultRow {
        institution_id: r.try_get("institution_id")?,
        version: r.try_get("version")?,
        data: serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        correction_reason: r.try_get("correction_reason")?,
        recorded_by: r.try_get("recorded_by")?,
        recorded_at: r.try_get("recorded_at")?,
        published_at: r.try_get("published_at")?,
    })
}

/// Every version of every result of a task, by institution and version.
pub async fn results<'e, E>(exec: E, task_id: &str) -> Result<Vec<ResultRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(dynamic(format!(
        "SELECT {RESULT_COLUMNS} FROM inspection_results WHERE task_id = $1 \
         ORDER BY institution_id, version"
    )))
    .bind(task_id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(result_from_row)
    .collect()
}

pub async fn latest_result(
    tx: &mut Tx,
    task_id: &str,
    institution: &str,
) -> Result<Option<ResultRow>, sqlx::Error> {
    sqlx::query(dynamic(format!(
        "SELECT {RESULT_COLUMNS} FROM inspection_results WHERE task_id = $1 AND institution_id = $2 \
         ORDER BY version DESC LIMIT 1"
    )))
    .bind(task_id)
    .bind(institution)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| result_from_row(&r))
    .transpose()
}

pub async fn insert_result(
    tx: &mut Tx,
    task_id: &str,
    institution: &str,
    version: i64,
    data: &ResultInput,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let json =
        serde_json::to_string(&data.content()).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO inspection_results (task_id, institution_id, version, data, correction_reason, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(task_id)
    .bind(institution)
    .bind(version)
    .bind(json)
    .bind(data.correction_reason.clone())
    .bind(&actor.sub)
    .bind(tx.now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Publishes the latest version of each result of the task (or of the listed
/// institutions) that is not published yet; returns how many were published.
pub async fn publish_results(
    tx: &mut Tx,
    task_id: &str,
    institutions: &[String],
) -> Result<u64, sqlx::Error> {
    let mut q = QueryBuilder::new("UPDATE inspection_results SET published_at = ");
    let at = q.text(tx.now());
    q.push(&at);
    let t = q.text(task_id);
    q.push(&format!(
        " WHERE task_id = {t} AND published_at IS NULL AND version = (SELECT MAX(r2.version) \
         FROM inspection_results r2 WHERE r2.task_id = inspection_results.task_id \
         AND r2.institution_id = inspection_results.institution_id)"
    ));
    q.any_of("institution_id", institutions);
    Ok(q.query().execute(&mut **tx).await?.rows_affected())
}

/// How many drawn institutions of the task lack a published latest result.
pub async fn unpublished_count<'e, E>(exec: E, task_id: &str) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT COUNT(*) AS n FROM task_selections s WHERE s.task_id = $1 AND NOT EXISTS ( \
         SELECT 1 FROM inspection_results r WHERE r.task_id = s.task_id \
         AND r.institution_id = s.institution_id AND r.published_at IS NOT NULL \
         AND r.version = (SELECT MAX(r2.version) FROM inspection_results r2 \
                          WHERE r2.task_id = r.task_id AND r2.institution_id = r.institution_id))",
    )
    .bind(task_id)
    .fetch_one(exec)
    .await?
    .try_get("n")
}

/// Names and codes of institutions, for publication.
pub async fn institution_cards(
    pool: &AnyPool,
    ids: &[String],
) -> Result<std::collections::HashMap<String, (String, String, String, String)>, sqlx::Error> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let mut q = QueryBuilder::new(
            "SELECT i.id, i.name, i.credit_code, i.region, i.kind FROM institutions i WHERE 1 = 1",
        );
        q.any_of("i.id", chunk);
        for r in q.query().fetch_all(pool).await? {
            out.insert(
                r.try_get("id")?,
                (
                    r.try_get("name")?,
                    r.try_get("credit_code")?,
                    r.try_get("region")?,
                    r.try_get("kind")?,
                ),
            );
        }
    }
    Ok(out)
}

/// Names and certificate numbers of inspectors, for publication (nothing else of them).
pub async fn inspector_cards(
    pool: &AnyPool,
    ids: &[String],
) -> Result<std::collections::HashMap<String, (String, String)>, sqlx::Error> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let mut q = QueryBuilder::new(
            "SELECT p.id, p.name, p.certificate_no FROM inspectors p WHERE 1 = 1",
        );
        q.any_of("p.id", chunk);
        for r in q.query().fetch_all(pool).await? {
            out.insert(
                r.try_get("id")?,
                (r.try_get("name")?, r.try_get("certificate_no")?),
            );
        }
    }
    Ok(out)
}
