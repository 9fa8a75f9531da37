CREATE OR REPLACE TABLE "AUDSYNC"."PLAN__S" AS
SELECT row_number() OVER () AS row_no, op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json, in_snapshot FROM (
  SELECT CASE WHEN m.record_key IS NULL THEN 'remove' ELSE CASE WHEN s.record_key IS NULL OR u.op IN ('add', 'remove', 'owed') THEN 'add' ELSE 'change' END END AS op,
    COALESCE(m.record_key, s.record_key, u.record_key) AS record_key,
    CASE WHEN m.record_key IS NOT NULL THEN m.fields_json ELSE COALESCE(CASE WHEN u.op IN ('add', 'change') THEN u.fields_json END, s.fields_json) END AS fields_json,
    m.row_hash AS row_hash,
    s.destination_record_id AS destination_record_id,
    CASE WHEN m.record_key IS NOT NULL THEN COALESCE(CASE WHEN u.op IN ('add', 'change') THEN u.fields_json END, s.fields_json) WHEN CASE WHEN u.op IN ('add', 'change') THEN u.fields_json END IS NOT NULL THEN s.fields_json END AS previous_fields_json,
    s.record_key IS NOT NULL AS in_snapshot
  FROM (SELECT record_key, fields_json, row_hash FROM "AUDSYNC"."MEMBERS__S" WHERE invalid_reason IS NULL) AS m
  FULL OUTER JOIN "AUDSYNC"."SNAPSHOT__S" AS s ON m.record_key = s.record_key
  FULL OUTER JOIN "AUDSYNC"."PENDING__S" AS u ON u.record_key = COALESCE(m.record_key, s.record_key)
  WHERE (m.record_key IS NULL OR s.record_key IS NULL OR m.row_hash <> s.row_hash OR u.record_key IS NOT NULL) AND (m.record_key IS NOT NULL OR s.record_key IS NOT NULL OR CASE WHEN u.op IN ('add', 'change') THEN u.fields_json END IS NOT NULL)
) AS delta
WHERE op IN ('add', 'change', 'remove');
