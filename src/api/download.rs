//! File answers (exports, reports): one way to name a download's type and file name.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// CSV as every export writes it (UTF-8).
pub const CSV: &str = "text/csv; charset=utf-8";
/// An Office Open XML workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `body` as a download of `content_type` named `filename` (ASCII; a name that cannot be
/// a header value is left out rather than failing the answer).
pub fn attachment(content_type: &'static str, filename: &str, body: impl Into<Body>) -> Response {
    let mut resp = body.into().into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_type_and_the_file() {
        let r = attachment(CSV, "plan-1.csv", "a,b\n");
        assert_eq!(r.headers()[header::CONTENT_TYPE], CSV);
        assert_eq!(
            r.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"plan-1.csv\""
        );
        let r = attachment(XLSX, "bad\nname", Vec::new());
        assert!(r.headers().get(header::CONTENT_DISPOSITION).is_none());
    }
}
