-- TRUNCATE fires no row trigger: without these, the append-only tables could be emptied
-- in one statement (issue 16, #13). Refuse it like UPDATE and DELETE.
CREATE TRIGGER record_history_no_truncate BEFORE TRUNCATE ON record_history
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER task_snapshots_no_truncate BEFORE TRUNCATE ON task_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER task_results_no_truncate BEFORE TRUNCATE ON task_results
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER task_replacements_no_truncate BEFORE TRUNCATE ON task_replacements
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER task_selections_no_truncate BEFORE TRUNCATE ON task_selections
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER task_entropy_no_truncate BEFORE TRUNCATE ON task_entropy
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER inspection_results_no_truncate BEFORE TRUNCATE ON inspection_results
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
