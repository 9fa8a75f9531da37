CREATE OR REPLACE TABLE "audsync"."plan__s" AS
SELECT row_number() OVER () AS row_no, 'remove' AS op, m.record_key, m.fields_json, m.row_hash, s.destination_record_id,
  CAST(NULL AS VARCHAR) AS previous_fields_json, s.record_key IS NOT NULL AS in_snapshot
FROM temp.main."members__s" AS m
LEFT JOIN "audsync"."snapshot__s" AS s ON m.record_key = s.record_key
WHERE m.invalid_reason IS NULL AND (s.record_key IS NULL)
  AND NOT EXISTS (SELECT 1 FROM "audsync"."row_rejections" AS q WHERE q.sync_name = 's' AND q.quarantined_at IS NOT NULL AND q.record_key = m.record_key AND q.row_hash = COALESCE(CAST(m.row_hash AS VARCHAR), ''));
