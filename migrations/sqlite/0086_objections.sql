-- Issue 15 part 5: objections (异议) to published results, filed through the public API.
-- Versioned like the clues; the filer's contact lives in `data` only and is never public;
-- the filer's secret token is kept as its SHA-256 only.

CREATE TABLE objections (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    task_id TEXT NOT NULL REFERENCES tasks (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    state TEXT NOT NULL,
    due_date TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX objections_result ON objections (task_id, institution_id);
CREATE INDEX objections_filed ON objections (filed_at);
CREATE INDEX objections_open ON objections (state, due_date);
