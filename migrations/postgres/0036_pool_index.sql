-- The seal reads each stratum's active members (id, region) by kind, status, region and the
-- other filter keys. Without this index SQLite answered it through the status index
-- (nearly every row is active), visiting the whole table for each stratum: 1.2 s per
-- stratum at 100,000 institutions. This index covers the query, so the table is not read.
CREATE INDEX institutions_pool ON institutions (kind, status, region, level, ownership, risk_grade, id);
