-- The answer of the draw call that carried an Idempotency-Key, kept so that every replay
-- of that key (from any server process on this database) gets the same bytes.
CREATE TABLE draw_answers (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    draw_key TEXT NOT NULL,
    body TEXT NOT NULL,
    kept_at TEXT NOT NULL,
    PRIMARY KEY (task_id, draw_key)
);
