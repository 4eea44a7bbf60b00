-- Issue 16: names of administrative divisions for the portal (行政区划名称), loaded by
-- administrators like the calendar (audited; every version kept in record_history).
-- The built-in names live in the code (src/domain/regions.rs); rows here override them.
CREATE TABLE region_names (
    code TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
