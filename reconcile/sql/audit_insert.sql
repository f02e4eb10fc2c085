INSERT INTO audit_log ("at", actor, action, entity, detail)
VALUES ($at, $actor, $action, $entity, $detail)
