-- Issue 16, #8: `tasks` and `task_entropy` are protected like the other task tables. A task
-- moves only along the lifecycle, its hashes are written once, and neither table loses rows.
CREATE FUNCTION suiji_task_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state AND NOT (
        (OLD.state = 'draft' AND NEW.state IN ('sealed', 'cancelled')) OR
        (OLD.state = 'sealed' AND NEW.state IN ('drawn', 'cancelled')) OR
        (OLD.state = 'drawn' AND NEW.state = 'published') OR
        (OLD.state = 'published' AND NEW.state = 'closed')) THEN
        RAISE EXCEPTION 'illegal task state transition % -> %', OLD.state, NEW.state;
    END IF;
    IF (OLD.pool_hash IS NOT NULL AND NEW.pool_hash IS DISTINCT FROM OLD.pool_hash)
        OR (OLD.seed IS NOT NULL AND NEW.seed IS DISTINCT FROM OLD.seed)
        OR (OLD.result_hash IS NOT NULL AND NEW.result_hash IS DISTINCT FROM OLD.result_hash)
        OR (OLD.draw_key IS NOT NULL AND NEW.draw_key IS DISTINCT FROM OLD.draw_key) THEN
        RAISE EXCEPTION 'task hashes are written once';
    END IF;
    RETURN NEW;
END;
$$;
CREATE FUNCTION suiji_entropy_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.task_id IS DISTINCT FROM OLD.task_id OR NEW.source IS DISTINCT FROM OLD.source
        OR (OLD.commitment IS NOT NULL AND (NEW.commitment IS DISTINCT FROM OLD.commitment
            OR NEW.committed_by IS DISTINCT FROM OLD.committed_by
            OR NEW.committed_at IS DISTINCT FROM OLD.committed_at))
        OR (OLD.value IS NOT NULL AND (NEW.value IS DISTINCT FROM OLD.value
            OR NEW.revealed_by IS DISTINCT FROM OLD.revealed_by
            OR NEW.revealed_at IS DISTINCT FROM OLD.revealed_at)) THEN
        RAISE EXCEPTION 'task_entropy values are written once';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER tasks_guard BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION suiji_task_guard();
CREATE TRIGGER tasks_no_delete BEFORE DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER tasks_no_truncate BEFORE TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION suiji_append_only();
CREATE TRIGGER task_entropy_guard BEFORE UPDATE ON task_entropy
    FOR EACH ROW EXECUTE FUNCTION suiji_entropy_guard();
CREATE TRIGGER task_entropy_no_delete BEFORE DELETE ON task_entropy
    FOR EACH ROW EXECUTE FUNCTION suiji_append_only();
