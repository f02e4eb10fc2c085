-- A posting attempt enters the outbox before anything is sent to the ledger.
INSERT INTO postings
    (id, settlement_id, ledger_connection_id, idempotency_key, reference, state,
     ledger_object_ids, request_digest, response_digest, created_at, updated_at)
VALUES ($id, $settlement_id, $ledger_connection_id, $idempotency_key, $reference, $state,
        $ledger_object_ids, $request_digest, NULL, $at, $at)
