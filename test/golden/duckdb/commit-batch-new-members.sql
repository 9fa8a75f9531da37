INSERT INTO "audsync"."sync_changelog" (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT 'r1', 's', p.record_key, p.op, COALESCE(o.status, 'succeeded'), COALESCE(o.destination_record_id, p.destination_record_id), o.error_code, o.error_message, CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ)
FROM "audsync"."plan__s" AS p LEFT JOIN "audsync"."outcomes__s" AS o ON CAST(o.row_no AS BIGINT) = p.row_no WHERE p.row_no BETWEEN 1 AND 10000;

INSERT INTO "audsync"."snapshot__s" (record_key, fields_json, row_hash, destination_record_id, synced_at)
SELECT p.record_key, p.fields_json, p.row_hash, COALESCE(o.destination_record_id, p.destination_record_id), CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ)
FROM "audsync"."plan__s" AS p LEFT JOIN "audsync"."outcomes__s" AS o ON CAST(o.row_no AS BIGINT) = p.row_no WHERE p.row_no BETWEEN 1 AND 10000 AND COALESCE(o.status, 'succeeded') = 'succeeded' AND p.op <> 'remove';

INSERT INTO "audsync"."plan_log__s" (run_id, kind, first_row, last_row, logged_at) VALUES ('r1', 'done', 1, 10000, CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ));
