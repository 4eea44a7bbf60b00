//! Queries over the registries: departments, institutions, inspectors, inspection items.

use super::records::{RECORD_COLUMNS, Record, Stored, stored_from_row};
use super::{Param, QueryBuilder, like_escape, prefix_upper_bound};
use crate::domain::registry::{
    Department, DepartmentInput, InspectorInput, InstitutionInput, ItemInput,
};
use crate::domain::stored_registry;
use sqlx::{AnyPool, Row};

impl Record for InstitutionInput {
    type Stored = stored_registry::StoredInstitution;
    const TABLE: &'static str = "institutions";
    const OBJECT: &'static str = "institution";
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![
            ("credit_code", self.credit_code.as_str().to_string()),
            ("name", self.name.clone()),
            ("kind", self.kind.as_str().to_string()),
            ("level", self.level.as_str().to_string()),
            ("ownership", self.ownership.as_str().to_string()),
            ("region", self.region.as_str().to_string()),
            ("risk_grade", self.risk_grade.as_str().to_string()),
            ("status", self.status.as_str().to_string()),
        ]
    }
    fn tags(&self) -> Option<&[String]> {
        Some(&self.tags)
    }
}

impl Record for InspectorInput {
    type Stored = stored_registry::StoredInspector;
    const TABLE: &'static str = "inspectors";
    const OBJECT: &'static str = "inspector";
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![
            ("department", self.department.as_str().to_string()),
            ("certificate_no", self.certificate_no.clone()),
            ("name", self.name.clone()),
            ("region", self.region.as_str().to_string()),
            ("status", self.status.as_str().to_string()),
        ]
    }
}

impl Record for ItemInput {
    type Stored = stored_registry::StoredItem;
    const TABLE: &'static str = "inspection_items";
    const OBJECT: &'static str = "inspection_item";
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![
            ("department", self.department.as_str().to_string()),
            (
                "institution_kind",
                self.institution_kind.as_str().to_string(),
            ),
            ("code", self.code.clone()),
            ("status", self.status.as_str().to_string()),
        ]
    }
}

/// The id of the inspection item with this code in the department, if any.
pub async fn item_with_code(
    tx: &mut super::Tx,
    department: &str,
    code: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT id FROM inspection_items WHERE department = $1 AND code = $2")
        .bind(department)
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}

// ---- departments ----

pub async fn list_departments(pool: &AnyPool) -> Result<Vec<Department>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT code, name_zh, name_en, created_at FROM departments ORDER BY code")
            .fetch_all(pool)
            .await?;
    rows.iter().map(department_from_row).collect()
}

fn department_from_row(r: &sqlx::any::AnyRow) -> Result<Department, sqlx::Error> {
    let code: String = r.try_get("code")?;
    Ok(Department {
        data: DepartmentInput {
            code: crate::domain::DepartmentCode::parse(&code)
                .map_err(|e| sqlx::Error::Decode(e.into()))?,
            name_zh: r.try_get("name_zh")?,
            name_en: r.try_get("name_en")?,
        },
        created_at: r.try_get("created_at")?,
    })
}

pub async fn department_exists<'e, E>(exec: E, code: &str) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(sqlx::query("SELECT 1 FROM departments WHERE code = $1")
        .bind(code)
        .fetch_optional(exec)
        .await?
        .is_some())
}

pub async fn insert_department(
    tx: &mut super::Tx,
    d: &DepartmentInput,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO departments (code, name_zh, name_en, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(d.code.as_str())
    .bind(&d.name_zh)
    .bind(&d.name_en)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---- lookups by natural key ----

/// The id of the record of table `T` whose `column` equals `value`, if any.
pub async fn id_by<'e, T: Record, E>(
    exec: E,
    column: &str,
    value: &str,
) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!("SELECT id FROM {} WHERE {column} = $1", T::TABLE);
    sqlx::query(super::dynamic(sql))
        .bind(value)
        .fetch_optional(exec)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}

/// Which of `ids` are not institution ids.
pub async fn missing_institutions(
    tx: &mut super::Tx,
    ids: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut missing = Vec::new();
    for id in ids {
        if sqlx::query("SELECT 1 FROM institutions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .is_none()
        {
            missing.push(id.clone());
        }
    }
    Ok(missing)
}

// ---- listings ----

use crate::domain::filter::RegionPrefix;
pub use crate::domain::filter::{InspectorFilter, InstitutionFilter, ItemFilter};

impl InstitutionFilter {
    /// Appends this filter's conditions (`AND …`) for a query over `institutions i`.
    pub(crate) fn apply(&self, q: &mut QueryBuilder) {
        q.any_of("i.kind", &self.kind);
        q.any_of("i.level", &self.level);
        q.any_of("i.ownership", &self.ownership);
        q.any_of("i.risk_grade", &self.risk_grade);
        q.any_of("i.status", &self.status);
        region_prefixes(q, "i.region", &self.region_prefix);
        if !self.tags.is_empty() {
            let ph: Vec<String> = self.tags.iter().map(|t| q.text(t.clone())).collect();
            q.push(&format!(
                " AND EXISTS (SELECT 1 FROM institution_tags t WHERE t.institution_id = i.id AND t.tag IN ({}))",
                ph.join(", ")
            ));
        }
        if let Some(name) = &self.q {
            let p = q.text(format!("%{}%", like_escape(name)));
            q.push(&format!(" AND i.name LIKE {p} ESCAPE '\\'"));
        }
        if let Some(code) = &self.credit_code {
            let p = q.text(code.clone());
            q.push(&format!(" AND i.credit_code = {p}"));
        }
    }
}

pub(crate) fn region_prefixes(q: &mut QueryBuilder, column: &str, prefixes: &[RegionPrefix]) {
    if prefixes.is_empty() {
        return;
    }
    // A whole code is an equality (the (region, id) index then serves keyset paging);
    // a province or city prefix is a range, so both databases still use the index.
    let parts: Vec<String> = prefixes
        .iter()
        .map(|p| {
            let p = p.as_str();
            if p.len() == 6 {
                let v = q.text(p);
                format!("{column} = {v}")
            } else {
                let lo = q.text(p);
                let hi = q.text(prefix_upper_bound(p));
                format!("({column} >= {lo} AND {column} < {hi})")
            }
        })
        .collect();
    q.push(&format!(" AND {}", balanced_or(&parts)));
}

/// `a OR b OR c …` parenthesised as a balanced tree: a flat chain of N terms is an
/// expression N deep, and SQLite refuses one deeper than 1,000 ("Expression tree is too
/// large"); a balanced one is log2(N) deep, whatever the number of values.
pub(crate) fn balanced_or(parts: &[String]) -> String {
    match parts {
        [] => "1 = 0".to_string(),
        [one] => one.clone(),
        _ => {
            let (left, right) = parts.split_at(parts.len() / 2);
            format!("({} OR {})", balanced_or(left), balanced_or(right))
        }
    }
}

/// A page of records in id order, starting after `after`.
pub struct Page {
    pub after: Option<String>,
    pub limit: i64,
}

async fn fetch_page<T: Record>(
    pool: &AnyPool,
    mut q: QueryBuilder,
    alias: &str,
    page: &Page,
) -> Result<(Vec<Stored<T>>, Option<String>), sqlx::Error> {
    if let Some(after) = &page.after {
        let p = q.text(after.clone());
        q.push(&format!(" AND {alias}.id > {p}"));
    }
    let p = q.bind(Param::Int(page.limit + 1));
    q.push(&format!(" ORDER BY {alias}.id LIMIT {p}"));
    let rows = q.query().fetch_all(pool).await?;
    let mut items: Vec<Stored<T>> = rows.iter().map(stored_from_row).collect::<Result<_, _>>()?;
    let next = if items.len() as i64 > page.limit {
        items.truncate(page.limit as usize);
        items.last().map(|s| s.id.clone())
    } else {
        None
    };
    Ok((items, next))
}

fn select_from(table: &str, alias: &str) -> QueryBuilder {
    let cols: Vec<String> = RECORD_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect();
    QueryBuilder::new(&format!(
        "SELECT {} FROM {table} {alias} WHERE 1 = 1",
        cols.join(", ")
    ))
}

pub async fn list_institutions(
    pool: &AnyPool,
    f: &InstitutionFilter,
    page: &Page,
) -> Result<(Vec<Stored<InstitutionInput>>, Option<String>), sqlx::Error> {
    let mut q = select_from("institutions", "i");
    f.apply(&mut q);
    fetch_page(pool, q, "i", page).await
}

pub async fn list_inspectors(
    pool: &AnyPool,
    f: &InspectorFilter,
    page: &Page,
) -> Result<(Vec<Stored<InspectorInput>>, Option<String>), sqlx::Error> {
    let mut q = select_from("inspectors", "p");
    let departments: Vec<&str> = f.department.iter().map(|d| d.as_str()).collect();
    q.any_of("p.department", &departments);
    q.any_of("p.status", &f.status);
    region_prefixes(&mut q, "p.region", &f.region_prefix);
    if let Some(name) = &f.q {
        let p = q.text(format!("%{}%", like_escape(name)));
        q.push(&format!(" AND p.name LIKE {p} ESCAPE '\\'"));
    }
    if let Some(c) = &f.certificate_no {
        let p = q.text(c.clone());
        q.push(&format!(" AND p.certificate_no = {p}"));
    }
    fetch_page(pool, q, "p", page).await
}

pub async fn list_items(
    pool: &AnyPool,
    f: &ItemFilter,
    page: &Page,
) -> Result<(Vec<Stored<ItemInput>>, Option<String>), sqlx::Error> {
    let mut q = select_from("inspection_items", "x");
    let departments: Vec<&str> = f.department.iter().map(|d| d.as_str()).collect();
    q.any_of("x.department", &departments);
    q.any_of("x.institution_kind", &f.institution_kind);
    q.any_of("x.status", &f.status);
    fetch_page(pool, q, "x", page).await
}

#[cfg(test)]
mod tests {
    use super::balanced_or;

    #[test]
    fn a_long_or_chain_is_shallow() {
        let parts: Vec<String> = (0..1000).map(|i| format!("x = {i}")).collect();
        let sql = balanced_or(&parts);
        let (mut depth, mut max) = (0i32, 0i32);
        for c in sql.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            max = max.max(depth);
        }
        assert!(max <= 10, "{max}");
        assert_eq!(sql.matches(" OR ").count(), 999);
        assert_eq!(balanced_or(&parts[..1]), "x = 0");
    }
}
