-- Issue 15 part 4: the clue ledger (举报线索台账). A clue is a versioned record (every
-- version also in record_history, every change audited). The reporter's personal data
-- lives in `data` only and is never public nor exported.

CREATE TABLE clues (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    region_prefix TEXT NOT NULL,
    assigned_region TEXT NOT NULL,
    state TEXT NOT NULL,
    due_date TEXT NOT NULL,
    task_id TEXT REFERENCES tasks (id),
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX clues_open ON clues (state, due_date);
CREATE INDEX clues_region ON clues (region_prefix);
CREATE INDEX clues_task ON clues (task_id);
