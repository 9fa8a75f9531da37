INSERT INTO "audsync"."sync_changelog" (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT 'r1', 's', p.record_key, p.op, COALESCE(o.status, 'succeeded'), COALESCE(o.destination_record_id, p.destination_record_id), o.error_code, o.error_message, CASE WHEN p.row_no BETWEEN 1 AND 10000 THEN CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ) WHEN p.row_no BETWEEN 10001 AND 20000 THEN CAST('2026-01-01T00:00:01.000Z' AS TIMESTAMPTZ) END
FROM "audsync"."plan__s" AS p LEFT JOIN "audsync"."outcomes__s" AS o ON CAST(o.row_no AS BIGINT) = p.row_no WHERE p.row_no BETWEEN 1 AND 20000;

INSERT INTO "audsync"."snapshot__s" (record_key, fields_json, row_hash, destination_record_id, synced_at)
SELECT p.record_key, p.fields_json, p.row_hash, COALESCE(o.destination_record_id, p.destination_record_id), CASE WHEN p.row_no BETWEEN 1 AND 10000 THEN CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ) WHEN p.row_no BETWEEN 10001 AND 20000 THEN CAST('2026-01-01T00:00:01.000Z' AS TIMESTAMPTZ) END
FROM "audsync"."plan__s" AS p LEFT JOIN "audsync"."outcomes__s" AS o ON CAST(o.row_no AS BIGINT) = p.row_no WHERE p.row_no BETWEEN 1 AND 20000 AND COALESCE(o.status, 'succeeded') = 'succeeded' AND p.op <> 'remove';

INSERT INTO "audsync"."row_rejections" (sync_name, record_key, op, row_hash, error_code, error_message, streak, first_rejected_at, last_rejected_at, last_run_id, quarantined_at, quarantined_run_id)
SELECT 's', x.record_key, x.op, x.row_hash, x.error_code, x.error_message, x.streak, x.first_rejected_at, CAST('2026-01-01T00:00:01.000Z' AS TIMESTAMPTZ), 'r1',
  CASE WHEN x.streak >= 3 THEN CAST('2026-01-01T00:00:01.000Z' AS TIMESTAMPTZ) END, CASE WHEN x.streak >= 3 THEN 'r1' END
FROM (
  SELECT p.record_key, p.op, COALESCE(CAST(p.row_hash AS VARCHAR), '') AS row_hash, o.error_code, o.error_message,
    CASE WHEN q.record_key IS NOT NULL AND q.row_hash = COALESCE(CAST(p.row_hash AS VARCHAR), '') AND COALESCE(q.error_code, q.error_message, '') = COALESCE(o.error_code, o.error_message, '') THEN q.streak + 1 ELSE 1 END AS streak, CASE WHEN q.record_key IS NOT NULL AND q.row_hash = COALESCE(CAST(p.row_hash AS VARCHAR), '') AND COALESCE(q.error_code, q.error_message, '') = COALESCE(o.error_code, o.error_message, '') THEN q.first_rejected_at ELSE CAST('2026-01-01T00:00:01.000Z' AS TIMESTAMPTZ) END AS first_rejected_at
  FROM "audsync"."plan__s" AS p LEFT JOIN "audsync"."outcomes__s" AS o ON CAST(o.row_no AS BIGINT) = p.row_no LEFT JOIN "audsync"."row_rejections" AS q ON q.sync_name = 's' AND q.record_key = p.record_key
  WHERE p.row_no BETWEEN 1 AND 20000 AND o.status = 'rejected'
) AS x;

DELETE FROM "audsync"."row_rejections" WHERE sync_name = 's' AND last_run_id <> 'r1' AND record_key IN (
  SELECT p.record_key FROM "audsync"."plan__s" AS p LEFT JOIN "audsync"."outcomes__s" AS o ON CAST(o.row_no AS BIGINT) = p.row_no WHERE p.row_no BETWEEN 1 AND 20000 AND COALESCE(o.status, 'succeeded') IN ('succeeded', 'rejected'));

INSERT INTO "audsync"."plan_log__s" (run_id, kind, first_row, last_row, logged_at) VALUES ('r1', 'done', 1, 20000, CAST('2026-01-01T00:00:01.000Z' AS TIMESTAMPTZ));
