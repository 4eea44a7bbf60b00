//! Evidence (现场取证材料) attached to a drawn institution's result: upload, list,
//! download. Never public: no public route, portal page, bundle or CSV reads it.

use super::AppState;
use super::extract::{ApiPath, ApiQuery, content_type, read_limited};
use super::registry::created_or_ok;
use super::views::EvidenceView;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::tasks::evidence::{self, ACCEPTED, MediaType};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_evidence, upload_evidence))
        .routes(routes!(download_evidence))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceList {
    pub items: Vec<EvidenceView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name as shown and downloaded (1–255 characters, no `/`, `\` or control
    /// characters; URL-encoded, Chinese allowed). Default: the first 16 hex digits of its
    /// SHA-256 with the type's extension.
    #[param(min_length = 1, max_length = 255)]
    pub filename: Option<String>,
}

#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum UploadProblems {
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    #[response(status = 409, content_type = "application/problem+json")]
    WrongState(Problem),
    #[response(
        status = 413,
        description = "Larger than the evidence limit (`SUIJI_EVIDENCE_LIMIT`, default 20 MiB); the detail names it",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 415,
        description = "Content-Type is not image/jpeg, image/png or application/pdf",
        content_type = "application/problem+json"
    )]
    UnsupportedType(Problem),
    #[response(
        status = 422,
        description = "Empty file (`body`), bytes of another type than declared (`content-type`) or not of the declared type (`body`), bad `filename`",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
}

#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum ReadProblems {
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}

/// Reads the body up to `limit` bytes, refusing more with 413 naming the limit.
async fn read_body(limit: usize, headers: &HeaderMap, body: Body) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the file is larger than the evidence limit of {limit} bytes ({} MiB)",
            limit / (1024 * 1024)
        ))
    };
    read_limited(limit, headers, body, too_large).await
}

/// The evidence type `Content-Type` declares; 415 for any other.
fn media_type(headers: &HeaderMap) -> ApiResult<MediaType> {
    let declared = content_type(headers);
    declared.and_then(MediaType::parse).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "Content-Type {} is not accepted for evidence; send the file's bytes as one of: {ACCEPTED}",
            declared.unwrap_or("(none)")
        ))
    })
}

/// Attach a file to a drawn institution's result (admin, or a coordinator of the lead or
/// of a participating department; task `drawn`, `published` or `closed`).
///
/// Transport: the request body is the file itself (not multipart), its type in
/// `Content-Type` (`image/jpeg`, `image/png` or `application/pdf`, checked against the
/// file's first bytes), its name in the `filename` query parameter. At most
/// `SUIJI_EVIDENCE_LIMIT` bytes (20 MiB by default). Stored by SHA-256; the same bytes
/// again on the same result change nothing (200 with the existing reference), on another
/// result they are another reference to the one stored copy. The audit entry
/// `evidence.attach` carries the file's SHA-256 as its payload digest.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/results/{institution_id}/evidence", tag = "publication",
    security(("bearer" = [])),
    params(("id" = String, Path), ("institution_id" = String, Path), UploadQuery),
    request_body(description = "The file's bytes, its type in Content-Type",
        content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "application/pdf"))),
    responses((status = 201, body = EvidenceView, description = "Attached"),
              (status = 200, body = EvidenceView, description = "The same bytes were attached to this result already; nothing changed"),
              UploadProblems))]
async fn upload_evidence(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, institution)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<EvidenceView>)> {
    let media_type = media_type(&headers)?;
    let bytes = read_body(state.evidence_limit, &headers, body).await?;
    let filename = query.filename.as_deref();
    let (id, institution) = (id.as_str(), institution.as_str());
    let attached = evidence::attach(
        &state.store,
        &who,
        id,
        institution,
        media_type,
        filename,
        bytes,
    )
    .await?;
    let status = created_or_ok(attached.created);
    Ok((status, Json(attached.evidence.into())))
}

/// The evidence of a drawn institution's result, oldest first (admin, auditor, or a
/// coordinator of the task's lead or participating departments).
#[utoipa::path(get, path = "/api/v1/tasks/{id}/results/{institution_id}/evidence", tag = "publication",
    security(("bearer" = [])),
    params(("id" = String, Path), ("institution_id" = String, Path)),
    responses((status = 200, body = EvidenceList), ReadProblems))]
async fn list_evidence(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, institution)): ApiPath<(String, String)>,
) -> ApiResult<Json<EvidenceList>> {
    let rows = evidence::list(&state.store, &who, &id, &institution).await?;
    Ok(Json(EvidenceList {
        items: rows.into_iter().map(EvidenceView::from).collect(),
    }))
}

/// Download one piece of evidence (admin, auditor, or a coordinator of the task's lead or
/// participating departments), with its type and file name.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/results/{institution_id}/evidence/{sha256}", tag = "publication",
    security(("bearer" = [])),
    params(("id" = String, Path), ("institution_id" = String, Path),
           ("sha256" = String, Path, description = "Hex SHA-256 of the file", pattern = "^[0-9a-f]{64}$")),
    responses((status = 200, description = "The file",
               content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "application/pdf")),
               headers(("Content-Disposition" = String, description = "attachment; filename=…"))),
              ReadProblems))]
async fn download_evidence(
    State(state): State<AppState>,
    who: Principal,
    ApiPath((id, institution, sha256)): ApiPath<(String, String, String)>,
) -> ApiResult<Response> {
    let (row, bytes) = evidence::download(&state.store, &who, &id, &institution, &sha256).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&row.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&row.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `attachment` with an ASCII fallback name and the exact name in RFC 5987 form.
fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_disposition_keeps_the_exact_name() {
        assert_eq!(
            super::content_disposition("核查表 1.pdf"),
            "attachment; filename=\"___ 1.pdf\"; filename*=UTF-8''%E6%A0%B8%E6%9F%A5%E8%A1%A8%201.pdf"
        );
    }
}
