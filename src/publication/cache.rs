//! Built public responses, kept as bytes until something changes.
//!
//! Published views change only on publish, correction or replacement, all of which are
//! writes. Validity is a generation number that moves when
//! - this process completes a write: a middleware calls [`Cache::bump`] after every
//!   successful non-GET request on `/api/…` (the handler's transaction has committed);
//! - any process (another node on the same PostgreSQL, a CLI import) completes a write:
//!   at most every [`HEAD_CHECK`], one request reads the audit chain's head (every change is
//!   in the audit log) and bumps the generation when it moved.
//!
//! An entry built under an older generation is rebuilt on its next request; a
//! conditional request whose ETag matches a current entry gets 304 without building.

use crate::store::{Store, read_model};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How often the audit chain's head is checked for writes by other processes.
pub const HEAD_CHECK: Duration = Duration::from_millis(250);
/// The cache is emptied when its bodies grow past this many bytes.
const MAX_BYTES: usize = 256 * 1024 * 1024;
/// … or past this many entries (list pages are keyed by their query string).
const MAX_ENTRIES: usize = 50_000;

/// One built response.
pub struct Entry {
    generation: u64,
    etag: HeaderValue,
    content_type: &'static str,
    body: Bytes,
    extra: Vec<(HeaderName, HeaderValue)>,
}

/// What a builder produces: the body and any headers beside the content type.
pub struct Built {
    pub body: Vec<u8>,
    pub extra: Vec<(HeaderName, HeaderValue)>,
}

impl From<Vec<u8>> for Built {
    fn from(body: Vec<u8>) -> Self {
        Self {
            body,
            extra: Vec::new(),
        }
    }
}

pub struct Cache {
    local: AtomicU64,
    remote: AtomicU64,
    head: AtomicI64,
    epoch: Instant,
    checked_at_ms: AtomicU64,
    checking: AtomicBool,
    entries: Mutex<HashMap<String, std::sync::Arc<Entry>>>,
    bytes: AtomicUsize,
}

impl Default for Cache {
    fn default() -> Self {
        Self {
            local: AtomicU64::new(0),
            remote: AtomicU64::new(0),
            head: AtomicI64::new(-1),
            epoch: Instant::now(),
            checked_at_ms: AtomicU64::new(0),
            checking: AtomicBool::new(false),
            entries: Mutex::new(HashMap::new()),
            bytes: AtomicUsize::new(0),
        }
    }
}

/// Clears the "check in progress" flag even if the check is cancelled.
struct Checking<'a>(&'a AtomicBool);
impl Drop for Checking<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A strong ETag over the exact bytes.
pub fn etag_of(body: &[u8]) -> HeaderValue {
    let tag = format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32]);
    HeaderValue::from_str(&tag).expect("hex is a valid header")
}

fn matches(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.to_str().unwrap_or_default();
    request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// A public response: strong ETag over the exact bytes, short shared caching, 304 when
/// the client already has them.
pub fn respond(
    request: &HeaderMap,
    content_type: &'static str,
    etag: HeaderValue,
    body: Bytes,
    extra: &[(HeaderName, HeaderValue)],
) -> Response {
    let mut resp = if matches(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    for (k, v) in extra {
        h.insert(k.clone(), v.clone());
    }
    resp
}

/// The same for a body built on the spot (not cached).
pub fn cached(request: &HeaderMap, content_type: &'static str, body: Vec<u8>) -> Response {
    let etag = etag_of(&body);
    respond(request, content_type, etag, body.into(), &[])
}

impl Cache {
    /// Something this process wrote has committed: everything built so far is stale.
    pub fn bump(&self) {
        self.local.fetch_add(1, Ordering::AcqRel);
    }

    /// The current generation, after the shared audit-head check if it is due.
    pub async fn generation(&self, store: &Store) -> u64 {
        let now = self.epoch.elapsed().as_millis() as u64;
        let last = self.checked_at_ms.load(Ordering::Acquire);
        if (last == 0 || now.saturating_sub(last) >= HEAD_CHECK.as_millis() as u64)
            && !self.checking.swap(true, Ordering::AcqRel)
        {
            let _guard = Checking(&self.checking);
            match read_model::audit_head(store).await {
                Ok(head) => {
                    if self.head.swap(head, Ordering::AcqRel) != head {
                        self.remote.fetch_add(1, Ordering::AcqRel);
                    }
                    self.checked_at_ms.store(now.max(1), Ordering::Release);
                }
                // Unknown: treat as changed, and try again on the next request.
                Err(e) => {
                    tracing::warn!(error = %e, "reading the audit head for the public cache");
                    self.remote.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
        self.local.load(Ordering::Acquire) + self.remote.load(Ordering::Acquire)
    }

    fn get(&self, key: &str, generation: u64) -> Option<std::sync::Arc<Entry>> {
        let entries = self.entries.lock().expect("cache lock");
        entries
            .get(key)
            .filter(|e| e.generation == generation)
            .cloned()
    }

    fn put(&self, key: String, entry: std::sync::Arc<Entry>) {
        let size = entry.body.len();
        let mut entries = self.entries.lock().expect("cache lock");
        if self.bytes.load(Ordering::Relaxed) + size > MAX_BYTES || entries.len() >= MAX_ENTRIES {
            entries.clear();
            self.bytes.store(0, Ordering::Relaxed);
        }
        if let Some(old) = entries.insert(key, entry) {
            self.bytes.fetch_sub(old.body.len(), Ordering::Relaxed);
        }
        self.bytes.fetch_add(size, Ordering::Relaxed);
    }

    /// Serves `key` from the cache, building it with `build` when missing or stale.
    pub async fn serve<E, F, Fut>(
        &self,
        store: &Store,
        request: &HeaderMap,
        key: String,
        content_type: &'static str,
        build: F,
    ) -> Result<Response, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Built, E>>,
    {
        let generation = self.generation(store).await;
        let entry = match self.get(&key, generation) {
            Some(e) => e,
            None => {
                let built = build().await?;
                let entry = std::sync::Arc::new(Entry {
                    generation,
                    etag: etag_of(&built.body),
                    content_type,
                    body: built.body.into(),
                    extra: built.extra,
                });
                self.put(key, entry.clone());
                entry
            }
        };
        Ok(respond(
            request,
            entry.content_type,
            entry.etag.clone(),
            entry.body.clone(),
            &entry.extra,
        ))
    }
}

/// Middleware: after a write on `/api/…` that did not fail as a client error (its transaction has committed by the
/// time the handler answers), everything built so far is stale.
pub async fn bump_after_write(
    axum::extract::State(publication): axum::extract::State<std::sync::Arc<super::Publication>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let write = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    ) && (req.uri().path().starts_with("/api/")
        || req.uri().path().starts_with("/public/"));
    let resp = next.run(req).await;
    // A client error changed nothing; anything else may have committed.
    if write && !resp.status().is_client_error() {
        publication.cache.bump();
    }
    resp
}
