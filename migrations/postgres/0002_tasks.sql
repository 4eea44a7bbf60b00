-- Joint draw tasks: configuration, committed and revealed entropy, the sealed snapshot,
-- the draw, and replacements. Snapshots, results and replacements are immutable.

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    year BIGINT NOT NULL,
    lead_department TEXT NOT NULL REFERENCES departments (code),
    config TEXT NOT NULL,
    pool_hash TEXT,
    seed TEXT,
    result_hash TEXT,
    draw_key TEXT,
    cancel_reason TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sealed_at TEXT,
    drawn_at TEXT,
    cancelled_at TEXT
);
CREATE INDEX tasks_year ON tasks (year, id);
CREATE INDEX tasks_state ON tasks (state, id);

CREATE TABLE task_entropy (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    source TEXT NOT NULL,
    note TEXT,
    commitment TEXT,
    committed_by TEXT,
    committed_at TEXT,
    value TEXT,
    revealed_by TEXT,
    revealed_at TEXT,
    PRIMARY KEY (task_id, source)
);

CREATE TABLE task_snapshots (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id),
    snapshot TEXT NOT NULL
);

CREATE TABLE task_results (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id),
    result TEXT NOT NULL
);

CREATE TABLE task_replacements (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    seq BIGINT NOT NULL,
    institution TEXT NOT NULL,
    department TEXT NOT NULL,
    out_inspector TEXT NOT NULL,
    in_inspector TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
);

CREATE TRIGGER task_snapshots_immutable BEFORE UPDATE OR DELETE ON task_snapshots
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER task_results_immutable BEFORE UPDATE OR DELETE ON task_results
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER task_replacements_immutable BEFORE UPDATE OR DELETE ON task_replacements
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
