-- Issue 12: organizations and jurisdiction (省/市/县). Each organization belongs to one
-- department and governs a region (a prefix of the 6-digit division codes). Versioned like
-- the other registries (record_history keeps every version; the audit log every change).
CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    region_prefix TEXT NOT NULL,
    parent TEXT NOT NULL, -- '' for none
    department TEXT NOT NULL REFERENCES departments (code),
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX organizations_department ON organizations (department, region_prefix);
CREATE INDEX organizations_parent ON organizations (parent);

-- The migration path: every existing department gets its default organization, the root
-- of its tree (level national, region_prefix '' = everywhere, code = the department's
-- code). Tokens without an `org` claim act for it, so single-county setups keep working.
INSERT INTO organizations (id, version, code, name, level, region_prefix, parent, department, data, created_at, updated_at)
SELECT 'org-default-' || code, 1, code, name_zh, 'national', '', '', code,
       json_build_object('code', code, 'name', name_zh, 'level', 'national', 'region_prefix', '', 'department', code)::text,
       '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z'
FROM departments;
INSERT INTO record_history (object_type, object_id, version, data, actor, at)
SELECT 'organization', id, 1, data, 'migration 0040', created_at FROM organizations;

-- Which organizations' inspectors a sealed pool took, per department (kept beside the
-- snapshot, outside its hashed canonical text).
CREATE TABLE task_pools (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    department TEXT NOT NULL,
    organization TEXT NOT NULL,
    inspectors BIGINT NOT NULL,
    PRIMARY KEY (task_id, department, organization)
);
