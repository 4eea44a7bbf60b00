-- Issue 15 part 7: the public blacklist (黑名单). One row per listing decision, its
-- current version (listed, or delisted early); every version also in record_history.
CREATE TABLE blacklist_entries (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    task_id TEXT NOT NULL REFERENCES tasks (id),
    state TEXT NOT NULL,
    listed_on TEXT NOT NULL,
    until_date TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX blacklist_institution ON blacklist_entries (institution_id);
CREATE INDEX blacklist_current ON blacklist_entries (state, until_date);
