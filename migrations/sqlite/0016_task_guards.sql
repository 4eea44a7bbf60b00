-- Issue 16, #8: `tasks` and `task_entropy` are protected like the other task tables. A task
-- moves only along the lifecycle, its hashes are written once, and neither table loses rows
-- (SQLite has no TRUNCATE; `DELETE FROM t` fires the row trigger).
CREATE TRIGGER tasks_no_delete BEFORE DELETE ON tasks
BEGIN SELECT RAISE(ABORT, 'tasks rows are never deleted'); END;
CREATE TRIGGER tasks_legal_state BEFORE UPDATE OF state ON tasks
WHEN NEW.state IS NOT OLD.state AND NOT (
    (OLD.state = 'draft' AND NEW.state IN ('sealed', 'cancelled')) OR
    (OLD.state = 'sealed' AND NEW.state IN ('drawn', 'cancelled')) OR
    (OLD.state = 'drawn' AND NEW.state = 'published') OR
    (OLD.state = 'published' AND NEW.state = 'closed'))
BEGIN SELECT RAISE(ABORT, 'illegal task state transition'); END;
CREATE TRIGGER tasks_hashes_once BEFORE UPDATE ON tasks
WHEN (OLD.pool_hash IS NOT NULL AND NEW.pool_hash IS NOT OLD.pool_hash)
  OR (OLD.seed IS NOT NULL AND NEW.seed IS NOT OLD.seed)
  OR (OLD.result_hash IS NOT NULL AND NEW.result_hash IS NOT OLD.result_hash)
  OR (OLD.draw_key IS NOT NULL AND NEW.draw_key IS NOT OLD.draw_key)
BEGIN SELECT RAISE(ABORT, 'task hashes are written once'); END;
CREATE TRIGGER task_entropy_no_delete BEFORE DELETE ON task_entropy
BEGIN SELECT RAISE(ABORT, 'task_entropy rows are never deleted'); END;
CREATE TRIGGER task_entropy_once BEFORE UPDATE ON task_entropy
WHEN NEW.task_id IS NOT OLD.task_id OR NEW.source IS NOT OLD.source
  OR (OLD.commitment IS NOT NULL AND (NEW.commitment IS NOT OLD.commitment
      OR NEW.committed_by IS NOT OLD.committed_by OR NEW.committed_at IS NOT OLD.committed_at))
  OR (OLD.value IS NOT NULL AND (NEW.value IS NOT OLD.value
      OR NEW.revealed_by IS NOT OLD.revealed_by OR NEW.revealed_at IS NOT OLD.revealed_at))
BEGIN SELECT RAISE(ABORT, 'task_entropy values are written once'); END;
