UPDATE "audsync"."sync_runs" SET status = 'warning', finished_at = CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ), members = 3, invalid = 0, planned_add = 3, planned_change = 0, planned_remove = 0, succeeded_add = 2, succeeded_change = 0, succeeded_remove = 0, rejected = 0, failed = 1, error = '1 failed: it''s \ odd'
WHERE run_id = 'r1' AND sync_name = 's';
