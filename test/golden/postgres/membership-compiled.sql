DROP TABLE IF EXISTS "audsync"."members__s";

CREATE UNLOGGED TABLE "audsync"."members__s" AS
SELECT record_key, fields_json, md5(fields_json) AS row_hash, invalid_reason
FROM (
SELECT p.record_key, json_build_object('EMAIL', p."f_0", 'tier', p."f_1")::text AS fields_json,
  CASE WHEN p.record_key IS NULL THEN 'null key' WHEN p."f_0" IS NULL THEN 'no usable identifier' END AS invalid_reason
FROM (
SELECT CAST(m."customer_id" AS TEXT) AS record_key,
  CASE WHEN (lower(trim(CAST(m."email" AS TEXT))) ~ '^[0-9a-f]{64}$') THEN lower(trim(CAST(m."email" AS TEXT))) ELSE encode(sha256(convert_to(NULLIF(lower(trim(CAST(m."email" AS TEXT))), ''), 'UTF8')), 'hex') END AS "f_0",
  m."tier" AS "f_1"
FROM (
select customer_id, email, tier from shop.customers
) AS m
) AS p
) AS projected;

ANALYZE "audsync"."members__s";
