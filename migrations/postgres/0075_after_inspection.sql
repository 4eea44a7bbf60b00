-- Issue 15: after the inspection. Rectifications and referrals are versioned records
-- (every version also in record_history, every change audited); major-case reports and
-- monthly submissions are written once.

CREATE TABLE rectifications (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    state TEXT NOT NULL,
    due_date TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX rectifications_result ON rectifications (task_id, institution_id);
CREATE INDEX rectifications_open ON rectifications (state, due_date);

-- Tasks drawn to verify a rectification (整改核查): exempt from frequency caps.
CREATE TABLE verification_tasks (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id),
    rectification_id TEXT NOT NULL REFERENCES rectifications (id),
    linked_at TEXT NOT NULL
);

CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,
    referred_on TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX referrals_result ON referrals (task_id, institution_id);

-- 要情报告: a major case reported to the level above (once per result).
CREATE TABLE major_case_reports (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    data TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    PRIMARY KEY (task_id, institution_id)
);

-- Settings of the after-inspection rules (the major-case rule), one JSON value per key.
CREATE TABLE followup_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A county's monthly statistics report as submitted: frozen and hashed.
CREATE TABLE monthly_submissions (
    organization TEXT NOT NULL,
    month TEXT NOT NULL,
    region_prefix TEXT NOT NULL,
    data TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    PRIMARY KEY (organization, month)
);


CREATE FUNCTION suiji_monthly_submission_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a submitted monthly report is frozen';
END;
$$;
CREATE TRIGGER monthly_submissions_frozen BEFORE UPDATE OR DELETE ON monthly_submissions
    FOR EACH ROW EXECUTE FUNCTION suiji_monthly_submission_frozen();
CREATE TRIGGER monthly_submissions_no_truncate BEFORE TRUNCATE ON monthly_submissions
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
