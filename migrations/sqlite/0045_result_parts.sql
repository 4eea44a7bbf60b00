-- Each department's own part of a joint inspection's result (谁检查、谁录入、谁公开):
-- versioned like inspection_results; a version is immutable once written, only its
-- first publication time is set.
CREATE TABLE result_parts (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    department TEXT NOT NULL REFERENCES departments (code),
    version BIGINT NOT NULL,
    data TEXT NOT NULL,
    correction_reason TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    published_at TEXT,
    PRIMARY KEY (task_id, institution_id, department, version)
);
CREATE INDEX result_parts_published ON result_parts (published_at);

CREATE TRIGGER result_parts_no_delete BEFORE DELETE ON result_parts
BEGIN SELECT RAISE(ABORT, 'result_parts keeps every version'); END;
CREATE TRIGGER result_parts_publish_once BEFORE UPDATE ON result_parts
WHEN OLD.published_at IS NOT NULL OR NEW.data IS NOT OLD.data
    OR NEW.version IS NOT OLD.version OR NEW.correction_reason IS NOT OLD.correction_reason
    OR NEW.recorded_at IS NOT OLD.recorded_at OR NEW.recorded_by IS NOT OLD.recorded_by
    OR NEW.department IS NOT OLD.department
BEGIN SELECT RAISE(ABORT, 'a result part version is immutable once written; only its first publication time is set'); END;
