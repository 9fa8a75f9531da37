INSERT INTO "audsync"."plan_log__s" (run_id, kind, first_row, last_row, logged_at) VALUES ('r1', 'planned', 1, 1200, CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ));

INSERT INTO "audsync"."plan_log__s" (run_id, kind, first_row, last_row, logged_at) VALUES ('r1', 'intent', 1, 500, CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ));
