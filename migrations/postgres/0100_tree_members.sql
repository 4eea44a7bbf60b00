-- The tree form of a sample of records (issue 14, docs/draw-spec.md B.18): the members a
-- draw disclosed, with their inclusion paths (one JSON array, written with the draw,
-- immutable like the result). Absent for every other task.
CREATE TABLE task_tree_members (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id),
    members TEXT NOT NULL
);
CREATE TRIGGER task_tree_members_immutable BEFORE UPDATE OR DELETE ON task_tree_members
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER task_tree_members_no_truncate BEFORE TRUNCATE ON task_tree_members
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
