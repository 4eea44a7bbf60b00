//! One error type for the whole HTTP API, rendered as RFC 9457 `application/problem+json`.
//!
//! Handlers return `Result<_, ApiError>`; every variant maps to one stable problem `type`,
//! so clients can branch on it without parsing prose. Only `Internal` yields a 500, and it
//! never leaks the underlying message to the caller (it is logged instead).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One field that failed validation, named by its JSON path.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the offending field, e.g. `credit_code` or `strata[1].ratio`.
    pub field: String,
    /// Why the value was refused, in words.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// One bad cell (or row) of an imported file.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct RowError {
    /// Row number as a spreadsheet shows it: the header is row 1.
    pub row: u64,
    /// The column's title as written in the file's header row.
    pub column: String,
    /// The cell's content, cut to its first 100 characters (followed by `…`).
    pub value: String,
    /// Why it was refused, in words.
    pub reason: String,
}

impl RowError {
    pub fn new(
        row: u64,
        column: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            row,
            column: column.into(),
            value: truncate_echo(value.into()),
            reason: reason.into(),
        }
    }
}

/// The most characters of a refused value echoed back: enough to find it, never a whole
/// 32,767-character cell.
pub const ECHO_CHARS: usize = 100;

/// `value` cut to [`ECHO_CHARS`] characters, with `…` when cut.
pub fn truncate_echo(value: String) -> String {
    match value.char_indices().nth(ECHO_CHARS) {
        None => value,
        Some((at, _)) => format!("{}…", &value[..at]),
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// The RFC 9457 problem document every error response carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem (`urn:suiji:problem:<slug>`).
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind of problem, Chinese first then English (e.g. `未找到 Not
    /// found`); `type` is the stable identifier to match on.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, in words.
    pub detail: String,
    /// For validation problems: every field refused and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For imports: every bad row (at most the first 1000, in file order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<RowError>>,
    /// For imports: how many row errors were found in all (may exceed `rows`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_error_count: Option<u64>,
    /// For state conflicts: the state the object is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<String>,
    /// For a pool that cannot be sealed: every institution × department pair with fewer
    /// eligible inspectors than the team needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infeasible: Option<Vec<InfeasiblePair>>,
}

/// An institution for which a department cannot field a full team (conflicts of interest,
/// cross-region rule, too few active inspectors).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct InfeasiblePair {
    pub institution: String,
    pub department: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{detail}")]
    Unauthorized { detail: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    /// The object is not in a state that allows this step.
    #[error("{detail}")]
    WrongState { detail: String, current: String },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A public write past its rate limit (issue 15: objections): try again later.
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// An imported file with bad rows: nothing was written.
    #[error("{detail}")]
    Rows {
        detail: String,
        rows: Vec<RowError>,
        total: u64,
    },
    #[error("{} institution/department pair(s) lack enough eligible inspectors", .0.len())]
    Infeasible(Vec<InfeasiblePair>),
    /// The database is busy (a long import holds SQLite's write lock, or every
    /// connection is in use): retry shortly. Nothing was changed.
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 422 for a single field.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, reason)])
    }

    /// A 422 listing every refused field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.reason),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::Validation { detail, errors }
    }

    /// A 422 for an imported file with bad rows (`total` of them, `rows` the ones listed):
    /// one error is named with its row and column, more are counted.
    pub fn rows(rows: Vec<RowError>, total: u64) -> Self {
        let detail = match rows.as_slice() {
            [one] if total == 1 => format!(
                "row {}{}: {}; nothing was written",
                one.row,
                if one.column.is_empty() {
                    String::new()
                } else {
                    format!(", column {}", one.column)
                },
                one.reason
            ),
            _ => format!("{total} errors in the file; nothing was written"),
        };
        Self::Rows {
            detail,
            rows,
            total,
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::Unauthorized {
            detail: detail.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "请求有误 Bad request",
            ),
            Unauthorized { .. } => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "需要身份认证 Authentication required",
            ),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "无权操作 Not allowed"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "未找到 Not found"),
            MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "不支持此方法 Method not allowed",
            ),
            Conflict(_) => (StatusCode::CONFLICT, "conflict", "与现有记录冲突 Conflict"),
            WrongState { .. } => (
                StatusCode::CONFLICT,
                "wrong-state",
                "当前状态不允许此操作 Wrong state",
            ),
            PreconditionFailed(_) => (
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "版本已过期 Stale version",
            ),
            PreconditionRequired(_) => (
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "需要 If-Match 版本号 If-Match required",
            ),
            PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "请求内容过大 Payload too large",
            ),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "不支持的内容类型 Unsupported media type",
            ),
            TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "请求过于频繁，请稍后再试 Too many requests",
            ),
            Validation { .. } | Rows { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "输入有误 Invalid input",
            ),
            Infeasible(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "infeasible-pool",
                "无法组成检查组 Teams cannot be formed",
            ),
            Busy(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "系统繁忙，请稍后重试 Busy, retry shortly",
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "服务器内部错误 Internal error",
            ),
        }
    }

    /// A 409 for a step the object's state does not allow.
    pub fn wrong_state(detail: impl Into<String>, current: impl std::fmt::Display) -> Self {
        Self::WrongState {
            detail: detail.into(),
            current: current.to_string(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::invalid(vec![e])
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::Failure;
        match crate::store::classify(&e) {
            // A unique-key race that slipped past the explicit existence checks
            // (PostgreSQL, two concurrent inserts) is a conflict, not a fault.
            Failure::UniqueViolation => {
                ApiError::Conflict("a record with the same unique key already exists".into())
            }
            Failure::Busy => {
                tracing::warn!(error = %e, "database busy");
                ApiError::Busy(
                    "the database is busy (for example with a large import); nothing was changed, retry shortly"
                        .into(),
                )
            }
            Failure::Fault => ApiError::Internal(anyhow::Error::new(e)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let detail = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "the server hit an unexpected fault; it has been logged".to_string()
            }
            other => other.to_string(),
        };
        let (mut errors, mut current_state, mut rows, mut row_error_count, mut infeasible) =
            (None, None, None, None, None);
        match self {
            ApiError::Validation { errors: e, .. } => errors = Some(e),
            ApiError::WrongState { current, .. } => current_state = Some(current),
            ApiError::Rows { rows: r, total, .. } => {
                rows = Some(r);
                row_error_count = Some(total);
            }
            ApiError::Infeasible(pairs) => infeasible = Some(pairs),
            _ => {}
        }
        let problem = Problem {
            type_: format!("urn:suiji:problem:{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            errors,
            rows,
            row_error_count,
            current_state,
            infeasible,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"suiji\""),
            );
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
