//! Extractors that turn every malformed request into a problem document naming what is
//! wrong: JSON bodies, query strings, `If-Match`, and the bearer token.

use super::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, FieldError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use serde::de::DeserializeOwned;

/// An optional JSON body: none (no Content-Length, or 0, and no Transfer-Encoding), `null`
/// or a body give `T::default()` for the first two, else the body as [`ApiJson`] reads it.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let has_body = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v != "0")
            || req.headers().contains_key(header::TRANSFER_ENCODING);
        if !has_body {
            return Ok(Self(T::default()));
        }
        let ApiJson(body) = ApiJson::<Option<T>>::from_request(req, state).await?;
        Ok(Self(body.unwrap_or_default()))
    }
}

/// A JSON body: `application/json` required, unknown fields refused, every error 4xx
/// with the path of the offending field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(
                        "the request body is larger than the configured limit".into(),
                    )
                } else {
                    ApiError::BadRequest(format!("could not read the request body: {e}"))
                }
            })?;
        if contains_nul_escape(&bytes) {
            // No text field may hold NUL (PostgreSQL cannot store it, and no code or name
            // needs it); refusing it here keeps every handler safe.
            return Err(ApiError::field(
                "body",
                "text must not contain the NUL character (\\u0000)",
            ));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

/// True when a JSON text contains the escape `\u0000` (raw NUL bytes are not valid JSON).
fn contains_nul_escape(bytes: &[u8]) -> bool {
    bytes.windows(6).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(b"\\u0000")
            // An escaped backslash followed by "u0000" is harmless text.
            && bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    })
}

/// Deserializes JSON, naming the field on a data error and the position on a syntax error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Data => {
                let msg = inner.to_string();
                // serde's message ends with " at line L column C"; the field path says more.
                let reason = msg
                    .rsplit_once(" at line ")
                    .map_or(msg.as_str(), |(m, _)| m)
                    .to_string();
                // The path already ends in an unknown field's name.
                let field = if path == "." {
                    unknown_field(&reason).unwrap_or("body").to_string()
                } else {
                    path
                };
                ApiError::invalid(vec![FieldError::new(field, reason)])
            }
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::BadRequest(format!("malformed JSON: {inner}"))
            }
        }
    })?;
    // One JSON value and nothing after it (but whitespace): a second object would
    // otherwise be dropped without a word.
    de.end().map_err(|e| {
        ApiError::BadRequest(format!(
            "malformed JSON: data after the end of the JSON value ({e})"
        ))
    })?;
    Ok(value)
}

fn unknown_field(reason: &str) -> Option<&str> {
    let rest = reason.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// A query string, unknown parameters refused.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let reason = e.into_inner().to_string();
                let field = if path == "." {
                    unknown_field(&reason).unwrap_or("query").to_string()
                } else {
                    path
                };
                ApiError::field(field, reason)
            })
    }
}

/// The version named by `If-Match`; required for every update.
pub struct IfMatch(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.headers.get(header::IF_MATCH).ok_or_else(|| {
            ApiError::PreconditionRequired(
                "updates need If-Match with the record's current ETag (its version)".into(),
            )
        })?;
        raw.to_str()
            .ok()
            .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|v| *v >= 1)
            .map(IfMatch)
            .ok_or_else(|| {
                ApiError::field(
                    "If-Match",
                    "must be the quoted version of the record, e.g. \"3\"",
                )
            })
    }
}

/// The ETag of a record version.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header")
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("Authorization must be `Bearer <token>`"))?;
        let (mut principal, org) = state.auth.verify_with_org(token)?;
        // A coordinator of a department that is not registered acts for nobody.
        if let Some(d) = &principal.department
            && !state.store.department_exists(d.as_str()).await?
        {
            return Err(ApiError::Forbidden(format!(
                "the token names department {d}, which is not registered"
            )));
        }
        // The organization named by the token must exist and belong to its department;
        // a department's default organization (everywhere) stays `None`.
        if let (Some(code), Some(d)) = (org, &principal.department) {
            let Some(o) = state.store.organization(&code).await? else {
                return Err(ApiError::Forbidden(format!(
                    "the token names organization {code}, which is not registered"
                )));
            };
            if &o.data.department != d {
                return Err(ApiError::Forbidden(format!(
                    "the token's organization {code} belongs to department {}, not to the token's department {d}",
                    o.data.department
                )));
            }
            if !o.data.region_prefix.is_empty() {
                principal.organization = Some(o.data.jurisdiction());
            }
        }
        Ok(principal)
    }
}

/// Any authenticated caller (admin, coordinator or auditor): everything under
/// `/api/v1` that only reads.
pub struct Reader(pub Principal);

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Principal::from_request_parts(parts, state)
            .await
            .map(Reader)
    }
}

/// The page size: 1 to 500, 50 by default.
pub fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(50),
        Some(n) if (1..=500).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field("limit", "must be between 1 and 500")),
    }
}

/// A cursor is the id of the last record of the previous page.
pub fn cursor(raw: Option<String>) -> Result<Option<String>, ApiError> {
    match raw {
        None => Ok(None),
        Some(c) if uuid::Uuid::parse_str(&c).is_ok() => Ok(Some(c)),
        Some(_) => Err(ApiError::field(
            "cursor",
            "not a cursor returned by a previous page",
        )),
    }
}

/// Path parameters, with a malformed path answered as a problem document.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| ApiError::BadRequest(format!("malformed path: {}", e.body_text())))
    }
}
