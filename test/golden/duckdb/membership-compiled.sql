CREATE OR REPLACE TEMP TABLE temp.main."members__s" AS
SELECT record_key, fields_json, hash(fields_json) AS row_hash, invalid_reason
FROM (
SELECT p.record_key, CAST(json_object('EMAIL', p."f_0", 'tier', p."f_1") AS VARCHAR) AS fields_json,
  CASE WHEN p.record_key IS NULL THEN 'null key' WHEN p."f_0" IS NULL THEN 'no usable identifier' END AS invalid_reason
FROM (
SELECT CAST(m."customer_id" AS VARCHAR) AS record_key,
  CASE WHEN regexp_matches(lower(trim(CAST(m."email" AS VARCHAR))), '^[0-9a-f]{64}$') THEN lower(trim(CAST(m."email" AS VARCHAR))) ELSE sha256(NULLIF(lower(trim(CAST(m."email" AS VARCHAR))), '')) END AS "f_0",
  m."tier" AS "f_1"
FROM (
select customer_id, email, tier from shop.customers
) AS m
) AS p
) AS projected;
