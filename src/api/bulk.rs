//! Bulk import and export of the registries: `POST /api/v1/{institutions,inspectors}/import`
//! (CSV in UTF-8 or GB18030, or XLSX; all or nothing) and `GET …/export` (CSV or XLSX).

use super::AppState;
use super::download::attachment;
use super::extract::{ApiQuery, Reader, content_type, read_upload};
use super::filters::{InspectorQuery, InstitutionQuery};
use super::problems::{ImportProblems, ListProblems};
use crate::auth::{Principal, Role};
use crate::bulk::export::{Pager, csv_header, csv_rows, xlsx_workbook};
use crate::bulk::schema::BulkRecord;
use crate::bulk::source::{XLSX_MIME, format_of};
use crate::bulk::{ImportReport, Importer, Mode, Options, import_upload};
use crate::domain::filter::{InspectorFilter, InstitutionFilter};
use crate::domain::registry::{InspectorInput, InstitutionInput};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::store::registry::Page;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
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

async fn run_import<T: BulkRecord>(
    state: &AppState,
    who: Importer,
    query: ImportQuery,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Json<ImportReport>> {
    let content_type = content_type(headers);
    // Refuse a wrong type before reading a large body.
    format_of(content_type, b"PK\x03\x04").map_err(ApiError::UnsupportedMediaType)?;
    let bytes = read_upload(state.import_limit, headers, body).await?;
    let format = format_of(content_type, &bytes).map_err(ApiError::UnsupportedMediaType)?;
    let opts = Options {
        mode: query.mode.unwrap_or_default(),
        dry_run: query.dry_run.unwrap_or(false),
    };
    let report = import_upload::<T>(&state.store, bytes.into(), format, &who, opts).await?;
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

/// The workbook of every matching record, as an attachment.
async fn xlsx_export<T: BulkRecord>(pager: Pager<T>, name: &str) -> ApiResult<Response> {
    let bytes = xlsx_workbook(pager, name).await?;
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
