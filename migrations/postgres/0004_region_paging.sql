-- Listing one county's institutions page by page (region = X AND id > cursor ORDER BY id)
-- walks this index instead of rescanning the county for every page.
DROP INDEX institutions_region;
CREATE INDEX institutions_region_id ON institutions (region, id);
