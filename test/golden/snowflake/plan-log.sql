INSERT INTO "AUDSYNC"."PLAN_LOG__S" (run_id, kind, first_row, last_row, logged_at) VALUES ('r1', 'planned', 1, 1200, CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMP_TZ));

INSERT INTO "AUDSYNC"."PLAN_LOG__S" (run_id, kind, first_row, last_row, logged_at) VALUES ('r1', 'intent', 1, 500, CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMP_TZ));
