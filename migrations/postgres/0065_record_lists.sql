-- Record lists (issue 14): named, immutable lists of records (patients, bills…) uploaded
-- as CSV/XLSX, drawn from by sample tasks. Never public. A record is stored once, with its
-- member hash hex(SHA-256(salt || id)) under the list's own salt: the primary key on the
-- member hash is what refuses a duplicate id (one index instead of two for 10^7 rows).
CREATE TABLE record_lists (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    id_column TEXT NOT NULL,
    columns TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    format TEXT NOT NULL,
    encoding TEXT,
    salt TEXT NOT NULL,
    organization TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_by TEXT,
    deleted_at TEXT
);
CREATE INDEX record_lists_created ON record_lists (created_at);

CREATE TABLE list_rows (
    list_id TEXT NOT NULL REFERENCES record_lists (id),
    member TEXT COLLATE "C" NOT NULL,
    row_no BIGINT NOT NULL,
    record_id TEXT NOT NULL,
    attrs TEXT NOT NULL,
    PRIMARY KEY (list_id, member)
);
CREATE TRIGGER list_rows_immutable BEFORE UPDATE ON list_rows
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();

-- Which tasks draw from a list: a used list can no longer be deleted.
CREATE TABLE list_uses (
    list_id TEXT NOT NULL REFERENCES record_lists (id),
    task_id TEXT NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (list_id, task_id)
);
CREATE INDEX list_uses_task ON list_uses (task_id);
