-- Issue 15 part 8: the delivery log of the credit publicity export (企业信用信息公示):
-- who exported what, when, how many rows, and the file's SHA-256.
CREATE TABLE credit_deliveries (
    id TEXT PRIMARY KEY,
    since TEXT NOT NULL,
    format TEXT NOT NULL,
    region_prefix TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    exported_by TEXT NOT NULL,
    exported_at TEXT NOT NULL
);
CREATE INDEX credit_deliveries_at ON credit_deliveries (exported_at, id);
