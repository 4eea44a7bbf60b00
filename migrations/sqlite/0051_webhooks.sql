-- Webhooks (issue 12, #7): subscriptions, the outbox of deliveries (written in the same
-- transaction as the event) and every delivery attempt.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    -- The subscribed events, comma-separated and framed by commas: `,seal,draw,`.
    events TEXT NOT NULL,
    -- The HMAC key: the receiver holds the same; kept to sign every delivery.
    secret TEXT NOT NULL,
    -- Null: every task (admin); else the tasks this department leads or takes part in.
    department TEXT REFERENCES departments (code),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_by TEXT,
    deleted_at TEXT
);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    event TEXT NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks (id),
    occurred_at TEXT NOT NULL,
    -- The JSON body, fixed at the event: every attempt sends the same bytes.
    payload TEXT NOT NULL,
    -- pending, delivered or failed (attempts exhausted, or the webhook deleted).
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    -- A node sending the delivery holds it until then (several nodes, one database).
    lease_until TEXT,
    delivered_at TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempt BIGINT NOT NULL,
    at TEXT NOT NULL,
    status_code BIGINT,
    error TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
