//! Joint fieldwork: the inspection items of a task by department and institution kind,
//! and each department's own, versioned part of an institution's result.

use super::{QueryBuilder, Tx, dynamic};
use crate::domain::Actor;
use crate::domain::registry::ItemInput;
use crate::domain::result::ResultInput;
use sqlx::Row;

/// An inspection item as a task, a form or the public list reads it.
#[derive(Debug, Clone)]
pub struct ItemCard {
    pub department: String,
    pub institution_kind: String,
    pub code: String,
    pub title: String,
    pub legal_basis: String,
    pub status: String,
}

fn card(r: &sqlx::any::AnyRow) -> Result<ItemCard, sqlx::Error> {
    let data: String = r.try_get("data")?;
    let item: ItemInput =
        serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(ItemCard {
        department: item.department.to_string(),
        institution_kind: item.institution_kind.to_string(),
        code: item.code,
        title: item.title,
        legal_basis: item.legal_basis,
        status: item.status.to_string(),
    })
}

/// The items with one of `codes` in one of `departments`, retired ones too (a task keeps
/// the items it was created with), by department, kind and code. None without codes.
pub async fn task_items<'e, E>(
    exec: E,
    departments: &[String],
    codes: &[String],
) -> Result<Vec<ItemCard>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if codes.is_empty() || departments.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::new("SELECT x.data FROM inspection_items x WHERE 1 = 1");
    q.any_of("x.department", departments);
    q.any_of("x.code", codes);
    q.push(" ORDER BY x.department, x.institution_kind, x.code");
    q.query().fetch_all(exec).await?.iter().map(card).collect()
}

/// Every active item (the published list, 清单之外无检查), by department, kind and code.
pub async fn active_items<'e, E>(exec: E) -> Result<Vec<ItemCard>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT x.data FROM inspection_items x WHERE x.status = 'active' \
         ORDER BY x.department, x.institution_kind, x.code",
    )
    .fetch_all(exec)
    .await?
    .iter()
    .map(card)
    .collect()
}

/// The registered kind of an institution.
pub async fn institution_kind<'e, E>(exec: E, id: &str) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT kind FROM institutions WHERE id = $1")
        .bind(id)
        .fetch_optional(exec)
        .await?
        .map(|r| r.try_get("kind"))
        .transpose()
}

/// One version of one department's part of a result.
#[derive(Debug, Clone)]
pub struct PartRow {
    pub institution_id: String,
    pub department: String,
    pub version: i64,
    pub data: ResultInput,
    pub correction_reason: Option<String>,
    pub recorded_by: String,
    pub recorded_at: String,
    pub published_at: Option<String>,
}

const PART_COLUMNS: &str = "institution_id, department, version, data, correction_reason, \
                            recorded_by, recorded_at, published_at";

fn part_from_row(r: &sqlx::any::AnyRow) -> Result<PartRow, sqlx::Error> {
    let data: String = r.try_get("data")?;
    Ok(PartRow {
        institution_id: r.try_get("institution_id")?,
        department: r.try_get("department")?,
        version: r.try_get("version")?,
        data: serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        correction_reason: r.try_get("correction_reason")?,
        recorded_by: r.try_get("recorded_by")?,
        recorded_at: r.try_get("recorded_at")?,
        published_at: r.try_get("published_at")?,
    })
}

/// Every version of every part of a task (`published_only`: the published versions), by
/// institution, department and version.
pub async fn parts<'e, E>(
    exec: E,
    task_id: &str,
    published_only: bool,
) -> Result<Vec<PartRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let only = if published_only {
        " AND published_at IS NOT NULL"
    } else {
        ""
    };
    sqlx::query(dynamic(format!(
        "SELECT {PART_COLUMNS} FROM result_parts WHERE task_id = $1{only} \
         ORDER BY institution_id, department, version"
    )))
    .bind(task_id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(part_from_row)
    .collect()
}

/// The latest version of each department's part for one institution.
pub async fn latest_parts(
    tx: &mut Tx,
    task_id: &str,
    institution: &str,
) -> Result<Vec<PartRow>, sqlx::Error> {
    let rows = sqlx::query(dynamic(format!(
        "SELECT {PART_COLUMNS} FROM result_parts p WHERE task_id = $1 AND institution_id = $2 \
         AND version = (SELECT MAX(p2.version) FROM result_parts p2 WHERE p2.task_id = p.task_id \
         AND p2.institution_id = p.institution_id AND p2.department = p.department) \
         ORDER BY department"
    )))
    .bind(task_id)
    .bind(institution)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(part_from_row).collect()
}

pub async fn insert_part(
    tx: &mut Tx,
    task_id: &str,
    institution: &str,
    department: &str,
    version: i64,
    data: &ResultInput,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let json =
        serde_json::to_string(&data.content()).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO result_parts (task_id, institution_id, department, version, data, \
         correction_reason, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(task_id)
    .bind(institution)
    .bind(department)
    .bind(version)
    .bind(json)
    .bind(data.correction_reason.clone())
    .bind(&actor.sub)
    .bind(tx.now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Publishes the latest, unpublished part versions of every institution of the task whose
/// latest result is published (or of the listed institutions only): parts are published
/// with the result they make up. Returns how many part versions were published.
pub async fn publish_parts(
    tx: &mut Tx,
    task_id: &str,
    institutions: &[String],
) -> Result<u64, sqlx::Error> {
    let mut q = QueryBuilder::new("UPDATE result_parts SET published_at = ");
    let at = q.text(tx.now());
    q.push(&at);
    let t = q.text(task_id);
    q.push(&format!(
        " WHERE task_id = {t} AND published_at IS NULL AND version = (SELECT MAX(p2.version) \
         FROM result_parts p2 WHERE p2.task_id = result_parts.task_id \
         AND p2.institution_id = result_parts.institution_id \
         AND p2.department = result_parts.department) \
         AND EXISTS (SELECT 1 FROM inspection_results r WHERE r.task_id = result_parts.task_id \
         AND r.institution_id = result_parts.institution_id AND r.published_at IS NOT NULL \
         AND r.version = (SELECT MAX(r2.version) FROM inspection_results r2 \
         WHERE r2.task_id = r.task_id AND r2.institution_id = r.institution_id))"
    ));
    q.any_of("institution_id", institutions);
    Ok(q.query().execute(&mut **tx).await?.rows_affected())
}

/// For each drawn institution of the task without a published latest result, the
/// departments (of `departments`) whose part is missing: (institution, departments).
pub async fn missing_parts<'e, E>(
    exec: E,
    task_id: &str,
    departments: &[String],
) -> Result<Vec<(String, Vec<String>)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT s.institution_id, p.department FROM task_selections s \
         LEFT JOIN result_parts p ON p.task_id = s.task_id AND p.institution_id = s.institution_id \
         WHERE s.task_id = $1 AND NOT EXISTS ( \
           SELECT 1 FROM inspection_results r WHERE r.task_id = s.task_id \
           AND r.institution_id = s.institution_id AND r.published_at IS NOT NULL \
           AND r.version = (SELECT MAX(r2.version) FROM inspection_results r2 \
                            WHERE r2.task_id = r.task_id AND r2.institution_id = r.institution_id)) \
         ORDER BY s.draw_order",
    )
    .bind(task_id)
    .fetch_all(exec)
    .await?;
    let mut present: Vec<(String, Vec<String>)> = Vec::new();
    for r in &rows {
        let inst: String = r.try_get("institution_id")?;
        let dept: Option<String> = r.try_get("department")?;
        if present.last().is_none_or(|(i, _)| *i != inst) {
            present.push((inst, Vec::new()));
        }
        if let (Some(d), Some((_, ds))) = (dept, present.last_mut()) {
            ds.push(d);
        }
    }
    Ok(present
        .into_iter()
        .filter_map(|(inst, have)| {
            let missing: Vec<String> = departments
                .iter()
                .filter(|d| !have.contains(d))
                .cloned()
                .collect();
            (!missing.is_empty()).then_some((inst, missing))
        })
        .collect())
}

impl super::Store {
    /// Every active inspection item (the published list).
    pub async fn active_items(&self) -> Result<Vec<ItemCard>, sqlx::Error> {
        active_items(self.pool()).await
    }
}

impl super::Store {
    /// The published part versions of the listed tasks (for a page of `results.csv`), by
    /// task, institution, department and version.
    pub async fn published_parts_of(
        &self,
        task_ids: &[String],
    ) -> Result<Vec<(String, PartRow)>, sqlx::Error> {
        let mut out = Vec::new();
        for chunk in task_ids.chunks(500) {
            let mut q = QueryBuilder::new(&format!(
                "SELECT task_id, {PART_COLUMNS} FROM result_parts WHERE published_at IS NOT NULL"
            ));
            q.any_of("task_id", chunk);
            q.push(" ORDER BY task_id, institution_id, department, version");
            for r in q.query().fetch_all(self.pool()).await? {
                out.push((r.try_get("task_id")?, part_from_row(&r)?));
            }
        }
        Ok(out)
    }

    /// Every item (any department, any status) with one of `codes` (for titles in a page
    /// of `results.csv`).
    pub async fn items_with_codes(&self, codes: &[String]) -> Result<Vec<ItemCard>, sqlx::Error> {
        let mut out = Vec::new();
        for chunk in codes.chunks(500) {
            let mut q = QueryBuilder::new("SELECT x.data FROM inspection_items x WHERE 1 = 1");
            q.any_of("x.code", chunk);
            for r in q.query().fetch_all(self.pool()).await? {
                out.push(card(&r)?);
            }
        }
        Ok(out)
    }
}

/// Every department's code and Chinese name, inside a write transaction (a result's parts
/// are combined under the names as they are then).
pub async fn department_names(tx: &mut Tx) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query("SELECT code, name_zh FROM departments")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("code")?, r.try_get("name_zh")?)))
        .collect()
}
