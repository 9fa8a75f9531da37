CREATE OR REPLACE TABLE "AUDSYNC"."PLAN__S" AS
SELECT row_number() OVER () AS row_no, 'remove' AS op, m.record_key, m.fields_json, m.row_hash, s.destination_record_id,
  CAST(NULL AS VARCHAR) AS previous_fields_json, s.record_key IS NOT NULL AS in_snapshot
FROM "AUDSYNC"."MEMBERS__S" AS m
LEFT JOIN "AUDSYNC"."SNAPSHOT__S" AS s ON m.record_key = s.record_key
WHERE m.invalid_reason IS NULL AND (s.record_key IS NULL)
  AND NOT EXISTS (SELECT 1 FROM "AUDSYNC"."ROW_REJECTIONS" AS q WHERE q.sync_name = 's' AND q.quarantined_at IS NOT NULL AND q.record_key = m.record_key AND q.row_hash = COALESCE(m.row_hash, ''));
