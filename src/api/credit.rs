//! `/api/v1/exports/credit-publicity` (issue 15 part 8): the results for the national
//! enterprise credit publicity system, as CSV or XLSX, and the delivery log. Thin adapters
//! over `crate::credit`.

use super::AppState;
use super::download::{CSV, XLSX, attachment};
use super::extract::{ApiQuery, Reader};
use super::problems::{ListProblems, WriteProblems};
use crate::auth::Principal;
use crate::credit::{self, DeliveryLog, Format, MAX_LOG};
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(credit_export))
        .routes(routes!(credit_deliveries))
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CreditExportFormat)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CreditQuery {
    /// Results whose current version was published on or after this day (China time).
    #[param(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub since: NaiveDate,
    /// `csv` (default; UTF-8 with BOM) or `xlsx`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
    /// Division code prefix (2, 4 or 6 digits); default: the caller's jurisdiction.
    #[param(pattern = "^(?:[0-9]{2}|[0-9]{4}|[0-9]{6})$")]
    pub region_prefix: Option<String>,
}

/// The credit publicity export: one row per published result of a task market
/// regulation took part in, since a date, keyed by 统一社会信用代码 (columns in the
/// README). Market regulation's coordinators and admins; each export is logged (who,
/// when, since, rows, SHA-256, also in `X-Delivery-Id` and `X-Content-SHA256`) and audited.
#[utoipa::path(get, path = "/api/v1/exports/credit-publicity", tag = "publication",
    security(("bearer" = [])), params(CreditQuery),
    responses((status = 200, description = "The export",
               content((String = "text/csv"),
                       (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
               headers(("X-Delivery-Id" = String), ("X-Content-SHA256" = String))),
              WriteProblems))]
async fn credit_export(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<CreditQuery>,
) -> ApiResult<Response> {
    let format = match q.format.unwrap_or(ExportFormat::Csv) {
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Xlsx => Format::Xlsx,
    };
    let region = q.region_prefix.as_deref();
    let e = credit::export(&state.store, &who, q.since, region, format).await?;
    let name = format!("credit-publicity-{}.{}", q.since, format.code());
    let mut resp = match format {
        Format::Csv => attachment(CSV, &name, e.body),
        Format::Xlsx => attachment(XLSX, &name, e.body),
    };
    delivery_headers(&mut resp, &e.delivery)?;
    Ok(resp)
}

/// Names the delivery and the SHA-256 of the file in the response headers.
fn delivery_headers(resp: &mut Response, delivery: &credit::DeliveryView) -> ApiResult<()> {
    let h = resp.headers_mut();
    for (k, v) in [
        ("x-delivery-id", &delivery.id),
        ("x-content-sha256", &delivery.sha256),
    ] {
        h.insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(v).map_err(|e| ApiError::Internal(e.into()))?,
        );
    }
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Entries, 1–1000 (default 100), newest first.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The delivery log of the credit publicity export, newest first (admins, auditors,
/// market regulation's coordinators).
#[utoipa::path(get, path = "/api/v1/exports/credit-publicity/deliveries", tag = "publication",
    security(("bearer" = [])), params(DeliveriesQuery),
    responses((status = 200, body = DeliveryLog), ListProblems))]
async fn credit_deliveries(
    State(state): State<AppState>,
    Reader(who): Reader,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<DeliveryLog>> {
    let limit = match q.limit {
        None => 100,
        Some(n) if (1..=MAX_LOG).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::field(
                "limit",
                format!("must be between 1 and {MAX_LOG}"),
            ));
        }
    };
    Ok(Json(credit::log(&state.store, &who, limit).await?))
}
