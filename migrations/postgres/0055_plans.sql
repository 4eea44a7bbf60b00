-- Issue 13: annual plans (抽查计划). A plan is a versioned record (every version in
-- record_history, every change in the audit log); `state` moves draft -> published and a
-- published plan changes only by amendments, each with its reason.
CREATE TABLE plans (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    year TEXT NOT NULL,
    lead_department TEXT NOT NULL REFERENCES departments (code),
    state TEXT NOT NULL DEFAULT 'draft',
    published_at TEXT,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX plans_year ON plans (year, id);

-- The reason of every amendment of a published plan (the version it created).
CREATE TABLE plan_amendments (
    plan_id TEXT NOT NULL REFERENCES plans (id),
    version BIGINT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (plan_id, version)
);

-- The task of each round of a plan (a cancelled round task may be followed by another:
-- the newest row of a round is its task).
CREATE TABLE plan_rounds (
    plan_id TEXT NOT NULL REFERENCES plans (id),
    round BIGINT NOT NULL,
    task_id TEXT NOT NULL UNIQUE REFERENCES tasks (id),
    plan_version BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX plan_rounds_plan ON plan_rounds (plan_id, round);
