-- Re-check samples (抽查复查, issue 14 part 4): for each member of a re-check task's sealed
-- pool, the completed inspection it comes from (the original task and the published
-- result version compared later). Written once at seal, never changed.
CREATE TABLE recheck_sources (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    source_task_id TEXT NOT NULL REFERENCES tasks (id),
    source_version BIGINT NOT NULL,
    source_category TEXT NOT NULL,
    PRIMARY KEY (task_id, institution_id)
);
CREATE INDEX recheck_sources_source ON recheck_sources (source_task_id, institution_id);
CREATE TRIGGER recheck_sources_immutable BEFORE UPDATE OR DELETE ON recheck_sources
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
