INSERT INTO "audsync"."sync_changelog" (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT 'r0', 's', p.record_key, p.op, 'failed', p.destination_record_id, 'uncertain', 'outcome unknown: the run stopped while this row was in flight (the destination may have applied it); the next run reconciles it with the audience', CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ)
FROM "audsync"."plan__s" AS p WHERE p.row_no BETWEEN 501 AND 1000;

INSERT INTO "audsync"."sync_changelog" (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT 'r0', 's', p.record_key, p.op, 'aborted', p.destination_record_id, 'aborted', 'not sent', CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ)
FROM "audsync"."plan__s" AS p WHERE p.row_no BETWEEN 1001 AND 1200;

DELETE FROM "audsync"."pending__s" WHERE record_key IN (SELECT p.record_key FROM "audsync"."plan__s" AS p WHERE p.row_no BETWEEN 501 AND 1000);

INSERT INTO "audsync"."pending__s" (record_key, op, fields_json, run_id) SELECT p.record_key, p.op, p.fields_json, 'r0' FROM "audsync"."plan__s" AS p WHERE p.row_no BETWEEN 501 AND 1000;

INSERT INTO "audsync"."pending__s" (record_key, op, fields_json, run_id)
SELECT p.record_key, 'owed', CAST(NULL AS VARCHAR), 'r0' FROM "audsync"."plan__s" AS p LEFT JOIN "audsync"."outcomes__s" AS o ON CAST(o.row_no AS BIGINT) = p.row_no
WHERE (p.row_no BETWEEN 1001 AND 1200 OR o.status IN ('rejected', 'failed'))
  AND NOT EXISTS (SELECT 1 FROM "audsync"."pending__s" AS x WHERE x.record_key = p.record_key);

UPDATE "audsync"."sync_runs" SET succeeded_add = c.sa, succeeded_change = c.sc, succeeded_remove = c.sr, rejected = c.rj, failed = c.fl
FROM (SELECT COALESCE(sum(CASE WHEN op = 'add' AND status = 'succeeded' THEN 1 ELSE 0 END), 0) AS sa, COALESCE(sum(CASE WHEN op = 'change' AND status = 'succeeded' THEN 1 ELSE 0 END), 0) AS sc, COALESCE(sum(CASE WHEN op = 'remove' AND status = 'succeeded' THEN 1 ELSE 0 END), 0) AS sr, COALESCE(sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), 0) AS rj, COALESCE(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS fl
  FROM "audsync"."sync_changelog" WHERE run_id = 'r0' AND sync_name = 's') AS c
WHERE run_id = 'r0' AND sync_name = 's';
