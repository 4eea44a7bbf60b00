//! Record lists (issue 14): `POST /api/v1/lists` (CSV in UTF-8 or GB18030, or XLSX; all or
//! nothing, streamed to a temporary file and into the store in batches), `GET /api/v1/lists`,
//! `GET /api/v1/lists/{id}`, `DELETE /api/v1/lists/{id}` (refused once a task uses the list)
//! and `GET /api/v1/lists/{id}/salt` (admins and auditors). Never public: no public route,
//! portal page or public bundle reads a record id.

use super::AppState;
use super::extract::{ApiPath, ApiQuery};
use super::problems::{ImportProblems, ListProblems, ReadOne, StepProblems};
use crate::auth::Principal;
use crate::bulk::source::{Format, Table, detect_encoding_streaming, format_of};
use crate::domain::list::{ListColumn, parse_columns, salt_commitment};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::lists::{self, Declared, DeleteError, FileInfo, UploadError};
use crate::store::lists::{self as db, ListMeta};
use crate::tasks::policy;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Seek, Write};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_list, list_lists))
        .routes(routes!(get_list, delete_list))
        .routes(routes!(list_salt))
        .routes(routes!(top_list))
        .routes(routes!(intersect_lists))
        .routes(routes!(task_records))
}

/// What the upload declares (query parameters; the body is the file).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The list's name, 1–200 characters (e.g. `2025年门诊慢特病患者`).
    #[param(
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f](?:[^\\u0000-\\u001f\\u007f-\\u009f]{0,198}[^\\s\\u0000-\\u001f\\u007f-\\u009f])?$"
    )]
    pub name: String,
    /// The title of the id column in the header row (e.g. `patient_id`); ids are unique.
    #[param(
        pattern = "^[^\\s,:\\u0000-\\u001f\\u007f-\\u009f](?:[^,:\\u0000-\\u001f\\u007f-\\u009f]{0,98}[^\\s,:\\u0000-\\u001f\\u007f-\\u009f])?$"
    )]
    pub id_column: String,
    /// The attribute columns and their types, `title:type,title:type…`; types `text`,
    /// `integer` (e.g. amounts in fen) and `date` (`YYYY-MM-DD`). Other columns of the file
    /// are ignored (and named in the answer).
    #[serde(default)]
    #[param(
        pattern = "^(?:[^\\s,:\\u0000-\\u001f\\u007f-\\u009f](?:[^,:\\u0000-\\u001f\\u007f-\\u009f]{0,98}[^\\s,:\\u0000-\\u001f\\u007f-\\u009f])?:(?:text|integer|date)(?:,[^\\s,:\\u0000-\\u001f\\u007f-\\u009f](?:[^,:\\u0000-\\u001f\\u007f-\\u009f]{0,98}[^\\s,:\\u0000-\\u001f\\u007f-\\u009f])?:(?:text|integer|date)){0,31})?$"
    )]
    pub columns: String,
}

/// A record list's metadata. Never public.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListView {
    pub id: String,
    pub name: String,
    pub id_column: String,
    pub columns: Vec<ListColumn>,
    /// Records (data rows) in the list.
    pub rows: i64,
    /// SHA-256 of the canonical content (docs/draw-spec.md B.12): independent of format,
    /// encoding and spacing.
    pub sha256: String,
    /// SHA-256 of the file as received.
    pub file_sha256: String,
    /// `csv` or `xlsx`.
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The uploader's organization (null for admins).
    pub organization: Option<String>,
    pub created_by: String,
    pub created_at: String,
    /// Tasks drawing from the list (then it cannot be deleted).
    pub used_by: Vec<String>,
    /// Header columns of the file that were not declared and not stored (upload only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored_columns: Option<Vec<String>>,
    /// The audit entry of the upload (upload only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_seq: Option<i64>,
    /// A list derived from lists (docs/draw-spec.md B.17): how it was made. Absent for an
    /// uploaded list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derivation: Option<Derivation>,
}

/// How a derived list was made (B.17).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ListDerivation)]
pub struct Derivation {
    /// `top` (a top-N ranking) or `intersection`.
    pub kind: String,
    /// The source lists' ids, in order.
    pub sources: Vec<String>,
    /// The rule with the sources' content hashes and row counts, as recorded.
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
}

impl ListView {
    fn of(m: ListMeta, used_by: Vec<String>) -> Self {
        Self {
            id: m.id,
            name: m.name,
            id_column: m.id_column,
            columns: m.columns,
            rows: m.row_count,
            sha256: m.sha256,
            file_sha256: m.file_sha256,
            format: m.format,
            encoding: m.encoding,
            organization: m.organization,
            created_by: m.created_by,
            created_at: m.created_at,
            used_by,
            ignored_columns: None,
            audit_seq: None,
            derivation: None,
        }
    }
}

/// The lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListPage {
    pub items: Vec<ListView>,
}

/// A list's salt, for auditors: with the list, it recomputes every member hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct SaltView {
    pub list: String,
    /// 64 hex digits (32 bytes).
    pub salt: String,
    /// `hex(SHA-256(salt bytes))`, as recorded in a sample's snapshot.
    pub salt_commitment: String,
}

/// A temporary file removed when dropped.
struct Spool {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Streams the body to a temporary file (never holding it in memory), hashing it, and
/// refusing more than the import limit with 413.
async fn spool(state: &AppState, headers: &HeaderMap, body: Body) -> ApiResult<(Spool, String)> {
    let limit = state.import_limit as u64;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the file is larger than the import limit of {limit} bytes (SUIJI_IMPORT_LIMIT)"
        ))
    };
    if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(too_large());
    }
    let path = std::env::temp_dir().join(format!("suiji-list-{}.upload", crate::store::new_id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("creating a temporary file: {e}")))?;
    let mut spool = Spool { path, file };
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
        out.write_all(&chunk)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing a temporary file: {e}")))?;
    }
    out.flush()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing a temporary file: {e}")))?;
    drop(out);
    spool
        .file
        .rewind()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading a temporary file: {e}")))?;
    Ok((spool, hex::encode(hash.finalize())))
}

fn rows_error(e: UploadError) -> ApiError {
    match e {
        UploadError::Rows { errors, count } => ApiError::rows(errors, count),
        UploadError::Db(e) => e.into(),
    }
}

fn declared(q: UploadQuery) -> ApiResult<Declared> {
    let mut errors = Vec::new();
    let name = q.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "1–200 characters without control characters",
        ));
    }
    let id_column = q.id_column.trim().to_string();
    let columns = match parse_columns(&q.columns, &id_column) {
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

/// Upload a record list (admin, coordinator), all or nothing.
///
/// The body is the file: CSV (UTF-8 with or without BOM, or GB18030/GBK) or XLSX (first
/// sheet), as for the registry import. The header row names the columns; `id_column` and
/// every column of `columns` must be in it. Every row needs a non-empty id, unique in the
/// file, and a valid value in each declared column. A 422 lists every bad row (`rows`,
/// numbered as in a spreadsheet: the header is row 1) and nothing is written. The list is
/// immutable; it is never public.
#[utoipa::path(post, path = "/api/v1/lists", tag = "lists",
    security(("bearer" = [])), params(UploadQuery),
    request_body(description = "The list file",
        content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 201, body = ListView), ImportProblems))]
async fn upload_list(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    policy::upload_list(&who)?;
    let declared = declared(query)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    format_of(content_type, b"PK\x03\x04").map_err(ApiError::UnsupportedMediaType)?;
    let (mut spool, sha256) = spool(&state, &headers, body).await?;
    let mut first = [0u8; 4];
    let n = std::io::Read::read(&mut spool.file, &mut first).unwrap_or(0);
    let format = format_of(content_type, &first[..n]).map_err(ApiError::UnsupportedMediaType)?;
    let io = |e: std::io::Error| ApiError::Internal(anyhow::anyhow!("reading the upload: {e}"));
    spool.file.rewind().map_err(io)?;
    let reader = spool.file.try_clone().map_err(io)?;
    let (mut table, file) = match format {
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
            Table::xlsx(std::io::BufReader::new(reader)).map_err(|e| {
                rows_error(UploadError::Rows {
                    errors: vec![crate::error::RowError::new(e.row, e.column, "", e.reason)],
                    count: 1,
                })
            })?,
            FileInfo {
                format: "xlsx",
                encoding: None,
                sha256,
            },
        ),
    };
    let started = std::time::Instant::now();
    let uploaded = lists::upload(
        &state.store,
        &mut table,
        file,
        declared,
        &who.actor(),
        who.organization_code(),
        |_| {},
    )
    .await
    .map_err(rows_error)?;
    drop(spool);
    crate::metrics::observe_operation(
        "list_upload",
        started.elapsed(),
        uploaded.list.row_count as u64,
    );
    tracing::info!(list = %uploaded.list.id, rows = uploaded.list.row_count, "list uploaded");
    let location = format!("/api/v1/lists/{}", uploaded.list.id);
    let mut view = ListView::of(uploaded.list, Vec::new());
    view.ignored_columns = Some(uploaded.ignored_columns);
    view.audit_seq = Some(uploaded.audit_seq);
    let mut resp = (StatusCode::CREATED, Json(view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// The record lists (admin, coordinator, auditor), newest first; deleted lists are left out.
#[utoipa::path(get, path = "/api/v1/lists", tag = "lists",
    security(("bearer" = [])),
    responses((status = 200, body = ListPage), ListProblems))]
async fn list_lists(State(state): State<AppState>, _who: Principal) -> ApiResult<Json<ListPage>> {
    let mut conn = state.store.read().await?;
    let metas = db::all(&mut *conn).await?;
    let mut items = Vec::with_capacity(metas.len());
    for m in metas {
        let used = db::uses(&mut *conn, &m.id).await?;
        items.push(ListView::of(m, used));
    }
    Ok(Json(ListPage { items }))
}

async fn find(state: &AppState, id: &str) -> ApiResult<ListMeta> {
    let mut conn = state.store.read().await?;
    match db::get(&mut *conn, id).await? {
        Some(m) if m.deleted_at.is_none() => Ok(m),
        _ => Err(ApiError::NotFound(format!("no list {id}"))),
    }
}

/// One record list's metadata (admin, coordinator, auditor): never its records.
#[utoipa::path(get, path = "/api/v1/lists/{id}", tag = "lists",
    security(("bearer" = [])), params(("id" = String, Path, description = "The list's id")),
    responses((status = 200, body = ListView), ReadOne))]
async fn get_list(
    State(state): State<AppState>,
    _who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ListView>> {
    let m = find(&state, &id).await?;
    let mut conn = state.store.read().await?;
    let used = db::uses(&mut *conn, &id).await?;
    let mut view = ListView::of(m, used);
    view.derivation = derivation(&mut conn, &id).await?;
    Ok(Json(view))
}

/// Delete an unused list (admin, or a coordinator of the organization that uploaded it):
/// its records are removed, the deletion audited. A list a task draws from is kept: 409.
#[utoipa::path(delete, path = "/api/v1/lists/{id}", tag = "lists",
    security(("bearer" = [])), params(("id" = String, Path, description = "The list's id")),
    responses((status = 204, description = "Deleted"), StepProblems))]
async fn delete_list(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let m = find(&state, &id).await?;
    policy::delete_list(&who, m.organization.as_deref())?;
    match lists::delete(&state.store, &id, &who.actor()).await {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(DeleteError::NotFound(id)) => Err(ApiError::NotFound(format!("no list {id}"))),
        Err(e @ DeleteError::Used { .. }) => Err(ApiError::Conflict(e.to_string())),
        Err(DeleteError::Db(e)) => Err(e.into()),
    }
}

/// A list's salt (admins and auditors): with the list file, `suiji verify --list … --salt …`
/// recomputes the member hashes of a sample's bundle.
#[utoipa::path(get, path = "/api/v1/lists/{id}/salt", tag = "lists",
    security(("bearer" = [])), params(("id" = String, Path, description = "The list's id")),
    responses((status = 200, body = SaltView), StepProblems))]
async fn list_salt(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SaltView>> {
    policy::read_list_salt(&who)?;
    let m = find(&state, &id).await?;
    let mut conn = state.store.read().await?;
    let salt = db::salt(&mut *conn, &m.id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no list {id}")))?;
    let bytes =
        hex::decode(&salt).map_err(|e| ApiError::Internal(anyhow::anyhow!("stored salt: {e}")))?;
    Ok(Json(SaltView {
        list: m.id,
        salt_commitment: salt_commitment(&bytes),
        salt,
    }))
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

/// The records a sample over a list drew, with their ids (admins, auditors, and the task's
/// lead): the bundle names them only by member hash. Never public.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/records", tag = "lists",
    security(("bearer" = [])), params(("id" = String, Path, description = "The task's id")),
    responses((status = 200, body = TaskRecords), StepProblems))]
async fn task_records(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskRecords>> {
    let task = crate::tasks::get(&state.store, &id).await?;
    if who.role != crate::auth::Role::Auditor {
        policy::lead(&who, &task.config)?;
    }
    let Some(list) = task.config.list.clone() else {
        return Err(ApiError::NotFound(format!(
            "task {id} is not a sample over a record list"
        )));
    };
    let Some(bytes) = crate::tasks::bundle2(&state.store, &task, false).await? else {
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
    let mut conn = state.store.read().await?;
    let ids = db::ids_of(&mut conn, &list, &members).await?;
    let strata = bundle
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
            let size = crate::draw::tree::stratum_members(&bundle.snapshot, si);
            StratumCount {
                stratum: st.id.clone(),
                size,
                drawn,
                took_all: size > 0 && drawn == size,
            }
        })
        .collect();
    let records = bundle
        .result
        .selections
        .iter()
        .map(|s| DrawnRecord {
            order: s.order,
            stratum: s.stratum.clone(),
            member: s.institution.clone(),
            id: ids.get(&s.institution).cloned().unwrap_or_default(),
        })
        .collect();
    Ok(Json(TaskRecords {
        task: id,
        list,
        strata,
        records,
    }))
}

async fn derivation(conn: &mut sqlx::AnyConnection, id: &str) -> ApiResult<Option<Derivation>> {
    Ok(db::derivation(conn, id)
        .await?
        .map(|(kind, rule, sources)| Derivation {
            kind,
            sources,
            rule: serde_json::from_str(&rule).unwrap_or(serde_json::Value::Null),
        }))
}

fn derive_error(e: crate::lists::derive::DeriveError) -> ApiError {
    use crate::lists::derive::DeriveError;
    match e {
        DeriveError::NotFound(id) => ApiError::NotFound(format!("no list {id}")),
        DeriveError::Invalid(errors) => ApiError::invalid(errors),
        DeriveError::Db(e) => e.into(),
    }
}

async fn created(state: &AppState, d: crate::lists::derive::Derived) -> ApiResult<Response> {
    let id = d.list.id.clone();
    let mut view = ListView::of(d.list, Vec::new());
    view.audit_seq = Some(d.audit_seq);
    let mut conn = state.store.read().await?;
    view.derivation = derivation(&mut conn, &id).await?;
    let mut resp = (StatusCode::CREATED, Json(view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/lists/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// A top-N ranking (排名靠前, docs/draw-spec.md B.17) of a list saved as a new immutable
/// list (admin, coordinator): the records satisfying `where`, ranked by the integer column
/// `by` (descending; ties by id ascending), the first `n`, at least `at_least.count` of them
/// satisfying `at_least.where` when the list has that many (the lowest-ranked others make
/// room). The new list keeps the source's columns, in rank order, with its own salt; its
/// rule and the source's content hash are recorded and audited (`list.top`), and the
/// source can no longer be deleted.
#[utoipa::path(post, path = "/api/v1/lists/{id}/top", tag = "lists",
    security(("bearer" = [])), params(("id" = String, Path, description = "The ranked list's id")),
    request_body = crate::domain::list_derive::TopRule,
    responses((status = 201, body = ListView), StepProblems))]
async fn top_list(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    super::extract::ApiJson(rule): super::extract::ApiJson<crate::domain::list_derive::TopRule>,
) -> ApiResult<Response> {
    policy::derive_list(&who)?;
    find(&state, &id).await?;
    let d = crate::lists::derive::top(
        &state.store,
        &id,
        &rule,
        &who.actor(),
        who.organization_code(),
    )
    .await
    .map_err(derive_error)?;
    created(&state, d).await
}

/// The intersection of 2–8 lists on key columns (B.17) saved as a new immutable list
/// (admin, coordinator): the first list's records whose key (its id column or an attribute
/// column, per list) is a key of every other list, in the first list's row order, with the
/// first list's columns. Audited (`list.intersection`); the sources can no longer be
/// deleted. E.g. the patients both in the top 50 by cost and in the top 800 by visits
/// (seed 004's 重点稽核对象).
#[utoipa::path(post, path = "/api/v1/lists/intersection", tag = "lists",
    security(("bearer" = [])),
    request_body = crate::domain::list_derive::IntersectRule,
    responses((status = 201, body = ListView), StepProblems))]
async fn intersect_lists(
    State(state): State<AppState>,
    who: Principal,
    super::extract::ApiJson(rule): super::extract::ApiJson<
        crate::domain::list_derive::IntersectRule,
    >,
) -> ApiResult<Response> {
    policy::derive_list(&who)?;
    let d = crate::lists::derive::intersection(
        &state.store,
        &rule,
        &who.actor(),
        who.organization_code(),
    )
    .await
    .map_err(derive_error)?;
    created(&state, d).await
}
