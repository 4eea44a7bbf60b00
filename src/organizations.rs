//! Managing organizations (admin): create, update, import a tree. Each write checks the
//! rules that need the registry (the department exists, the parent one level above in the
//! same department and containing the region, the children still valid after an update),
//! and goes through the versioned records (history and audit entry).

use crate::auth::Principal;
use crate::bulk::source::{Format, SourceError, Table, detect_encoding};
use crate::domain::organization::{OrgLevel, OrganizationInput, check_code};
use crate::error::{FieldError, RowError};
use crate::store::organizations as store;
use crate::store::records::{self, Stored};
use crate::store::{Store, Tx, registry};
use crate::tasks::{TaskError, TaskResult};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// The checks against the registry: department, code not a department's (the departments'
/// codes name their default organizations), parent.
async fn check_references(tx: &mut Tx, input: &OrganizationInput) -> TaskResult<Vec<FieldError>> {
    let mut errors = Vec::new();
    if !registry::department_exists(&mut **tx, input.department.as_str()).await? {
        errors.push(FieldError::new(
            "department",
            format!("no department {}", input.department),
        ));
    }
    if registry::department_exists(&mut **tx, &input.code).await? {
        errors.push(FieldError::new(
            "code",
            format!(
                "{} is the code of department {0}'s default organization",
                input.code
            ),
        ));
    }
    if let Some(p) = &input.parent {
        match store::by_code(&mut **tx, p).await? {
            None => errors.push(FieldError::new("parent", format!("no organization {p}"))),
            Some(parent) => errors.extend(input.check_parent(&parent.data)),
        }
    }
    Ok(errors)
}

/// Registers an organization (admin).
pub async fn create(
    db: &Store,
    who: &Principal,
    input: &OrganizationInput,
) -> TaskResult<Stored<OrganizationInput>> {
    who.require_admin()
        .map_err(|e| TaskError::Forbidden(e.to_string()))?;
    TaskError::check(input.validate())?;
    let mut tx = db.begin().await?;
    if store::by_code(&mut *tx, &input.code).await?.is_some() {
        return Err(TaskError::Conflict(format!(
            "organization {} already exists",
            input.code
        )));
    }
    TaskError::check(check_references(&mut tx, input).await?)?;
    let stored = records::insert(&mut tx, &who.actor(), input).await?;
    tx.commit().await?;
    tracing::info!(code = %input.code, level = %input.level, "organization registered");
    Ok(stored)
}

/// Replaces an organization's fields (admin; `version` is the one the caller read). The
/// code never changes; the departments' default organizations are fixed.
pub async fn update(
    db: &Store,
    who: &Principal,
    code: &str,
    version: i64,
    input: &OrganizationInput,
) -> TaskResult<records::Update<OrganizationInput>> {
    who.require_admin()
        .map_err(|e| TaskError::Forbidden(e.to_string()))?;
    let mut tx = db.begin().await?;
    let Some(current) = store::by_code(&mut *tx, code).await? else {
        return Err(TaskError::NotFound(format!("no organization {code}")));
    };
    if current.data.level == OrgLevel::National {
        return Err(TaskError::Conflict(format!(
            "{code} is the default organization of department {}; it governs everywhere and cannot be changed",
            current.data.department
        )));
    }
    if input.code != code {
        return Err(TaskError::field(
            "code",
            format!("the code of an organization never changes (it is {code})"),
        ));
    }
    TaskError::check(input.validate())?;
    let mut errors = check_references(&mut tx, input).await?;
    for child in store::children(&mut tx, code).await? {
        for e in child.data.check_parent(input) {
            errors.push(FieldError::new(
                format!("children.{}", child.data.code),
                format!("{} would no longer fit: {}", child.data.code, e.reason),
            ));
        }
    }
    TaskError::check(errors)?;
    let outcome = records::update(&mut tx, &who.actor(), &current.id, version, input).await?;
    // Stale or missing: nothing was written, the caller maps the outcome.
    tx.commit().await?;
    Ok(outcome)
}

/// What an import of organizations did.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgImportReport {
    /// Rows read (CSV/XLSX: data rows; JSON: array items).
    pub rows: u64,
    pub inserted: u64,
    /// Rows equal to an organization already registered.
    pub unchanged: u64,
    pub dry_run: bool,
}

/// Why an import wrote nothing.
pub enum OrgImportError {
    Rows(Vec<RowError>),
    Task(TaskError),
}

impl From<TaskError> for OrgImportError {
    fn from(e: TaskError) -> Self {
        OrgImportError::Task(e)
    }
}

impl From<crate::store::StoreError> for OrgImportError {
    fn from(e: crate::store::StoreError) -> Self {
        OrgImportError::Task(e.into())
    }
}

/// One parsed row: its number (as in the file) and the document or its cell errors.
pub type ParsedRow = (u64, Result<OrganizationInput, Vec<RowError>>);

/// Imports a tree of organizations, all or nothing (admin). Rows may come in any order:
/// a parent is looked up in the file first, then in the registry. A row equal to a
/// registered organization is counted unchanged; a different one is an error (update it
/// with `PUT`).
pub async fn import(
    db: &Store,
    who: &Principal,
    rows: Vec<ParsedRow>,
    dry_run: bool,
) -> Result<OrgImportReport, OrgImportError> {
    who.require_admin()
        .map_err(|e| TaskError::Forbidden(e.to_string()))?;
    let mut errors: Vec<RowError> = Vec::new();
    let mut docs: Vec<(u64, OrganizationInput)> = Vec::new();
    let mut first_row: HashMap<String, u64> = HashMap::new();
    for (row, parsed) in rows.iter().cloned() {
        match parsed {
            Err(es) => errors.extend(es),
            Ok(doc) => {
                let field_errors = doc.validate();
                for e in &field_errors {
                    errors.push(row_error(row, &doc, &e.field, &e.reason));
                }
                if let Some(first) = first_row.get(&doc.code) {
                    errors.push(row_error(
                        row,
                        &doc,
                        "code",
                        &format!("duplicate within the file: row {first} has the same code"),
                    ));
                    continue;
                }
                first_row.insert(doc.code.clone(), row);
                if field_errors.is_empty() {
                    docs.push((row, doc));
                }
            }
        }
    }
    let mut tx = db.begin().await?;
    let in_file: HashMap<String, OrganizationInput> = docs
        .iter()
        .map(|(_, d)| (d.code.clone(), d.clone()))
        .collect();
    let mut inserts: Vec<&OrganizationInput> = Vec::new();
    let mut unchanged = 0u64;
    for (row, doc) in &docs {
        if let Some(existing) = store::by_code(&mut *tx, &doc.code).await? {
            if &existing.data == doc {
                unchanged += 1;
            } else {
                errors.push(row_error(
                    *row,
                    doc,
                    "code",
                    &format!(
                        "organization {} is already registered with other fields; change it with PUT /api/v1/organizations/{}",
                        doc.code, doc.code
                    ),
                ));
            }
            continue;
        }
        if !registry::department_exists(&mut *tx, doc.department.as_str()).await? {
            errors.push(row_error(
                *row,
                doc,
                "department",
                &format!("no department {}", doc.department),
            ));
        }
        if registry::department_exists(&mut *tx, &doc.code).await? {
            errors.push(row_error(
                *row,
                doc,
                "code",
                &format!(
                    "{} is the code of a department's default organization",
                    doc.code
                ),
            ));
        }
        if let Some(p) = &doc.parent {
            let parent = match in_file.get(p) {
                Some(d) => Some(d.clone()),
                None => store::by_code(&mut *tx, p).await?.map(|s| s.data),
            };
            match parent {
                None => errors.push(row_error(
                    *row,
                    doc,
                    "parent",
                    &format!("no organization {p} in the file or the registry"),
                )),
                Some(parent) => {
                    for e in doc.check_parent(&parent) {
                        errors.push(row_error(*row, doc, &e.field, &e.reason));
                    }
                }
            }
        }
        inserts.push(doc);
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        tx.rollback().await?;
        return Err(OrgImportError::Rows(errors));
    }
    // Parents before children (a level is written after the one above it).
    inserts.sort_by_key(|d| (d.level, d.code.clone()));
    let report = OrgImportReport {
        rows: rows.len() as u64,
        inserted: inserts.len() as u64,
        unchanged,
        dry_run,
    };
    if dry_run || inserts.is_empty() {
        tx.rollback().await?;
        return Ok(report);
    }
    for doc in inserts {
        records::insert(&mut tx, &who.actor(), doc).await?;
    }
    tx.commit().await?;
    tracing::info!(inserted = report.inserted, "organizations imported");
    Ok(report)
}

fn row_error(row: u64, doc: &OrganizationInput, field: &str, reason: &str) -> RowError {
    let value = match field {
        "code" => doc.code.clone(),
        "name" => doc.name.clone(),
        "level" => doc.level.as_str().to_string(),
        "region_prefix" => doc.region_prefix.clone(),
        "parent" => doc.parent.clone().unwrap_or_default(),
        "department" => doc.department.as_str().to_string(),
        _ => String::new(),
    };
    RowError::new(row, field, value, reason)
}

/// The columns of a CSV/XLSX file of organizations: English names or Chinese titles.
pub const COLUMNS: &[(&str, &str)] = &[
    ("code", "机构代码"),
    ("name", "机构名称"),
    ("level", "级别"),
    ("region_prefix", "区划代码"),
    ("parent", "上级机构"),
    ("department", "所属部门"),
];

impl From<OrgImportError> for crate::error::ApiError {
    fn from(e: OrgImportError) -> Self {
        match e {
            OrgImportError::Rows(rows) => {
                let total = rows.len() as u64;
                crate::error::ApiError::rows(rows, total)
            }
            OrgImportError::Task(e) => e.into(),
        }
    }
}

/// Parses an uploaded file of organizations: a JSON array when `format` is `None`, else
/// a CSV or XLSX table whose `department` column holds codes or Chinese names.
pub async fn parse_upload(
    db: &Store,
    bytes: &[u8],
    format: Option<Format>,
) -> Result<Vec<ParsedRow>, OrgImportError> {
    let Some(format) = format else {
        return parse_json(bytes).map_err(OrgImportError::Rows);
    };
    let departments: HashMap<String, String> = db
        .departments()
        .await
        .map_err(TaskError::from)?
        .into_iter()
        .flat_map(|d| {
            let code = d.data.code.as_str().to_string();
            [(d.data.name_zh, code.clone()), (code.clone(), code)]
        })
        .collect();
    let source_error =
        |e: SourceError| OrgImportError::Rows(vec![RowError::new(e.row, e.column, "", e.reason)]);
    let mut table = match format {
        Format::Csv => {
            let encoding = detect_encoding(bytes);
            Table::csv(Box::new(std::io::Cursor::new(bytes.to_vec())), encoding)
        }
        Format::Xlsx => Table::xlsx(std::io::Cursor::new(bytes.to_vec())).map_err(source_error)?,
    };
    let Some((header, rows)) = table.read_all().map_err(source_error)? else {
        return Err(OrgImportError::Rows(vec![RowError::new(
            1,
            "",
            "",
            "the file is empty: no header row",
        )]));
    };
    parse_table(&header, rows, &departments).map_err(OrgImportError::Rows)
}

/// Parses the rows of a table (the header first) into documents; `departments` maps a
/// Chinese department name or a code to the code.
pub fn parse_table(
    header: &[String],
    rows: Vec<(u64, Vec<String>)>,
    departments: &HashMap<String, String>,
) -> Result<Vec<ParsedRow>, Vec<RowError>> {
    let mut position = Vec::new();
    let mut missing = Vec::new();
    for (name, title) in COLUMNS {
        let p = header
            .iter()
            .position(|h| h.trim() == *name || h.trim() == *title);
        if p.is_none() && *name != "parent" {
            missing.push(RowError::new(
                1,
                *name,
                "",
                format!("the header row has no column {name} ({title})"),
            ));
        }
        position.push(p);
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    let cell = |cells: &[String], i: usize| -> String {
        position[i]
            .and_then(|p| cells.get(p))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    Ok(rows
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(row, cells)| {
            let mut errors = Vec::new();
            let level_text = cell(&cells, 2);
            let level = match level_text.as_str() {
                "省" | "省级" => Ok(OrgLevel::Province),
                "市" | "市级" => Ok(OrgLevel::City),
                "县" | "县级" => Ok(OrgLevel::County),
                other => OrgLevel::parse(other),
            };
            let level = level
                .map_err(|r| errors.push(RowError::new(row, "level", &level_text, r)))
                .ok();
            let dept_text = cell(&cells, 5);
            let department = departments
                .get(&dept_text)
                .ok_or_else(|| format!("no department {dept_text}"))
                .and_then(|c| crate::domain::DepartmentCode::parse(c))
                .map_err(|r| errors.push(RowError::new(row, "department", &dept_text, r)))
                .ok();
            let parent = cell(&cells, 4);
            let doc = match (level, department) {
                (Some(level), Some(department)) if errors.is_empty() => Ok(OrganizationInput {
                    code: cell(&cells, 0),
                    name: cell(&cells, 1),
                    level,
                    region_prefix: cell(&cells, 3),
                    parent: (!parent.is_empty()).then_some(parent),
                    department,
                }),
                _ => Err(errors),
            };
            (row, doc)
        })
        .collect())
}

/// Parses a JSON array of organizations; item `i` is row `i + 1`.
pub fn parse_json(bytes: &[u8]) -> Result<Vec<ParsedRow>, Vec<RowError>> {
    let items: Vec<serde_json::Value> = serde_json::from_slice(bytes).map_err(|e| {
        vec![RowError::new(
            0,
            "",
            "",
            format!("the body must be a JSON array of organizations: {e}"),
        )]
    })?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let row = i as u64 + 1;
            let doc = serde_json::from_value::<OrganizationInput>(v)
                .map_err(|e| vec![RowError::new(row, "", "", e.to_string())]);
            (row, doc)
        })
        .collect())
}

/// Whether a code is well formed (for path parameters).
pub fn check_path_code(code: &str) -> TaskResult<()> {
    check_code(code).map_err(|e| TaskError::field("code", e))
}
