//! Webhooks: an OA system or a messaging bot learns of a seal, draw, publication,
//! replacement or results publication without polling.
//!
//! Each event writes one delivery per matching subscription in the event's own
//! transaction (an outbox: no event without its deliveries, no delivery without its
//! event). A worker in every server node claims due deliveries under a lease (so of
//! several nodes on one database one sends a delivery at a time), POSTs the JSON body
//! signed with HMAC-SHA256, and retries with exponential backoff up to
//! [`MAX_ATTEMPTS`] attempts; every attempt is in the delivery log.

use crate::auth::{Principal, Role};
use crate::domain::DepartmentCode;
use crate::store::webhooks::{self as store, NewDelivery, WebhookRow};
use crate::store::{Store, Tx, audit};
use crate::tasks::{TaskError, TaskResult};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;
use utoipa::ToSchema;

/// The events a subscription may choose.
pub const EVENTS: [&str; 5] = ["seal", "draw", "publish", "replacement", "results.publish"];

/// Attempts per delivery before it is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;

/// The most characters of a URL.
pub const MAX_URL_CHARS: usize = 2000;

/// The URL rule as the OpenAPI document states it on `WebhookInput.url`; [`url_shape`]
/// checks exactly this (a unit test holds them together).
#[cfg(test)]
const URL_PATTERN: &str = "^[hH][tT][tT][pP][sS]?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$";

/// `http://` or `https://` (any case), a host of letters, digits, dots and hyphens, an
/// optional `:port` of 1–5 digits, then nothing or a `/` and printable ASCII.
fn url_shape(url: &str) -> bool {
    let lower = url
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        && path.bytes().all(|b| (b'!'..=b'~').contains(&b))
}

/// The event an audited lifecycle action raises, if any.
pub fn event_of(action: &str) -> Option<&'static str> {
    match action {
        "task.seal" => Some("seal"),
        "task.draw" => Some("draw"),
        "task.publish" => Some("publish"),
        "task.replace" => Some("replacement"),
        "result.publish" => Some("results.publish"),
        _ => None,
    }
}

/// What a subscription is created from.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where deliveries are POSTed: an `http://` or `https://` URL (at most 2000
    /// characters). URLs are trusted as given by an admin or coordinator: the server
    /// will connect to any host, internal ones included.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[hH][tT][tT][pP][sS]?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$"
    )]
    pub url: String,
    /// A non-empty subset of `seal`, `draw`, `publish`, `replacement`, `results.publish`.
    #[schema(value_type = Vec<EventName>, min_items = 1, max_items = 5)]
    pub events: Vec<String>,
    /// The HMAC key (16–200 printable ASCII characters); generated (64 hex digits) when
    /// absent. Shown once, in the answer to this call.
    #[serde(default)]
    #[schema(min_length = 16, max_length = 200, pattern = "^[!-~]{16,200}$")]
    pub secret: Option<String>,
    /// The department whose tasks (led or taken part in) raise deliveries. A coordinator's
    /// own by default (another is refused); admins may omit it for every task.
    #[serde(default)]
    #[schema(pattern = "^[a-z][a-z0-9_]{1,31}$")]
    pub department: Option<String>,
}

/// The events a subscription can name, as the schema states them (the field stays a list
/// of strings, checked by [`check`]).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
enum EventName {
    #[serde(rename = "seal")]
    Seal,
    #[serde(rename = "draw")]
    Draw,
    #[serde(rename = "publish")]
    Publish,
    #[serde(rename = "replacement")]
    Replacement,
    #[serde(rename = "results.publish")]
    ResultsPublish,
}

/// A validated subscription.
struct Checked {
    url: String,
    events: Vec<&'static str>,
    secret: Option<String>,
    department: Option<DepartmentCode>,
}

fn check(input: &WebhookInput) -> TaskResult<Checked> {
    let mut errors = Vec::new();
    let url = input.url.trim();
    let scheme_ok = ["http://", "https://"].iter().any(|s| {
        url.len() > s.len()
            && url
                .get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
    });
    if !scheme_ok {
        errors.push(crate::error::FieldError::new(
            "url",
            "an http:// or https:// URL with a host",
        ));
    } else if url.chars().count() > MAX_URL_CHARS
        || url.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        errors.push(crate::error::FieldError::new(
            "url",
            format!("at most {MAX_URL_CHARS} characters, no spaces or control characters"),
        ));
    } else if !url_shape(url) {
        errors.push(crate::error::FieldError::new(
            "url",
            "the host is letters, digits, dots and hyphens, an optional :port, then a path of \
             printable ASCII characters",
        ));
    }
    let mut events: Vec<&'static str> = Vec::new();
    if input.events.is_empty() {
        errors.push(crate::error::FieldError::new(
            "events",
            format!("at least one of {}", EVENTS.join(", ")),
        ));
    }
    for (i, e) in input.events.iter().enumerate() {
        match EVENTS.iter().find(|k| **k == e.as_str()) {
            Some(k) if !events.contains(k) => events.push(k),
            Some(_) => {}
            None => errors.push(crate::error::FieldError::new(
                format!("events[{i}]"),
                format!("one of {}", EVENTS.join(", ")),
            )),
        }
    }
    if let Some(s) = &input.secret
        && (s.len() < 16 || s.len() > 200 || !s.bytes().all(|b| b.is_ascii_graphic()))
    {
        errors.push(crate::error::FieldError::new(
            "secret",
            "16 to 200 printable ASCII characters without spaces",
        ));
    }
    let department = match input.department.as_deref().map(DepartmentCode::parse) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(r)) => {
            errors.push(crate::error::FieldError::new("department", r));
            None
        }
    };
    TaskError::check(errors)?;
    Ok(Checked {
        url: url.to_string(),
        events,
        secret: input.secret.clone(),
        department,
    })
}

/// A subscription as shown; the secret only in the answer to its creation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// Null: every task.
    pub department: Option<String>,
    pub created_by: String,
    pub created_at: String,
    /// The HMAC key: present only in the answer to `POST /api/v1/webhooks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<WebhookRow> for Webhook {
    fn from(w: WebhookRow) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events,
            department: w.department,
            created_by: w.created_by,
            created_at: w.created_at,
            secret: None,
        }
    }
}

fn generate_secret() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Creates a subscription (admin, or a coordinator for its own department), audited
/// without its secret.
pub async fn create(db: &Store, who: &Principal, input: &WebhookInput) -> TaskResult<Webhook> {
    let c = check(input)?;
    let department = crate::tasks::policy::webhook_department(who, c.department)?;
    if let Some(d) = &department
        && !crate::store::registry::department_exists(&mut *db.read().await?, d.as_str()).await?
    {
        return Err(TaskError::field(
            "department",
            format!("no department {d} is registered"),
        ));
    }
    let secret = c.secret.unwrap_or_else(generate_secret);
    let at = db.now();
    let mut tx = db.begin().await?;
    let id = store::insert(
        &mut tx,
        &c.url,
        &c.events,
        &secret,
        department.as_ref().map(|d| d.as_str()),
        &who.actor(),
        &at,
    )
    .await?;
    let digest =
        audit::payload_digest(&(&c.url, &c.events, department.as_ref().map(|d| d.as_str())));
    audit::append(
        &mut tx,
        &who.actor(),
        "webhook.create",
        "webhook",
        &id,
        &digest,
    )
    .await?;
    tx.commit().await?;
    let row = store::get(&mut *db.read().await?, &id)
        .await?
        .ok_or_else(|| TaskError::internal("webhook vanished"))?;
    Ok(Webhook {
        secret: Some(secret),
        ..row.into()
    })
}

/// The subscriptions a caller manages: an admin's all, a coordinator's its department's.
pub async fn list(db: &Store, who: &Principal) -> TaskResult<Vec<Webhook>> {
    let department = match who.role {
        Role::Admin => None,
        Role::Coordinator => Some(
            who.department
                .clone()
                .ok_or_else(|| TaskError::Forbidden("a coordinator without department".into()))?,
        ),
        Role::Auditor => None,
    };
    Ok(db
        .webhooks(department.as_ref().map(|d| d.as_str()))
        .await?
        .into_iter()
        .map(Webhook::from)
        .collect())
}

/// A subscription the caller manages (or reads, for auditors), or `NotFound`.
pub async fn managed(db: &Store, who: &Principal, id: &str, write: bool) -> TaskResult<WebhookRow> {
    let hook = db
        .webhook(id)
        .await?
        .ok_or_else(|| TaskError::NotFound(format!("no webhook with id {id}")))?;
    if write {
        crate::tasks::policy::manage_webhook(who, hook.department.as_deref())?;
    } else {
        crate::tasks::policy::read_webhook(who, hook.department.as_deref())?;
    }
    Ok(hook)
}

/// Deletes a subscription (its log is kept; its pending deliveries are not sent), audited.
pub async fn delete(db: &Store, who: &Principal, id: &str) -> TaskResult<()> {
    let hook = managed(db, who, id, true).await?;
    if hook.deleted_at.is_some() {
        return Err(TaskError::NotFound(format!("webhook {id} is deleted")));
    }
    let mut tx = db.begin().await?;
    let at = tx.now();
    if store::delete(&mut tx, id, &who.actor(), &at).await? {
        audit::append(
            &mut tx,
            &who.actor(),
            "webhook.delete",
            "webhook",
            id,
            &audit::payload_digest(&id),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The body of a delivery: the same bytes at every attempt.
#[derive(Serialize)]
struct Payload<'a> {
    event: &'a str,
    task_id: &'a str,
    occurred_at: &'a str,
    delivery_id: &'a str,
    webhook_id: &'a str,
    /// Where a reader with a token finds the task.
    task_url: String,
}

/// Writes the deliveries an audited action raises, in its transaction.
pub async fn enqueue(
    tx: &mut Tx,
    action: &str,
    task_id: &str,
    at: &str,
) -> Result<(), sqlx::Error> {
    let Some(event) = event_of(action) else {
        return Ok(());
    };
    store::enqueue(
        tx,
        &NewDelivery {
            event,
            task_id,
            occurred_at: at,
        },
        |delivery_id, webhook_id| {
            serde_json::to_string(&Payload {
                event,
                task_id,
                occurred_at: at,
                delivery_id,
                webhook_id,
                task_url: format!("/api/v1/tasks/{task_id}"),
            })
            .expect("a payload of strings serializes")
        },
    )
    .await
}

/// `sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>` with the subscription's secret.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The first retry waits this long; each further one twice as long as the last.
    pub retry_base: Duration,
    /// How often the worker looks for due deliveries.
    pub poll: Duration,
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Sends due deliveries until `stop` turns true.
pub async fn worker(db: Store, settings: Settings, mut stop: tokio::sync::watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook deliveries disabled: no HTTP client");
            return;
        }
    };
    loop {
        loop {
            if *stop.borrow() {
                return;
            }
            match send_one(&db, &client, &settings).await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery: storage error");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Claims and sends one due delivery; false when none is due.
async fn send_one(db: &Store, client: &reqwest::Client, s: &Settings) -> anyhow::Result<bool> {
    let start = chrono::Utc::now();
    let lease = start + chrono::Duration::seconds(60);
    let Some(d) = db.claim_delivery(&rfc3339(start), &rfc3339(lease)).await? else {
        return Ok(false);
    };
    let attempt = d.attempts + 1;
    let timestamp = chrono::Utc::now().timestamp();
    let sent = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("user-agent", "suiji-webhooks")
        .header("x-suiji-event", &d.event)
        .header("x-suiji-delivery", &d.id)
        .header("x-suiji-timestamp", timestamp.to_string())
        .header(
            "x-suiji-signature",
            signature(&d.secret, timestamp, d.payload.as_bytes()),
        )
        .body(d.payload.clone())
        .send()
        .await;
    let (status, error) = match sent {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16() as i64), None),
        Ok(r) => (
            Some(r.status().as_u16() as i64),
            Some(format!("the receiver answered {}", r.status())),
        ),
        Err(e) => (None, Some(format!("not sent: {e}"))),
    };
    let delivered = error.is_none();
    let retry_at = (!delivered && attempt < MAX_ATTEMPTS).then(|| {
        let wait = s
            .retry_base
            .saturating_mul(1 << (attempt - 1).min(20) as u32);
        rfc3339(chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default())
    });
    if let Some(e) = &error {
        tracing::info!(delivery = %d.id, attempt, error = %e, "webhook delivery failed");
    }
    db.record_attempt(
        &d.id,
        attempt,
        &crate::store::system_now(),
        status,
        error.as_deref(),
        delivered,
        retry_at.as_deref(),
    )
    .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 shape: key "Jefe"; here over "1700000000.{}".
        let s = signature("Jefe", 1_700_000_000, b"{}");
        assert!(s.starts_with("sha256="));
        assert_eq!(s.len(), 7 + 64);
        assert_ne!(s, signature("Jefe", 1_700_000_001, b"{}"));
        // RFC 4231 test case 2 itself, through the same MAC.
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn urls_are_checked_without_slicing_inside_a_character() {
        let input = |url: &str| WebhookInput {
            url: url.into(),
            events: vec!["seal".into()],
            secret: None,
            department: None,
        };
        // A multi-byte character across the scheme's length (a 500 found by fuzzing).
        assert!(check(&input("\u{f1}\u{4e2d}\u{6587}x")).is_err());
        assert!(check(&input("ht\u{4e2d}\u{6587}://x")).is_err());
        assert!(check(&input("ftp://example.org/")).is_err());
        assert!(check(&input("HTTP://oa.internal/hook")).is_ok());
        assert!(check(&input("https://oa.internal/a b")).is_err());
        // What the document's pattern refuses, the server refuses (a host with `*`, found
        // by the contract fuzzer), and what it takes, the server takes.
        assert!(check(&input("hTTPS://wHr01pQ*")).is_err());
        assert!(check(&input("https://10.0.0.7:8443/hooks/suiji?x=1")).is_ok());
        let doc = serde_json::to_value(<WebhookInput as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(doc["properties"]["url"]["pattern"], URL_PATTERN);
        let pattern = regex::Regex::new(URL_PATTERN).unwrap();
        for url in [
            "http://a",
            "HTTPS://a.b-c:1/x?y=1#z",
            "https://a:123456/",
            "https://a:/",
            "https://:80/",
            "https://a_b/",
            "https://a/é",
            "http:/a",
            "https://a.b/c d",
            "httpsx://a",
            "https://a:80:81/",
        ] {
            assert_eq!(url_shape(url), pattern.is_match(url), "{url}");
        }
    }

    #[test]
    fn secrets_are_printable_ascii_without_spaces_as_the_document_says() {
        let input = |secret: &str| WebhookInput {
            url: "https://oa.internal/hook".into(),
            events: vec!["seal".into()],
            secret: Some(secret.into()),
            department: None,
        };
        let pattern = regex::Regex::new("^[!-~]{16,200}$").unwrap();
        for s in [
            "0123456789abcdef",
            "0123456789 abcdef",
            "short",
            "ÄÖÜ0123456789abcdef",
        ] {
            assert_eq!(check(&input(s)).is_ok(), pattern.is_match(s), "{s}");
        }
    }

    #[test]
    fn events_come_from_lifecycle_actions() {
        assert_eq!(event_of("task.replace"), Some("replacement"));
        assert_eq!(event_of("result.publish"), Some("results.publish"));
        assert_eq!(event_of("result.record"), None);
    }
}
