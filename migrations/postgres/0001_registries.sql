-- Registries (一单两库), record history and the append-only audit chain.

CREATE TABLE departments (
    code TEXT PRIMARY KEY,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO departments (code, name_zh, name_en, created_at) VALUES
    ('medical_insurance', '医疗保障局', 'Medical Insurance Bureau', '2026-01-01T00:00:00.000Z'),
    ('health', '卫生健康委员会', 'Health Commission', '2026-01-01T00:00:00.000Z'),
    ('market_regulation', '市场监督管理局', 'Market Regulation Administration', '2026-01-01T00:00:00.000Z');

CREATE TABLE institutions (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    level TEXT NOT NULL,
    ownership TEXT NOT NULL,
    region TEXT NOT NULL,
    risk_grade TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX institutions_kind ON institutions (kind, id);
CREATE INDEX institutions_region ON institutions (region);
CREATE INDEX institutions_status ON institutions (status, id);

CREATE TABLE institution_tags (
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (institution_id, tag)
);
CREATE INDEX institution_tags_tag ON institution_tags (tag, institution_id);

CREATE TABLE inspectors (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    department TEXT NOT NULL REFERENCES departments (code),
    certificate_no TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX inspectors_department ON inspectors (department, status, id);

CREATE TABLE inspection_items (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    department TEXT NOT NULL REFERENCES departments (code),
    institution_kind TEXT NOT NULL,
    code TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (department, code)
);

-- Every version of every registry record, as it was written.
CREATE TABLE record_history (
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    data TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (object_type, object_id, version)
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor_sub TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, seq);

-- The head of the chain; updating it first serializes concurrent appends.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION suiji_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER record_history_append_only BEFORE UPDATE OR DELETE ON record_history
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
