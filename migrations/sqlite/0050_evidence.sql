-- Evidence (issue 12, #6): photos, scans and PDFs attached to a drawn institution's
-- result. Content-addressed by SHA-256: on SQLite the bytes are files beside the database
-- (`<db dir>/evidence/ab/cdef…`), this table holding only the references; a reference is
-- never changed nor deleted (the audit log names its sha256).
CREATE TABLE evidence (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (task_id, institution_id, sha256)
);
CREATE INDEX evidence_sha256 ON evidence (sha256);
CREATE TRIGGER evidence_immutable BEFORE UPDATE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence references are immutable'); END;
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence references are immutable'); END;

-- The bytes themselves, for a SQLite database without a file (`sqlite::memory:`) only.
CREATE TABLE evidence_blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    data BLOB NOT NULL
);
