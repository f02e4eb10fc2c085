-- Move one posting to $state, only from one of $from_states; returns the row when it moved.
UPDATE postings SET
    state = $state,
    ledger_object_ids = coalesce($ledger_object_ids, ledger_object_ids),
    request_digest = coalesce($request_digest, request_digest),
    response_digest = coalesce($response_digest, response_digest),
    updated_at = $at
WHERE id = $id AND list_contains($from_states::VARCHAR[], state)
RETURNING id
