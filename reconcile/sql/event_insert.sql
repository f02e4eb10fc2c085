INSERT INTO connection_events
    (connection_id, "at", kind, feed, error_class, http_status, request_id, detail, counts, raw)
VALUES
    ($connection_id, $at, $kind, $feed, $error_class, $http_status, $request_id, $detail, $counts,
     $raw)
