CREATE OR REPLACE TRANSIENT TABLE "AUDSYNC"."MEMBERS__S" AS
SELECT record_key, fields_json, MD5(fields_json) AS row_hash, invalid_reason
FROM (
SELECT p.record_key, TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL('EMAIL', p."F_0", 'tier', p."F_1")) AS fields_json,
  CASE WHEN p.record_key IS NULL THEN 'null key' WHEN p."F_0" IS NULL THEN 'no usable identifier' END AS invalid_reason
FROM (
SELECT CAST(m."CUSTOMER_ID" AS VARCHAR) AS record_key,
  CASE WHEN REGEXP_LIKE(lower(trim(CAST(m."EMAIL" AS VARCHAR))), '^[0-9a-f]{64}$') THEN lower(trim(CAST(m."EMAIL" AS VARCHAR))) ELSE SHA2(NULLIF(lower(trim(CAST(m."EMAIL" AS VARCHAR))), ''), 256) END AS "F_0",
  m."TIER" AS "F_1"
FROM (
select customer_id, email, tier from shop.customers
) AS m
) AS p
) AS projected;
