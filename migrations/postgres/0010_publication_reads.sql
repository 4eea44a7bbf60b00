-- The publication read model pages through results.csv in (task, draw order) order and
-- builds the feed from the newest publication times, so neither scans every published task.
CREATE INDEX task_selections_order ON task_selections (task_id, draw_order);
CREATE INDEX tasks_published_at ON tasks (published_at, id);
CREATE INDEX inspection_results_published_task ON inspection_results (published_at, task_id);
