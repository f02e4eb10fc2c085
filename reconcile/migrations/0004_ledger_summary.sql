-- One row per (ledger connection, settlement) with at least one live ledger entry (status not
-- VOIDED / DELETED) naming the settlement: what gap detection needs to tell unposted, mismatched
-- and doubled postings apart without grouping every entry on every call. Kept equal to a
-- recomputation from ledger_entries by reconcile.rows.write_ledger_entries, the one write path of
-- ledger_entries, which refreshes the rows of the settlements each write touches
-- (reconcile/sql/ledger_summary_insert.sql holds the same query; this copy fills existing rows).
--   entries     live entries naming the settlement
--   refs        distinct references among them (entries > refs: a reference is repeated)
--   posted      the signed sum (ACCPAY negative) of one entry per distinct reference, the one
--               with the smallest object id
--   currency_low, currency_high  the least and greatest currency of those entries
--   currencies  every currency of the live entries, sorted, joined by ", "
--   repeats     when a reference is repeated (entries > refs), every live entry of the
--               settlement by object id, for the duplicate postings; else NULL
CREATE TABLE ledger_summary (
    connection_id VARCHAR NOT NULL,
    settlement_id VARCHAR NOT NULL,
    entries BIGINT NOT NULL,
    refs BIGINT NOT NULL,
    posted DECIMAL(18, 4) NOT NULL,
    currency_low VARCHAR NOT NULL,
    currency_high VARCHAR NOT NULL,
    currencies VARCHAR NOT NULL,
    repeats STRUCT(object_id VARCHAR, reference VARCHAR, signed DECIMAL(18, 4), currency VARCHAR,
                   "date" DATE)[],
    PRIMARY KEY (connection_id, settlement_id)
);
INSERT INTO ledger_summary
SELECT connection_id, settlement_id, sum(entries), count(*), sum(signed), min(currency),
       max(currency), array_to_string(list_sort(list_distinct(flatten(list(currencies)))), ', '),
       CASE WHEN sum(entries) > count(*) THEN list_sort(flatten(list(items))) END
FROM (
    SELECT connection_id, settlement_id, reference, count(*) AS entries,
           arg_min(CASE WHEN object_type = 'ACCPAY' THEN -total ELSE total END, object_id)
               AS signed,
           arg_min(currency, object_id) AS currency, list(DISTINCT currency) AS currencies,
           list({'object_id': object_id, 'reference': reference,
                 'signed': CASE WHEN object_type = 'ACCPAY' THEN -total ELSE total END,
                 'currency': currency, 'date': date}) AS items
    FROM ledger_entries
    WHERE settlement_id IS NOT NULL AND status NOT IN ('VOIDED', 'DELETED')
    GROUP BY connection_id, settlement_id, reference
)
GROUP BY connection_id, settlement_id;
