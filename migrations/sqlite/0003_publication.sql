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

-- The drawn institutions of each task, derived from the immutable result at draw time,
-- so public listings can filter by region and an institution's history is one lookup.
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

-- Every version of every inspection result. A version is never changed, except that
-- its publication time is set once.
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

CREATE TRIGGER task_selections_immutable BEFORE UPDATE ON task_selections
BEGIN SELECT RAISE(ABORT, 'task_selections is immutable'); END;
CREATE TRIGGER task_selections_no_delete BEFORE DELETE ON task_selections
BEGIN SELECT RAISE(ABORT, 'task_selections is immutable'); END;
CREATE TRIGGER inspection_results_no_delete BEFORE DELETE ON inspection_results
BEGIN SELECT RAISE(ABORT, 'inspection_results keeps every version'); END;
CREATE TRIGGER inspection_results_publish_once BEFORE UPDATE ON inspection_results
WHEN OLD.published_at IS NOT NULL OR NEW.data IS NOT OLD.data
    OR NEW.version IS NOT OLD.version OR NEW.correction_reason IS NOT OLD.correction_reason
    OR NEW.recorded_at IS NOT OLD.recorded_at OR NEW.recorded_by IS NOT OLD.recorded_by
BEGIN SELECT RAISE(ABORT, 'a result version is immutable once written; only its first publication time is set'); END;
