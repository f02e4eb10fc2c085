-- The settlement a ledger entry's workbench reference names ("RW stl_<20 hex>", with " k/n" for
-- one part of a split posting), stored when the entry is written (reconcile.rows, from
-- reconcile.references.settlement_of) so that gap detection groups on it without a regular
-- expression per entry per call. NULL for any other reference. The pattern below is
-- reconcile.references.REFERENCE_SQL_PATTERN as it stood when this migration was written.
ALTER TABLE ledger_entries ADD COLUMN settlement_id VARCHAR;
UPDATE ledger_entries
SET settlement_id = nullif(
    regexp_extract(reference, '^RW (stl_[0-9a-f]{20})(?: [0-9]+/[0-9]+)?$', 1), '');
