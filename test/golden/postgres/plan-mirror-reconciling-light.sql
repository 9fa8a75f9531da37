DROP TABLE IF EXISTS "audsync"."plan_keys__s";

CREATE UNLOGGED TABLE "audsync"."plan_keys__s" AS
SELECT CASE WHEN m.record_key IS NULL THEN 'remove' ELSE CASE WHEN s.record_key IS NULL OR u.op IN ('add', 'remove', 'owed') THEN 'add' ELSE 'change' END END AS op, COALESCE(m.record_key, s.record_key, u.record_key) AS record_key, m.record_key IS NOT NULL AS is_member,
  s.destination_record_id AS destination_record_id, s.record_key IS NOT NULL AS in_snapshot, CASE WHEN u.op IN ('add', 'change') THEN u.fields_json END AS may_hold
FROM (SELECT record_key, row_hash FROM "audsync"."members__s" WHERE invalid_reason IS NULL) AS m
FULL OUTER JOIN (SELECT record_key, row_hash, destination_record_id FROM "audsync"."snapshot__s") AS s ON m.record_key = s.record_key
FULL OUTER JOIN "audsync"."pending__s" AS u ON u.record_key = COALESCE(m.record_key, s.record_key)
WHERE (m.record_key IS NULL OR s.record_key IS NULL OR m.row_hash <> s.row_hash OR u.record_key IS NOT NULL) AND (m.record_key IS NOT NULL OR s.record_key IS NOT NULL OR CASE WHEN u.op IN ('add', 'change') THEN u.fields_json END IS NOT NULL);

ANALYZE "audsync"."plan_keys__s";

DROP TABLE IF EXISTS "audsync"."plan__s";

CREATE TABLE "audsync"."plan__s" AS
SELECT row_number() OVER () AS row_no, op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json, in_snapshot FROM (
  SELECT op, record_key, fields_json, CASE WHEN is_member THEN md5(fields_json) END AS row_hash, destination_record_id, previous_fields_json, in_snapshot FROM (
  SELECT k.op, k.record_key, k.is_member,
    CASE WHEN k.is_member THEN json_object('tier', p."f_0", 'email', p."f_1") ELSE COALESCE(k.may_hold, sf.fields_json) END AS fields_json,
    k.destination_record_id,
    CASE WHEN k.is_member THEN COALESCE(k.may_hold, sf.fields_json) WHEN k.may_hold IS NOT NULL THEN sf.fields_json END AS previous_fields_json,
    k.in_snapshot
  FROM "audsync"."plan_keys__s" AS k
  LEFT JOIN (SELECT record_key, fields_json FROM "audsync"."snapshot__s" WHERE record_key IN (SELECT record_key FROM "audsync"."plan_keys__s")) AS sf ON sf.record_key = k.record_key
  LEFT JOIN (SELECT p.* FROM (
SELECT CAST(m."id" AS VARCHAR) AS record_key,
  m."tier" AS "f_0",
  m."email" AS "f_1"
FROM (
select id, tier, email from shop.customers
) AS m
) AS p WHERE CASE WHEN p.record_key IS NULL THEN 'null key' WHEN p."f_1" IS NULL THEN 'no usable identifier' END IS NULL AND p.record_key IN (SELECT record_key FROM "audsync"."plan_keys__s" WHERE is_member)) AS p ON p.record_key = k.record_key
  WHERE k.op IN ('add', 'change', 'remove') AND (NOT k.is_member OR p.record_key IS NOT NULL)
  ) AS fetched
) AS delta
WHERE op IN ('add', 'change', 'remove');

CREATE INDEX ON "audsync"."plan__s" (row_no);
