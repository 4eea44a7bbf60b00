-- suiji-draw/2 in the lifecycle (issue 11).
-- The conflict leaves of a /2 task's sealed pool (the snapshot holds only their Merkle
-- root): one JSON array, written at sealing, immutable like the snapshot.
CREATE TABLE task_conflict_leaves (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id),
    leaves TEXT NOT NULL
);
CREATE TRIGGER task_conflict_leaves_immutable BEFORE UPDATE ON task_conflict_leaves
BEGIN SELECT RAISE(ABORT, 'task_conflict_leaves is immutable'); END;
CREATE TRIGGER task_conflict_leaves_no_delete BEFORE DELETE ON task_conflict_leaves
BEGIN SELECT RAISE(ABORT, 'task_conflict_leaves is immutable'); END;

-- The audit chain's head as published at each seal, draw and publication: once public, a
-- rewrite of history contradicts it (`suiji audit verify --anchor SEQ:HASH`).
CREATE TABLE audit_anchors (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    action TEXT NOT NULL,
    task_id TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TRIGGER audit_anchors_immutable BEFORE UPDATE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit_anchors is append-only'); END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit_anchors is append-only'); END;
