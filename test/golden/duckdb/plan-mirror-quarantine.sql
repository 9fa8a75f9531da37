CREATE OR REPLACE TABLE "audsync"."plan__s" AS
SELECT row_number() OVER () AS row_no, op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json, in_snapshot FROM (
  SELECT CASE WHEN m.record_key IS NULL THEN 'remove' ELSE CASE WHEN s.record_key IS NULL THEN 'add' ELSE 'change' END END AS op,
    COALESCE(m.record_key, s.record_key) AS record_key,
    COALESCE(m.fields_json, s.fields_json) AS fields_json,
    m.row_hash AS row_hash,
    s.destination_record_id AS destination_record_id,
    CASE WHEN m.record_key IS NOT NULL AND s.record_key IS NOT NULL THEN s.fields_json END AS previous_fields_json,
    s.record_key IS NOT NULL AS in_snapshot
  FROM (SELECT record_key, fields_json, row_hash FROM temp.main."members__s" WHERE invalid_reason IS NULL) AS m
  FULL OUTER JOIN "audsync"."snapshot__s" AS s ON m.record_key = s.record_key
  WHERE (m.record_key IS NULL OR s.record_key IS NULL OR m.row_hash <> s.row_hash)
) AS delta
WHERE op IN ('add', 'change', 'remove')
  AND NOT EXISTS (SELECT 1 FROM "audsync"."row_rejections" AS q WHERE q.sync_name = 's' AND q.quarantined_at IS NOT NULL AND q.record_key = delta.record_key AND q.row_hash = COALESCE(CAST(delta.row_hash AS VARCHAR), ''));
