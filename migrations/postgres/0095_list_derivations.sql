-- Lists derived from lists (issue 14, docs/draw-spec.md B.17): a top-N ranking or an
-- intersection on key columns, saved as a new immutable list with the rule that made it.
-- A list another list was derived from is kept (like a list a task draws from).
CREATE TABLE list_derivations (
    list_id TEXT PRIMARY KEY REFERENCES record_lists (id),
    kind TEXT NOT NULL,
    rule TEXT NOT NULL
);

CREATE TABLE list_sources (
    list_id TEXT NOT NULL REFERENCES record_lists (id),
    source_id TEXT NOT NULL REFERENCES record_lists (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (list_id, source_id)
);
CREATE INDEX list_sources_source ON list_sources (source_id);
