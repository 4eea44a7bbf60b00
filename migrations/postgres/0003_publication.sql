-- 一公开: loaded working-day calendars, publication of drawn lists and of results.

CREATE TABLE calendar_years (
    year BIGINT PRIMARY KEY,
    version BIGINT NOT NULL,
    data TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

ALTER TABLE tasks ADD COLUMN published_at TEXT;
ALTER TABLE tasks ADD COLUMN closed_at TEXT;

-- Participating departments of each task, for filtering by department.
CREATE TABLE task_departments (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    department TEXT NOT NULL REFERENCES departments (code),
    PRIMARY KEY (task_id, department)
);
CREATE INDEX task_departments_department ON task_departments (department, task_id);

CREATE TABLE task_selections (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    draw_order BIGINT NOT NULL,
    stratum TEXT NOT NULL,
    region TEXT NOT NULL,
    PRIMARY KEY (task_id, institution_id)
);
CREATE INDEX task_selections_institution ON task_selections (institution_id, task_id);
CREATE INDEX task_selections_region ON task_selections (region, task_id);

CREATE TABLE inspection_results (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    version BIGINT NOT NULL,
    data TEXT NOT NULL,
    correction_reason TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    published_at TEXT,
    PRIMARY KEY (task_id, institution_id, version)
);
CREATE INDEX inspection_results_published ON inspection_results (published_at);

CREATE TRIGGER task_selections_immutable BEFORE UPDATE OR DELETE ON task_selections
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();

CREATE FUNCTION suiji_result_publish_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'inspection_results keeps every version';
    END IF;
    IF OLD.published_at IS NOT NULL OR NEW.data IS DISTINCT FROM OLD.data
       OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.correction_reason IS DISTINCT FROM OLD.correction_reason
       OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at
       OR NEW.recorded_by IS DISTINCT FROM OLD.recorded_by THEN
        RAISE EXCEPTION 'a result version is immutable once written; only its first publication time is set';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER inspection_results_publish_once BEFORE UPDATE OR DELETE ON inspection_results
    FOR EACH ROW EXECUTE FUNCTION suiji_result_publish_once();
