//! One import: read every row, validate it, and write it in batches inside a single
//! transaction. The first bad row stops the writing but not the reading, so the caller
//! hears about every bad row; any bad row rolls everything back. Memory stays bounded: a
//! batch of rows and a 16-byte fingerprint per key seen (to find duplicates in the file).

use super::RowError;
use super::schema::{BulkRecord, Context, HeaderMap, column_of, map_header};
use super::source::{Format, SourceError, Table, detect_encoding};
use crate::error::ApiError;
use crate::store::audit::{self, Actor};
use crate::store::bulk::{self as db, Current, MAX_ROWS, Write};
use crate::store::{Store, new_id};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use utoipa::ToSchema;

/// How rows whose key already exists are treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// New records only: a key already registered is a row error.
    #[default]
    Insert,
    /// Insert new keys; replace the fields of existing ones (a new version when changed).
    Upsert,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub mode: Mode,
    pub dry_run: bool,
}

/// At most this many row errors are reported (all are counted).
pub const MAX_REPORTED: usize = 1000;

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    /// `institution` or `inspector`.
    pub object_type: String,
    pub mode: Mode,
    /// True when nothing was written.
    pub dry_run: bool,
    /// `csv` or `xlsx`.
    pub format: String,
    /// `UTF-8` or `GB18030` for CSV files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// SHA-256 of the file as received.
    pub sha256: String,
    /// Data rows read (the header and blank rows not counted).
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Sequence number of the import's audit entry; null when nothing was written.
    pub audit_seq: Option<i64>,
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{count} row error(s); nothing was written")]
    Rows { errors: Vec<RowError>, count: u64 },
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Db(#[from] crate::store::StoreError),
}

/// The file as described in the report.
pub struct FileInfo {
    pub format: &'static str,
    pub encoding: Option<&'static str>,
    pub sha256: String,
}

/// Who imports, and which departments' records they may write (None: any).
pub struct Importer {
    pub actor: Actor,
    pub departments: Option<Vec<String>>,
    /// The region prefix every written record must lie in (`""`: anywhere), and the
    /// organization governing it (named in the refusal).
    pub region_prefix: String,
    pub organization: Option<String>,
}

struct Errors {
    list: Vec<RowError>,
    count: u64,
}

impl Errors {
    fn push(&mut self, e: RowError) {
        self.count += 1;
        if self.list.len() < MAX_REPORTED {
            self.list.push(e);
        }
    }
}

fn fingerprint(key: &str) -> [u8; 16] {
    let d = Sha256::digest(key.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

struct Run<'a, T: BulkRecord> {
    who: &'a Importer,
    backend: crate::store::Backend,
    opts: Options,
    header: HeaderMap,
    key_col: usize,
    errors: Errors,
    forbidden: Option<String>,
    report: ImportReport,
    batch: Vec<(u64, T)>,
}

impl<T: BulkRecord> Run<'_, T> {
    fn cell_error(&mut self, row: u64, cells: &[String], field: &str, reason: String) {
        let c = T::COLUMNS
            .iter()
            .position(|c| c.field == column_of(field))
            .unwrap_or(0);
        let value = self.header.position[c]
            .and_then(|p| cells.get(p))
            .cloned()
            .unwrap_or_default();
        self.errors.push(RowError::new(
            row,
            self.header.title[c].clone(),
            value,
            reason,
        ));
    }

    fn may_write(&mut self, row: u64, department: Option<&str>) {
        if let (Some(allowed), Some(d)) = (&self.who.departments, department)
            && !allowed.iter().any(|a| a == d)
            && self.forbidden.is_none()
        {
            self.forbidden = Some(format!(
                "row {row}: a coordinator of {} cannot import records of department {d}",
                allowed.join(", ")
            ));
        }
    }

    /// Every row (new and, on upsert, the version it replaces) must lie in the importer's
    /// region: the first that does not makes the import a 403, naming the row.
    fn may_write_region(&mut self, row: u64, region: Option<&str>) {
        if let Some(r) = region
            && !r.starts_with(&self.who.region_prefix)
            && self.forbidden.is_none()
        {
            self.forbidden = Some(format!(
                "row {row}: organization {} governs region {}: it cannot import a {} in region {r}",
                self.who.organization.as_deref().unwrap_or("?"),
                self.who.region_prefix,
                T::OBJECT
            ));
        }
    }

    /// Looks the batch up, sorts it into inserts/updates/unchanged, and writes it unless
    /// an error was found (then it only keeps checking).
    async fn flush(&mut self, tx: &mut crate::store::Tx) -> Result<(), ImportError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let keys: Vec<&str> = batch.iter().map(|(_, d)| d.key()).collect();
        let upsert = self.opts.mode == Mode::Upsert;
        let current: HashMap<String, Current<T>> =
            db::current_by_key::<T>(tx, self.backend, T::KEY, &keys, upsert).await?;
        let mut inserts: Vec<(String, T)> = Vec::new();
        let mut updates: Vec<(T, String, i64)> = Vec::new();
        for (row, mut doc) in batch {
            match current.get(doc.key()) {
                None => inserts.push((new_id(), doc)),
                Some(cur) if !upsert => {
                    let key_col = self.key_col;
                    self.errors.push(RowError::new(
                        row,
                        self.header.title[key_col].clone(),
                        doc.key().to_string(),
                        format!(
                            "{} {} is already registered as {} {} (import with mode=upsert to update it)",
                            T::KEY,
                            doc.key(),
                            T::OBJECT,
                            cur.id
                        ),
                    ));
                }
                Some(cur) => {
                    let existing = cur.data.as_ref().expect("upsert loads the data");
                    self.may_write(row, existing.department());
                    self.may_write_region(row, existing.region());
                    doc.keep_from(existing);
                    if &doc == existing {
                        self.report.unchanged += 1;
                    } else {
                        updates.push((doc, cur.id.clone(), cur.version + 1));
                    }
                }
            }
        }
        self.report.inserted += inserts.len() as u64;
        self.report.updated += updates.len() as u64;
        if self.errors.count > 0 || self.forbidden.is_some() || self.opts.dry_run {
            return Ok(());
        }
        let inserts: Vec<Write<'_, T>> = inserts
            .iter()
            .map(|(id, data)| Write {
                id: id.clone(),
                version: 1,
                data,
            })
            .collect();
        let updates: Vec<Write<'_, T>> = updates
            .iter()
            .map(|(d, id, v)| Write {
                id: id.clone(),
                version: *v,
                data: d,
            })
            .collect();
        db::write(tx, self.backend, &self.who.actor, &inserts, &updates).await?;
        Ok(())
    }
}

fn source_error(e: SourceError) -> ImportError {
    ImportError::Rows {
        errors: vec![RowError::new(e.row, e.column, "", e.reason)],
        count: 1,
    }
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Rows { errors, count } => ApiError::rows(errors, count),
            ImportError::Forbidden(reason) => ApiError::Forbidden(reason),
            ImportError::Db(e) => e.into(),
        }
    }
}

/// The table of an uploaded file of `format`, and the file as the report describes it.
pub fn open_upload(bytes: Vec<u8>, format: Format) -> Result<(Table, FileInfo), ImportError> {
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(match format {
        Format::Csv => {
            let encoding = detect_encoding(&bytes);
            (
                Table::csv(Box::new(std::io::Cursor::new(bytes)), encoding),
                FileInfo {
                    format: "csv",
                    encoding: Some(encoding.name()),
                    sha256,
                },
            )
        }
        Format::Xlsx => (
            Table::xlsx(std::io::Cursor::new(bytes)).map_err(source_error)?,
            FileInfo {
                format: "xlsx",
                encoding: None,
                sha256,
            },
        ),
    })
}

/// Imports an uploaded file (CSV in UTF-8 or GB18030, or XLSX) into the registry of `T`,
/// all or nothing, and records the operation in the metrics and the log.
pub async fn import_upload<T: BulkRecord>(
    store: &Store,
    bytes: Vec<u8>,
    format: Format,
    who: &Importer,
    opts: Options,
) -> Result<ImportReport, ImportError> {
    let (mut table, file) = open_upload(bytes, format)?;
    let started = std::time::Instant::now();
    let report = import::<T>(store, &mut table, file, who, opts, |_| {}).await?;
    crate::metrics::observe_operation(
        &format!("import_{}", T::OBJECT),
        started.elapsed(),
        report.rows,
    );
    tracing::info!(
        object = T::OBJECT,
        rows = report.rows,
        inserted = report.inserted,
        updated = report.updated,
        unchanged = report.unchanged,
        dry_run = report.dry_run,
        "registry import"
    );
    Ok(report)
}

/// Imports every row of `table` into the registry of `T`, all or nothing.
/// `progress` is called after each batch with the number of rows read so far.
pub async fn import<T: BulkRecord>(
    store: &Store,
    table: &mut Table,
    file: FileInfo,
    who: &Importer,
    opts: Options,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let mut cells = Vec::new();
    let Some(header_row) = table.next_row(&mut cells).map_err(source_error)? else {
        return Err(ImportError::Rows {
            errors: vec![RowError::new(1, "", "", "the file is empty: no header row")],
            count: 1,
        });
    };
    let header =
        map_header(T::COLUMNS, &cells, header_row).map_err(|errors| ImportError::Rows {
            count: errors.len() as u64,
            errors,
        })?;
    let key_col = T::COLUMNS
        .iter()
        .position(|c| c.field == T::KEY)
        .expect("the key is a column");
    let ctx = Context {
        departments: store
            .departments()
            .await?
            .into_iter()
            .flat_map(|d| {
                let code = d.data.code.as_str().to_string();
                [(d.data.name_zh, code.clone()), (code.clone(), code)]
            })
            .collect(),
    };
    let mut run = Run::<T> {
        who,
        backend: store.backend(),
        opts,
        header,
        key_col,
        errors: Errors {
            list: Vec::new(),
            count: 0,
        },
        forbidden: None,
        report: ImportReport {
            object_type: T::OBJECT.to_string(),
            mode: opts.mode,
            dry_run: opts.dry_run,
            format: file.format.to_string(),
            encoding: file.encoding.map(str::to_string),
            sha256: file.sha256,
            rows: 0,
            inserted: 0,
            updated: 0,
            unchanged: 0,
            audit_seq: None,
        },
        batch: Vec::with_capacity(MAX_ROWS),
    };
    let mut seen: HashMap<[u8; 16], u64> = HashMap::new();
    let mut tx = store.begin().await?;
    let mapped: Vec<usize> = run.header.position.iter().flatten().copied().collect();
    loop {
        let row = match table.next_row(&mut cells) {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => {
                // A file that cannot be read further: report it with what was found so far.
                run.errors
                    .push(RowError::new(e.row, e.column, "", e.reason));
                break;
            }
        };
        run.report.rows += 1;
        let values: Vec<&str> = run
            .header
            .position
            .iter()
            .map(|p| p.and_then(|p| cells.get(p)).map_or("", String::as_str))
            .collect();
        if let Some(extra) = (0..cells.len()).find(|i| !cells[*i].is_empty() && !mapped.contains(i))
        {
            run.errors.push(RowError::new(
                row,
                format!("column {}", extra + 1),
                cells[extra].clone(),
                "cell outside the columns named in the header row",
            ));
            continue;
        }
        match T::from_cells(&values, &ctx) {
            Err(field_errors) => {
                for fe in field_errors {
                    run.cell_error(row, &cells, &fe.field, fe.reason);
                }
            }
            Ok(doc) => {
                run.may_write(row, doc.department());
                run.may_write_region(row, doc.region());
                if let Some(first) = seen.insert(fingerprint(doc.key()), row) {
                    run.errors.push(RowError::new(
                        row,
                        run.header.title[key_col].clone(),
                        doc.key().to_string(),
                        format!(
                            "duplicate within the file: row {first} has the same {}",
                            T::KEY
                        ),
                    ));
                } else {
                    run.batch.push((row, doc));
                }
            }
        }
        if run.batch.len() >= MAX_ROWS {
            run.flush(&mut tx).await?;
            progress(run.report.rows);
        }
    }
    run.flush(&mut tx).await?;
    progress(run.report.rows);
    if run.errors.count > 0 {
        tx.rollback().await?;
        return Err(ImportError::Rows {
            errors: run.errors.list,
            count: run.errors.count,
        });
    }
    if let Some(reason) = run.forbidden {
        tx.rollback().await?;
        return Err(ImportError::Forbidden(reason));
    }
    let mut report = run.report;
    if opts.dry_run || report.inserted + report.updated == 0 {
        tx.rollback().await?;
        return Ok(report);
    }
    let entry = audit::append(
        &mut tx,
        &who.actor,
        &format!("{}.import", T::OBJECT),
        T::OBJECT,
        &format!("import:{}", new_id()),
        &report.sha256,
    )
    .await?;
    tx.commit().await?;
    report.audit_seq = Some(entry.seq);
    Ok(report)
}
