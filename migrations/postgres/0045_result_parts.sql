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

CREATE FUNCTION suiji_result_part_publish_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'result_parts keeps every version';
    END IF;
    IF OLD.published_at IS NOT NULL OR NEW.data IS DISTINCT FROM OLD.data
       OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.department IS DISTINCT FROM OLD.department
       OR NEW.correction_reason IS DISTINCT FROM OLD.correction_reason
       OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at
       OR NEW.recorded_by IS DISTINCT FROM OLD.recorded_by THEN
        RAISE EXCEPTION 'a result part version is immutable once written; only its first publication time is set';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER result_parts_publish_once BEFORE UPDATE OR DELETE ON result_parts
    FOR EACH ROW EXECUTE FUNCTION suiji_result_part_publish_once();
CREATE TRIGGER result_parts_no_truncate BEFORE TRUNCATE ON result_parts
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
