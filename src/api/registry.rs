//! Shared shapes and steps of the registry resources: list envelopes, history, and the
//! create/update flow every versioned record goes through.

use super::AppState;
use super::extract::etag;
use crate::error::{ApiError, ApiResult};
use crate::store::records::{self, Record, Stored, Update};
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// A page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOf<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One version of a record as it was written.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub version: i64,
    /// Subject of the token that wrote this version.
    pub actor: String,
    pub at: String,
    /// The document of this version.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<records::HistoryEntry> for HistoryEntry {
    fn from(h: records::HistoryEntry) -> Self {
        Self {
            version: h.version,
            actor: h.actor,
            at: h.at,
            data: h.data,
        }
    }
}

/// Every version of one record.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub items: Vec<HistoryEntry>,
    pub next_cursor: Option<String>,
}

/// A record response: the body with its ETag.
pub fn with_etag<T: Serialize>(status: StatusCode, version: i64, body: T) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, etag(version));
    (status, headers, Json(body)).into_response()
}

/// 201 Created with `Location` and `ETag`.
pub fn created<T: Serialize>(location: String, version: i64, body: T) -> Response {
    let mut resp = with_etag(StatusCode::CREATED, version, body);
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Refuses a document with validation errors.
pub fn check(errors: Vec<crate::error::FieldError>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(errors))
    }
}

/// Fetches a record or 404s naming what was looked for.
pub async fn fetch<T: Record>(state: &AppState, id: &str) -> ApiResult<Stored<T>> {
    state
        .store
        .record::<T>(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no {} with id {id}", T::OBJECT)))
}

/// Turns the outcome of an update into a response or the matching error.
pub fn update_outcome<T: Record>(outcome: Update<T>, id: &str) -> ApiResult<Stored<T>> {
    match outcome {
        Update::Updated(s) | Update::Unchanged(s) => Ok(s),
        Update::NotFound => Err(ApiError::NotFound(format!("no {} with id {id}", T::OBJECT))),
        Update::Stale { current } => Err(ApiError::PreconditionFailed(format!(
            "the {} was changed meanwhile: current version is {current}; reload it and retry",
            T::OBJECT
        ))),
    }
}

pub async fn history<T: Record>(state: &AppState, id: &str) -> ApiResult<History> {
    fetch::<T>(state, id).await?;
    let items = state.store.history(T::OBJECT, id).await?;
    Ok(History {
        items: items.into_iter().map(HistoryEntry::from).collect(),
        next_cursor: None,
    })
}

/// Declares the response type of a registry resource from its stored form.
macro_rules! stored_into {
    ($input:ty => $out:ident) => {
        impl From<crate::store::records::Stored<$input>> for $out {
            fn from(s: crate::store::records::Stored<$input>) -> Self {
                $out {
                    id: s.id,
                    version: s.version,
                    data: s.data,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                }
            }
        }
    };
}

use crate::domain::registry::{
    Inspector, InspectorInput, Institution, InstitutionInput, Item, ItemInput,
};
stored_into!(InstitutionInput => Institution);
stored_into!(InspectorInput => Inspector);
stored_into!(ItemInput => Item);

/// 201 when a call made something new, 200 when it found it made already.
pub fn created_or_ok(created: bool) -> axum::http::StatusCode {
    if created {
        axum::http::StatusCode::CREATED
    } else {
        axum::http::StatusCode::OK
    }
}
