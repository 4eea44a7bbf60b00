-- Evidence (issue 12, #6): photos, scans and PDFs attached to a drawn institution's
-- result. Content-addressed by SHA-256: on PostgreSQL the bytes are rows of
-- evidence_blobs (one per distinct content), `evidence` holding the references; neither
-- is ever changed nor deleted (the audit log names the sha256).
CREATE TABLE evidence_blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    data BYTEA NOT NULL
);
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
CREATE TRIGGER evidence_immutable BEFORE UPDATE OR DELETE ON evidence
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER evidence_no_truncate BEFORE TRUNCATE ON evidence
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER evidence_blobs_immutable BEFORE UPDATE OR DELETE ON evidence_blobs
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER evidence_blobs_no_truncate BEFORE TRUNCATE ON evidence_blobs
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
