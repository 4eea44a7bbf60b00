//! Webhook subscriptions, the delivery outbox and the delivery log.

use super::{Store, Tx, new_id};
use crate::domain::Actor;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A subscription as stored (the secret only where a delivery is signed).
#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub department: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub deleted_at: Option<String>,
}

fn webhook_from_row(r: &AnyRow) -> Result<WebhookRow, sqlx::Error> {
    let events: String = r.try_get("events")?;
    Ok(WebhookRow {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        events: events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect(),
        department: r.try_get("department")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}

const WEBHOOK_COLUMNS: &str = "id, url, events, department, created_by, created_at, deleted_at";

pub async fn insert(
    tx: &mut Tx,
    url: &str,
    events: &[&str],
    secret: &str,
    department: Option<&str>,
    actor: &Actor,
    at: &str,
) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO webhooks (id, url, events, secret, department, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(url)
    .bind(format!(",{},", events.join(",")))
    .bind(secret)
    .bind(department)
    .bind(&actor.sub)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn get<'e, E>(exec: E, id: &str) -> Result<Option<WebhookRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?
    .as_ref()
    .map(webhook_from_row)
    .transpose()
}

/// Marks a subscription deleted (kept for its delivery log); its pending deliveries fail.
pub async fn delete(tx: &mut Tx, id: &str, actor: &Actor, at: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhooks SET deleted_by = $1, deleted_at = $2 WHERE id = $3 AND deleted_at IS NULL",
    )
    .bind(&actor.sub)
    .bind(at)
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    sqlx::query(
        "UPDATE webhook_deliveries SET state = 'failed' WHERE webhook_id = $1 AND state = 'pending'",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done)
}

/// A pending delivery to write in the event's transaction.
pub struct NewDelivery<'a> {
    pub event: &'a str,
    pub task_id: &'a str,
    pub occurred_at: &'a str,
}

/// Writes one delivery per live subscription to `event` that covers the task (every task,
/// or a department that leads or takes part in it). The payload is built per delivery by
/// `payload(delivery_id, webhook_id)`.
pub async fn enqueue(
    tx: &mut Tx,
    d: &NewDelivery<'_>,
    payload: impl Fn(&str, &str) -> String,
) -> Result<(), sqlx::Error> {
    let hooks: Vec<String> = sqlx::query(
        "SELECT w.id FROM webhooks w, tasks t WHERE t.id = $1 AND w.deleted_at IS NULL \
         AND w.events LIKE $2 \
         AND (w.department IS NULL OR w.department = t.lead_department \
              OR EXISTS (SELECT 1 FROM task_departments x WHERE x.task_id = t.id \
                         AND x.department = w.department)) ORDER BY w.id",
    )
    .bind(d.task_id)
    .bind(format!("%,{},%", d.event))
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<Result<_, _>>()?;
    for hook in hooks {
        let id = new_id();
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, task_id, occurred_at, payload, \
             state, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7)",
        )
        .bind(&id)
        .bind(&hook)
        .bind(d.event)
        .bind(d.task_id)
        .bind(d.occurred_at)
        .bind(payload(&id, &hook))
        // Due at once on the worker's clock (the system's), whatever day the service's
        // clock says the event occurred.
        .bind(super::system_now())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub event: String,
    pub payload: String,
    pub attempts: i64,
}

/// One delivery with its attempts, for the log.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: String,
    pub event: String,
    pub task_id: String,
    pub occurred_at: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub delivered_at: Option<String>,
    pub log: Vec<AttemptRow>,
}

#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub attempt: i64,
    pub at: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
}

impl Store {
    /// Every live subscription (of one department when given), oldest first.
    pub async fn webhooks(&self, department: Option<&str>) -> Result<Vec<WebhookRow>, sqlx::Error> {
        let sql = match department {
            Some(_) => format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE deleted_at IS NULL AND department = $1 ORDER BY id"
            ),
            None => format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE deleted_at IS NULL ORDER BY id"
            ),
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(d) = department {
            q = q.bind(d);
        }
        q.fetch_all(self.pool())
            .await?
            .iter()
            .map(webhook_from_row)
            .collect()
    }

    pub async fn webhook(&self, id: &str) -> Result<Option<WebhookRow>, sqlx::Error> {
        get(self.pool(), id).await
    }

    /// Claims the oldest due delivery for `lease` (an RFC 3339 instant): a conditional
    /// update, so of several nodes exactly one gets it, and a node that dies holding it
    /// loses it when the lease runs out.
    pub async fn claim_delivery(
        &self,
        now: &str,
        lease: &str,
    ) -> Result<Option<Claimed>, sqlx::Error> {
        for _ in 0..5 {
            let Some(row) = sqlx::query(
                "SELECT d.id FROM webhook_deliveries d WHERE d.state = 'pending' \
                 AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1) \
                 ORDER BY d.next_attempt_at, d.id LIMIT 1",
            )
            .bind(now)
            .fetch_optional(self.pool())
            .await?
            else {
                return Ok(None);
            };
            let id: String = row.try_get("id")?;
            let won = sqlx::query(
                "UPDATE webhook_deliveries SET lease_until = $1 WHERE id = $2 \
                 AND state = 'pending' AND (lease_until IS NULL OR lease_until < $3)",
            )
            .bind(lease)
            .bind(&id)
            .bind(now)
            .execute(self.pool())
            .await?
            .rows_affected()
                == 1;
            if !won {
                continue;
            }
            let r = sqlx::query(
                "SELECT d.id, w.url, w.secret, d.event, d.payload, d.attempts \
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
            )
            .bind(&id)
            .fetch_one(self.pool())
            .await?;
            return Ok(Some(Claimed {
                id: r.try_get("id")?,
                url: r.try_get("url")?,
                secret: r.try_get("secret")?,
                event: r.try_get("event")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
            }));
        }
        Ok(None)
    }

    /// Records an attempt and its outcome, and releases the lease: `delivered`, or
    /// pending again at `retry_at`, or `failed` when `retry_at` is `None`.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_attempt(
        &self,
        id: &str,
        attempt: i64,
        at: &str,
        status_code: Option<i64>,
        error: Option<&str>,
        delivered: bool,
        retry_at: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(attempt)
        .bind(at)
        .bind(status_code)
        .bind(error)
        .execute(&mut *tx)
        .await?;
        let (state, next) = match (delivered, retry_at) {
            (true, _) => ("delivered", at),
            (false, Some(t)) => ("pending", t),
            (false, None) => ("failed", at),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, attempts = $2, next_attempt_at = $3, \
             lease_until = NULL, delivered_at = $4 WHERE id = $5 AND state = 'pending'",
        )
        .bind(state)
        .bind(attempt)
        .bind(next)
        .bind(delivered.then_some(at))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// A page of a subscription's deliveries (newest first after `before`), with attempts.
    pub async fn deliveries(
        &self,
        webhook_id: &str,
        before: Option<String>,
        limit: i64,
    ) -> Result<(Vec<DeliveryRow>, Option<String>), sqlx::Error> {
        let mut q = super::QueryBuilder::new(
            "SELECT id, event, task_id, occurred_at, state, attempts, next_attempt_at, delivered_at \
             FROM webhook_deliveries WHERE 1 = 1",
        );
        let w = q.text(webhook_id);
        q.push(&format!(" AND webhook_id = {w}"));
        if let Some(b) = before {
            let p = q.text(b);
            q.push(&format!(" AND id < {p}"));
        }
        let p = q.bind(super::Param::Int(limit + 1));
        q.push(&format!(" ORDER BY id DESC LIMIT {p}"));
        let mut out = Vec::new();
        for r in q.query().fetch_all(self.pool()).await? {
            out.push(DeliveryRow {
                id: r.try_get("id")?,
                event: r.try_get("event")?,
                task_id: r.try_get("task_id")?,
                occurred_at: r.try_get("occurred_at")?,
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                next_attempt_at: r.try_get("next_attempt_at")?,
                delivered_at: r.try_get("delivered_at")?,
                log: Vec::new(),
            });
        }
        let next = if out.len() as i64 > limit {
            out.truncate(limit as usize);
            out.last().map(|d| d.id.clone())
        } else {
            None
        };
        for d in &mut out {
            d.log = sqlx::query(
                "SELECT attempt, at, status_code, error FROM webhook_attempts \
                 WHERE delivery_id = $1 ORDER BY attempt",
            )
            .bind(&d.id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(AttemptRow {
                    attempt: r.try_get("attempt")?,
                    at: r.try_get("at")?,
                    status_code: r.try_get("status_code")?,
                    error: r.try_get("error")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        }
        Ok((out, next))
    }
}
