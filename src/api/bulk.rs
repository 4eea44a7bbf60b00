//! Bulk import and export of the registries: `POST /api/v1/{institutions,inspectors}/import`
//! (CSV in UTF-8 or GB18030, or XLSX; all or nothing) and `GET …/export` (CSV or XLSX).

use super::AppState;
use super::download::attachment;
use super::extract::{ApiQuery, Reader};
use super::filters::{InspectorQuery, InstitutionQuery};
use super::problems::{ImportProblems, ListProblems};
use crate::auth::{Principal, Role};
use crate::bulk::export::{XlsxExport, csv_header, csv_rows};
use crate::bulk::schema::BulkRecord;
use crate::bulk::source::{Format, Table, XLSX_MIME, detect_encoding, format_of};
use crate::bulk::{ImportError, ImportReport, Importer, Mode, Options};
use crate::domain::filter::{InspectorFilter, InstitutionFilter};
use crate::domain::registry::{InspectorInput, InstitutionInput};
use crate::error::{ApiError, ApiResult};
use crate::store::records::Stored;
use crate::store::registry::Page;
use crate::store::{Store, StoreError};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_institutions))
        .routes(routes!(export_institutions))
        .routes(routes!(import_inspectors))
        .routes(routes!(export_inspectors))
}

/// How to import.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `insert` (default): new records only, an existing key is a row error.
    /// `upsert`: existing keys get a new version when a field changed.
    pub mode: Option<Mode>,
    /// Validate and count, write nothing.
    pub dry_run: Option<bool>,
}

/// Reads the upload, refusing more than the configured import limit with 413.
pub(super) async fn read_upload(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Bytes> {
    let limit = state.import_limit;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the file is larger than the import limit of {limit} bytes"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return too_large();
            }
            source = s.source();
        }
        ApiError::BadRequest(format!("could not read the request body: {e}"))
    })
}

fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::Rows { errors, count } => ApiError::rows(errors, count),
        ImportError::Forbidden(reason) => ApiError::Forbidden(reason),
        ImportError::Db(e) => e.into(),
    }
}

async fn run_import<T: BulkRecord>(
    state: &AppState,
    who: Importer,
    query: ImportQuery,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Json<ImportReport>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    // Refuse a wrong type before reading a large body.
    format_of(content_type, b"PK\x03\x04").map_err(ApiError::UnsupportedMediaType)?;
    let bytes = read_upload(state, headers, body).await?;
    let format = format_of(content_type, &bytes).map_err(ApiError::UnsupportedMediaType)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let (mut table, file) = match format {
        Format::Csv => {
            let encoding = detect_encoding(&bytes);
            (
                Table::csv(Box::new(std::io::Cursor::new(bytes)), encoding),
                crate::bulk::import::FileInfo {
                    format: "csv",
                    encoding: Some(encoding.name()),
                    sha256,
                },
            )
        }
        Format::Xlsx => (
            Table::xlsx(std::io::Cursor::new(bytes)).map_err(|e| {
                import_error(ImportError::Rows {
                    errors: vec![crate::error::RowError::new(e.row, e.column, "", e.reason)],
                    count: 1,
                })
            })?,
            crate::bulk::import::FileInfo {
                format: "xlsx",
                encoding: None,
                sha256,
            },
        ),
    };
    let opts = Options {
        mode: query.mode.unwrap_or_default(),
        dry_run: query.dry_run.unwrap_or(false),
    };
    let started = std::time::Instant::now();
    let report = crate::bulk::import::<T>(&state.store, &mut table, file, &who, opts, |_| {})
        .await
        .map_err(import_error)?;
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
    Ok(Json(report))
}

/// Import institutions from a CSV or XLSX file (admin, coordinator), all or nothing.
///
/// Columns (English field name or Chinese title in the header row): `credit_code`
/// 统一社会信用代码, `name` 机构名称, `kind` 机构类型, `level` 医院等级, `ownership` 所有制,
/// `region` 行政区划, `address` 地址, `risk_grade` 信用等级, `status` 状态, `tags` 标签
/// (separated by `;`). CSV may be UTF-8 (with or without BOM) or GB18030/GBK; XLSX is
/// read from its first sheet. A 422 lists every bad row (`rows`), numbered as in a
/// spreadsheet (the header is row 1), and nothing is written.
#[utoipa::path(post, path = "/api/v1/institutions/import", tag = "registries",
    security(("bearer" = [])), params(ImportQuery),
    request_body(description = "The registry file",
        content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportReport), ImportProblems))]
async fn import_institutions(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<ImportReport>> {
    who.require_writer()?;
    let importer = Importer {
        actor: who.actor(),
        departments: None,
        region_prefix: who.region_scope().to_string(),
        organization: who.organization_code(),
    };
    run_import::<InstitutionInput>(&state, importer, query, &headers, body).await
}

/// Import inspectors from a CSV or XLSX file (admin, or a coordinator for its own
/// department's inspectors only), all or nothing.
///
/// Columns: `department` 所属部门 (code or Chinese name), `name` 姓名, `certificate_no`
/// 执法证号, `region` 行政区划, `status` 状态, `expertise` 专业领域 (separated by `;`).
/// Conflicts of interest are not part of the file: an upsert keeps them.
#[utoipa::path(post, path = "/api/v1/inspectors/import", tag = "registries",
    security(("bearer" = [])), params(ImportQuery),
    request_body(description = "The registry file",
        content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportReport), ImportProblems))]
async fn import_inspectors(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<ImportReport>> {
    who.require_writer()?;
    let departments = match (&who.role, &who.department) {
        (Role::Admin, _) => None,
        (_, Some(d)) => Some(vec![d.as_str().to_string()]),
        (_, None) => Some(Vec::new()),
    };
    let importer = Importer {
        actor: who.actor(),
        departments,
        region_prefix: who.region_scope().to_string(),
        organization: who.organization_code(),
    };
    run_import::<InspectorInput>(&state, importer, query, &headers, body).await
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

/// The listing filters of `GET /api/v1/institutions`, and the format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstitutionExportQuery {
    /// `csv` (default; UTF-8 with BOM) or `xlsx`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
    pub kind: Option<String>,
    pub level: Option<String>,
    pub ownership: Option<String>,
    pub risk_grade: Option<String>,
    pub status: Option<String>,
    pub region_prefix: Option<String>,
    pub tags: Option<String>,
    pub q: Option<String>,
    pub credit_code: Option<String>,
}

/// The listing filters of `GET /api/v1/inspectors`, and the format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InspectorExportQuery {
    /// `csv` (default; UTF-8 with BOM) or `xlsx`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
    pub department: Option<String>,
    pub status: Option<String>,
    pub region_prefix: Option<String>,
    pub q: Option<String>,
    pub certificate_no: Option<String>,
}

/// Fetches the page of records after a cursor.
type Pager<T> = Arc<
    dyn Fn(
            Option<String>,
        ) -> BoxFuture<'static, Result<(Vec<Stored<T>>, Option<String>), StoreError>>
        + Send
        + Sync,
>;

const EXPORT_PAGE: i64 = 1000;

enum Step {
    Header,
    Page(Option<String>),
    Done,
}

/// Streams every matching record page by page, so memory stays flat however large
/// the registry.
fn csv_export<T: BulkRecord>(pager: Pager<T>, name: &str) -> Response {
    let stream = futures_util::stream::unfold(Step::Header, move |step| {
        let pager = pager.clone();
        async move {
            match step {
                Step::Header => Some((Ok(Bytes::from(csv_header::<T>())), Step::Page(None))),
                Step::Page(after) => match pager(after).await {
                    Ok((items, next)) => {
                        let bytes = Bytes::from(csv_rows(items.iter().map(|s| &s.data)));
                        Some((Ok(bytes), next.map_or(Step::Done, |c| Step::Page(Some(c)))))
                    }
                    Err(e) => {
                        tracing::error!(error = ?e, "export interrupted");
                        Some((Err(e), Step::Done))
                    }
                },
                Step::Done => None,
            }
        }
    });
    attachment(
        "text/csv; charset=utf-8",
        &format!("{name}.csv"),
        Body::from_stream(stream),
    )
}

/// Writes the workbook page by page; the sheet's cells go to a temporary file, the
/// compressed workbook is returned from memory.
async fn xlsx_export<T: BulkRecord>(pager: Pager<T>, name: &str) -> ApiResult<Response> {
    let xlsx_err = |e: rust_xlsxwriter::XlsxError| match e {
        rust_xlsxwriter::XlsxError::RowColumnLimitError => ApiError::field(
            "format",
            "more rows than a worksheet holds (1,048,575): export as CSV or narrow the filters",
        ),
        other => ApiError::Internal(anyhow::Error::new(other)),
    };
    let mut book = XlsxExport::new::<T>(name).map_err(xlsx_err)?;
    let mut after = None;
    loop {
        let (items, next) = pager(after).await?;
        for s in &items {
            book.push(&s.data).map_err(xlsx_err)?;
        }
        match next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let bytes = tokio::task::spawn_blocking(move || book.finish())
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?
        .map_err(xlsx_err)?;
    Ok(attachment(
        XLSX_MIME,
        &format!("{name}.xlsx"),
        Body::from(bytes),
    ))
}

fn institution_pager(store: Store, filter: InstitutionFilter) -> Pager<InstitutionInput> {
    Arc::new(move |after| {
        let (store, filter) = (store.clone(), filter.clone());
        Box::pin(async move {
            let page = Page {
                after,
                limit: EXPORT_PAGE,
            };
            store.institutions(&filter, &page).await
        })
    })
}

fn inspector_pager(store: Store, filter: InspectorFilter) -> Pager<InspectorInput> {
    Arc::new(move |after| {
        let (store, filter) = (store.clone(), filter.clone());
        Box::pin(async move {
            let page = Page {
                after,
                limit: EXPORT_PAGE,
            };
            store.inspectors(&filter, &page).await
        })
    })
}

async fn export<T: BulkRecord>(
    format: Option<ExportFormat>,
    pager: Pager<T>,
    name: &str,
) -> ApiResult<Response> {
    match format.unwrap_or_default() {
        ExportFormat::Csv => Ok(csv_export(pager, name)),
        ExportFormat::Xlsx => xlsx_export(pager, name).await,
    }
}

/// Export institutions matching the listing filters as CSV (UTF-8 with BOM) or XLSX,
/// in the import's column layout.
#[utoipa::path(get, path = "/api/v1/institutions/export", tag = "registries",
    security(("bearer" = [])), params(InstitutionExportQuery),
    responses((status = 200, description = "The file (Content-Disposition: attachment)",
               content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), ListProblems))]
async fn export_institutions(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiQuery(q): ApiQuery<InstitutionExportQuery>,
) -> ApiResult<Response> {
    let filter = InstitutionQuery {
        kind: q.kind,
        level: q.level,
        ownership: q.ownership,
        risk_grade: q.risk_grade,
        status: q.status,
        region_prefix: q.region_prefix,
        tags: q.tags,
        q: q.q,
        credit_code: q.credit_code,
        cursor: None,
        limit: None,
    }
    .filter()?;
    let mut filter = filter;
    filter.region_prefix = crate::tasks::policy::scoped_prefixes(&who, &filter.region_prefix);
    let pager = institution_pager(state.store.clone(), filter);
    export(q.format, pager, "institutions").await
}

/// Export inspectors matching the listing filters as CSV (UTF-8 with BOM) or XLSX.
#[utoipa::path(get, path = "/api/v1/inspectors/export", tag = "registries",
    security(("bearer" = [])), params(InspectorExportQuery),
    responses((status = 200, description = "The file (Content-Disposition: attachment)",
               content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), ListProblems))]
async fn export_inspectors(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiQuery(q): ApiQuery<InspectorExportQuery>,
) -> ApiResult<Response> {
    let filter = InspectorQuery {
        department: q.department,
        status: q.status,
        region_prefix: q.region_prefix,
        q: q.q,
        certificate_no: q.certificate_no,
        cursor: None,
        limit: None,
    }
    .filter()?;
    let mut filter = filter;
    filter.region_prefix = crate::tasks::policy::scoped_prefixes(&who, &filter.region_prefix);
    let pager = inspector_pager(state.store.clone(), filter);
    export(q.format, pager, "inspectors").await
}
