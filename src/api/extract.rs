//! Extractors that turn every malformed request into a problem document naming what is
//! wrong: JSON bodies, query strings, `If-Match`, and the bearer token.

use super::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, FieldError};
use axum::body::Body;
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
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
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

/// A body that could not be read: 413 past the configured limit, else 400.
fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("the request body is larger than the configured limit".into())
    } else {
        ApiError::BadRequest(format!("could not read the request body: {e}"))
    }
}

/// The `Content-Type` of a request, when it is readable text.
pub fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// The body length `Content-Length` declares, when it is a number.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Reads an uploaded file, refusing more than `limit` bytes (the configured import
/// limit) with 413.
pub async fn read_upload(limit: usize, headers: &HeaderMap, body: Body) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the file is larger than the import limit of {limit} bytes"
        ))
    };
    read_limited(limit, headers, body, too_large).await
}

/// Reads a body of at most `limit` bytes, answering `too_large()` at once when
/// `Content-Length` declares more, else when reading passes the limit.
pub async fn read_limited(
    limit: usize,
    headers: &HeaderMap,
    body: Body,
    too_large: impl Fn() -> ApiError,
) -> ApiResult<Bytes> {
    if declared_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| upload_error(e, too_large))
}

/// 413 when reading stopped at the limit, else 400.
fn upload_error(e: axum::Error, too_large: impl Fn() -> ApiError) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return too_large();
        }
        source = s.source();
    }
    ApiError::BadRequest(format!("could not read the request body: {e}"))
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
    let bytes = integral_numbers(bytes);
    let mut de = serde_json::Deserializer::from_slice(&bytes);
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

/// Writes every number that denotes an integer (`1722.0`, `1.5e3`, `-0.0`) as an
/// integer (`1722`, `1500`, `0`), so an integer field takes what JSON Schema calls an
/// integer: in JSON Schema, and in the OpenAPI document that states our fields as
/// `integer`, a number with a zero fraction *is* an integer. Strings are left alone, and
/// so is a number with a non-zero fraction (a 422 naming the field follows) or with more
/// than 20 integer digits (out of every integer field's range anyway). The bytes are
/// borrowed unchanged when no number has a fraction or an exponent.
fn integral_numbers(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b != b'-' && !b.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        {
            i += 1;
        }
        if let Some(int) = integer_text(&bytes[start..i]) {
            let out = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
            out.extend_from_slice(&bytes[copied..start]);
            out.extend_from_slice(int.as_bytes());
            copied = i;
        }
    }
    match out {
        None => std::borrow::Cow::Borrowed(bytes),
        Some(mut out) => {
            out.extend_from_slice(&bytes[copied..]);
            std::borrow::Cow::Owned(out)
        }
    }
}

/// The integer a JSON number token with a fraction or an exponent denotes exactly, if
/// it denotes one; `None` for a plain integer, a non-integer or a malformed token (left
/// for the parser to judge).
fn integer_text(token: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(token).ok()?;
    if !text.contains(['.', 'e', 'E']) {
        return None;
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(p) => (&unsigned[..p], unsigned[p + 1..].parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (mantissa.contains('.') && fraction.is_empty())
        || (whole.len() > 1 && whole.starts_with('0'))
    {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let point = whole.len() as i64 + exponent as i64;
    if point > 20 {
        return None;
    }
    let point = point.max(0) as usize;
    if digits.bytes().skip(point).any(|b| b != b'0') {
        return None;
    }
    let mut int: String = digits.chars().take(point).collect();
    while int.len() < point {
        int.push('0');
    }
    let int = int.trim_start_matches('0');
    Some(match (int.is_empty(), negative) {
        (true, _) => "0".to_string(),
        (false, true) => format!("-{int}"),
        (false, false) => int.to_string(),
    })
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
        let (principal, org) = state.auth.verify_with_org(token)?;
        Ok(crate::tasks::policy::acting(&state.store, principal, org).await?)
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

/// An offset into a listing: 0 unless given, at most 100,000.
pub fn offset(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(0),
        Some(n) if (0..=100_000).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field("offset", "must be between 0 and 100000")),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(json: &str) -> String {
        String::from_utf8(integral_numbers(json.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn numbers_that_denote_integers_are_written_as_integers() {
        assert_eq!(
            normalized(r#"{"a":1722.0,"b":1.5e3,"c":-0.0,"d":1500e-2,"e":2E+2,"f":1e0}"#),
            r#"{"a":1722,"b":1500,"c":0,"d":15,"e":200,"f":1}"#
        );
    }

    #[test]
    fn fractions_strings_and_malformed_numbers_are_left_alone() {
        for json in [
            r#"{"a":1.5}"#,
            r#"{"a":"1.0"}"#,
            r#"{"a":"x\"1.0"}"#,
            r#"{"a":1e400}"#,
            r#"{"a":01.0}"#,
            r#"{"a":1.}"#,
            r#"{"a":17,"b":true,"c":null}"#,
            r#"[1e-1]"#,
        ] {
            assert_eq!(normalized(json), json, "{json}");
        }
    }

    #[test]
    fn an_integral_float_reaches_an_integer_field() {
        #[derive(serde::Deserialize)]
        struct Amounts {
            violations: i64,
        }
        let a: Amounts = parse_json(br#"{"violations": 1722.0}"#).unwrap();
        assert_eq!(a.violations, 1722);
        assert!(parse_json::<Amounts>(br#"{"violations": 1722.5}"#).is_err());
    }
}
