//! A record list as it arrives and as its sample is read back: the declared name and
//! columns checked, the upload spooled to a temporary file (never held in memory) while it
//! is hashed, its format read from its first bytes, opened as a table and uploaded; and the
//! records a sample drew, with their ids. The API's `lists` module only adapts these.

use super::{Declared, FileInfo, UploadError, Uploaded, upload};
use crate::auth::Principal;
use crate::bulk::source::{Format, Table, detect_encoding_streaming, format_of};
use crate::domain::list::parse_columns;
use crate::error::{ApiError, ApiResult, FieldError, RowError};
use crate::store::Store;
use crate::store::lists as db;
use crate::store::tasks::TaskRow;
use axum::body::Body;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::{Seek, Write};
use utoipa::ToSchema;

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::Rows { errors, count } => ApiError::rows(errors, count),
            UploadError::Db(e) => e.into(),
        }
    }
}

/// The list's name (1–200 characters without control characters, trimmed), its id column
/// and its typed columns (`title:type,…`), every refused field named.
pub fn declared(name: &str, id_column: &str, columns: &str) -> ApiResult<Declared> {
    let mut errors = Vec::new();
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "1–200 characters without control characters",
        ));
    }
    let id_column = id_column.trim().to_string();
    let columns = match parse_columns(columns, &id_column) {
        Ok(c) => c,
        Err(reason) if reason.starts_with("id_column: ") => {
            errors.push(FieldError::new("id_column", &reason["id_column: ".len()..]));
            Vec::new()
        }
        Err(reason) => {
            errors.push(FieldError::new("columns", reason));
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    Ok(Declared {
        name,
        id_column,
        columns,
    })
}

/// An upload in a temporary file (removed when dropped) with the hex SHA-256 of its bytes.
pub struct Spool {
    path: std::path::PathBuf,
    file: std::fs::File,
    sha256: String,
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn temp_error(what: &str) -> impl Fn(std::io::Error) -> ApiError + '_ {
    move |e| ApiError::Internal(anyhow::anyhow!("{what} a temporary file: {e}"))
}

/// Streams the body to a temporary file, hashing it (hex SHA-256 of the bytes), and
/// refuses more than `limit` bytes with 413: at once when `declared` (the
/// `Content-Length`) says more, else while reading.
pub async fn spool(limit: u64, declared: Option<u64>, body: Body) -> ApiResult<Spool> {
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the file is larger than the import limit of {limit} bytes (SUIJI_IMPORT_LIMIT)"
        ))
    };
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let path = std::env::temp_dir().join(format!("suiji-list-{}.upload", crate::store::new_id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(temp_error("creating"))?;
    let mut spool = Spool {
        path,
        file,
        sha256: String::new(),
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, &spool.file);
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("could not read the request body: {e}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(too_large());
        }
        hash.update(&chunk);
        out.write_all(&chunk).map_err(temp_error("writing"))?;
    }
    out.flush().map_err(temp_error("writing"))?;
    drop(out);
    spool.file.rewind().map_err(temp_error("reading"))?;
    spool.sha256 = hex::encode(hash.finalize());
    Ok(spool)
}

/// The table of a spooled upload: its format from `content_type` and its first bytes
/// (415 for another), a CSV's encoding read from the file.
fn open(spool: &mut Spool, content_type: Option<&str>) -> ApiResult<(Table, FileInfo)> {
    let sha256 = spool.sha256.clone();
    let mut first = [0u8; 4];
    let n = std::io::Read::read(&mut spool.file, &mut first).unwrap_or(0);
    let format = format_of(content_type, &first[..n]).map_err(ApiError::UnsupportedMediaType)?;
    let io = |e: std::io::Error| ApiError::Internal(anyhow::anyhow!("reading the upload: {e}"));
    spool.file.rewind().map_err(io)?;
    let reader = spool.file.try_clone().map_err(io)?;
    Ok(match format {
        Format::Csv => {
            let encoding = detect_encoding_streaming(&spool.file, |_| {}).map_err(io)?;
            spool.file.rewind().map_err(io)?;
            (
                Table::csv(
                    Box::new(std::io::BufReader::with_capacity(1 << 20, reader)),
                    encoding,
                ),
                FileInfo {
                    format: "csv",
                    encoding: Some(encoding.name()),
                    sha256,
                },
            )
        }
        Format::Xlsx => (
            Table::xlsx(std::io::BufReader::new(reader)).map_err(|e| UploadError::Rows {
                errors: vec![RowError::new(e.row, e.column, "", e.reason)],
                count: 1,
            })?,
            FileInfo {
                format: "xlsx",
                encoding: None,
                sha256,
            },
        ),
    })
}

/// Uploads a spooled file as a new list (all or nothing), then removes the file, and
/// records the operation in the metrics and the log.
pub async fn receive(
    store: &Store,
    mut spool: Spool,
    content_type: Option<&str>,
    declared: Declared,
    who: &Principal,
) -> ApiResult<Uploaded> {
    let (mut table, file) = open(&mut spool, content_type)?;
    let (actor, org) = (who.actor(), who.organization_code());
    let started = std::time::Instant::now();
    let uploaded = upload(store, &mut table, file, declared, &actor, org, |_| {}).await?;
    drop(spool);
    crate::metrics::observe_operation(
        "list_upload",
        started.elapsed(),
        uploaded.list.row_count as u64,
    );
    tracing::info!(list = %uploaded.list.id, rows = uploaded.list.row_count, "list uploaded");
    Ok(uploaded)
}

/// One drawn record with its id (authorized callers only).
#[derive(Debug, Serialize, ToSchema)]
pub struct DrawnRecord {
    pub order: u64,
    pub stratum: String,
    /// `hex(SHA-256(salt || id))`, as in the snapshot and the bundle.
    pub member: String,
    /// The record's id in the list.
    pub id: String,
}

/// How many records a stratum had and how many were drawn (`RecordStratumCount` in the
/// OpenAPI document: `StratumCount` is the announcement's).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RecordStratumCount)]
pub struct StratumCount {
    pub stratum: String,
    /// Records of the list in the stratum.
    pub size: u64,
    pub drawn: u64,
    /// True when the stratum had no more records than its count asked for: every record
    /// was taken (a count above the stratum's size takes all).
    pub took_all: bool,
}

/// The drawn records of a sample over a list, with their ids.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskRecords {
    pub task: String,
    pub list: String,
    pub strata: Vec<StratumCount>,
    pub records: Vec<DrawnRecord>,
}

/// The records a sample over a list drew, with their ids, read from its bundle and the
/// list: not found for a task that is not a sample over a list, wrong state before the
/// draw. Who may read them is the caller's check (`policy::read_task_records`).
pub async fn task_records(store: &Store, task: TaskRow) -> ApiResult<TaskRecords> {
    let id = task.id.clone();
    let Some(list) = task.config.list.clone() else {
        return Err(ApiError::NotFound(format!(
            "task {id} is not a sample over a record list"
        )));
    };
    let Some(bytes) = crate::tasks::bundle2(store, &task, false).await? else {
        return Err(ApiError::WrongState {
            detail: format!("task {id} has not been drawn yet"),
            current: task.state.to_string(),
        });
    };
    let bundle: crate::draw::v2::Bundle2 = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored bundle: {e}")))?;
    let members: Vec<String> = bundle
        .result
        .selections
        .iter()
        .map(|s| s.institution.clone())
        .collect();
    let mut conn = store.read().await?;
    let ids = db::ids_of(&mut conn, &list, &members).await?;
    Ok(TaskRecords {
        task: id,
        list,
        strata: strata(&bundle),
        records: bundle
            .result
            .selections
            .iter()
            .map(|s| DrawnRecord {
                order: s.order,
                stratum: s.stratum.clone(),
                member: s.institution.clone(),
                id: ids.get(&s.institution).cloned().unwrap_or_default(),
            })
            .collect(),
    })
}

/// Each stratum's size and how many it gave.
fn strata(bundle: &crate::draw::v2::Bundle2) -> Vec<StratumCount> {
    bundle
        .snapshot
        .strata
        .iter()
        .enumerate()
        .map(|(si, st)| {
            let drawn = bundle
                .result
                .selections
                .iter()
                .filter(|s| s.stratum == st.id)
                .count() as u64;
            // In tree form (B.18) the snapshot lists no members: the size is committed.
            let size = crate::draw::tree::stratum_members(&bundle.snapshot, si);
            StratumCount {
                stratum: st.id.clone(),
                size,
                drawn,
                took_all: size > 0 && drawn == size,
            }
        })
        .collect()
}
