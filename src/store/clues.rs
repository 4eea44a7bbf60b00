//! The clue ledger (举报线索台账, issue 15 part 4). A clue is versioned: each write bumps
//! `version` and appends the version to `record_history`. The columns hold what lists
//! filter on (region, state, due date, task); the rest is the stored JSON in `data`.

use super::Tx;
use super::versioned::{COLUMNS, Versioned, encode, history, versioned};
use crate::domain::Actor;
use crate::domain::clue::Clue;
use sqlx::Row;

/// Writes a clue: version 1 inserts (false if the reference is taken), later versions
/// replace the row when it still holds `version - 1` (false otherwise: a concurrent write
/// won).
pub async fn save(
    tx: &mut Tx,
    id: &str,
    version: i64,
    c: &Clue,
    actor: &Actor,
) -> Result<bool, sqlx::Error> {
    let data = encode(c)?;
    let at = tx.now();
    let assigned = c
        .assigned_region
        .clone()
        .unwrap_or_else(|| c.region_prefix.clone());
    let done = if version == 1 {
        if reference_taken(&mut **tx, &c.reference).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO clues (id, version, reference, region_prefix, assigned_region, state, \
             due_date, task_id, data, created_at, updated_at) \
             VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(id)
        .bind(&c.reference)
        .bind(&c.region_prefix)
        .bind(&assigned)
        .bind(c.state.code())
        .bind(c.due_date.to_string())
        .bind(c.task_id.clone())
        .bind(&data)
        .bind(&at)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    } else {
        sqlx::query(
            "UPDATE clues SET version = $1, assigned_region = $2, state = $3, due_date = $4, \
             task_id = $5, data = $6, updated_at = $7 WHERE id = $8 AND version = $9",
        )
        .bind(version)
        .bind(&assigned)
        .bind(c.state.code())
        .bind(c.due_date.to_string())
        .bind(c.task_id.clone())
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
    history(tx, "clue", id, version, &data, actor, &at).await?;
    Ok(true)
}

async fn reference_taken<'e, E>(exec: E, reference: &str) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(sqlx::query("SELECT id FROM clues WHERE reference = $1")
        .bind(reference)
        .fetch_optional(exec)
        .await?
        .is_some())
}

/// How many clues were received with a reference starting with `prefix` (numbering).
pub async fn count_with_prefix(tx: &mut Tx, prefix: &str) -> Result<i64, sqlx::Error> {
    let upper = super::prefix_upper_bound(prefix);
    sqlx::query("SELECT COUNT(*) AS n FROM clues WHERE reference >= $1 AND reference < $2")
        .bind(prefix)
        .bind(upper)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")
}

pub async fn get<'e, E>(exec: E, id: &str) -> Result<Option<Versioned<Clue>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(super::dynamic(format!(
        "SELECT {COLUMNS} FROM clues WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?
    .map(|r| versioned(&r))
    .transpose()
}

/// What a clue listing asks for.
#[derive(Debug, Default)]
pub struct ClueFilter {
    /// Only clues owned or assigned within this region prefix ("" everywhere).
    pub region_prefix: String,
    /// Stored states.
    pub states: Vec<String>,
    /// Only open clues whose due date is before this day (overdue on it).
    pub open_due_before: Option<chrono::NaiveDate>,
    pub task_id: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Clues, oldest received first (then by id).
pub async fn list<'e, E>(exec: E, f: &ClueFilter) -> Result<Vec<Versioned<Clue>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut q = super::QueryBuilder::new(&format!("SELECT {COLUMNS} FROM clues WHERE 1 = 1"));
    if !f.region_prefix.is_empty() {
        let lo = q.text(f.region_prefix.clone());
        let hi = q.text(super::prefix_upper_bound(&f.region_prefix));
        let lo2 = q.text(f.region_prefix.clone());
        let hi2 = q.text(super::prefix_upper_bound(&f.region_prefix));
        q.push(&format!(
            " AND ((region_prefix >= {lo} AND region_prefix < {hi}) \
             OR (assigned_region >= {lo2} AND assigned_region < {hi2}))"
        ));
    }
    q.any_of("state", &f.states);
    if let Some(d) = f.open_due_before {
        let p = q.text(d.to_string());
        q.push(&format!(
            " AND state IN ('received', 'assigned', 'investigated') AND due_date < {p}"
        ));
    }
    if let Some(t) = &f.task_id {
        let p = q.text(t.clone());
        q.push(&format!(" AND task_id = {p}"));
    }
    let limit = q.bind(super::Param::Int(f.limit));
    let offset = q.bind(super::Param::Int(f.offset));
    q.push(&format!(
        " ORDER BY created_at, id LIMIT {limit} OFFSET {offset}"
    ));
    q.query()
        .fetch_all(exec)
        .await?
        .iter()
        .map(versioned)
        .collect()
}

/// A registered institution as a clue names it: name, credit code, region.
pub struct InstitutionCard {
    pub name: String,
    pub credit_code: String,
    pub region: String,
}

pub async fn institution<'e, E>(exec: E, id: &str) -> Result<Option<InstitutionCard>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT name, credit_code, region FROM institutions WHERE id = $1")
        .bind(id)
        .fetch_optional(exec)
        .await?
        .map(|r| {
            Ok(InstitutionCard {
                name: r.try_get("name")?,
                credit_code: r.try_get("credit_code")?,
                region: r.try_get("region")?,
            })
        })
        .transpose()
}
