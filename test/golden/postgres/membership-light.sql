DROP TABLE IF EXISTS "audsync"."members__s";

CREATE UNLOGGED TABLE "audsync"."members__s" AS
SELECT p.record_key, md5(json_object('tier', p."f_0", 'email', p."f_1")) AS row_hash, CASE WHEN p.record_key IS NULL THEN 'null key' WHEN p."f_1" IS NULL THEN 'no usable identifier' END AS invalid_reason
FROM (
SELECT CAST(m."id" AS VARCHAR) AS record_key,
  m."tier" AS "f_0",
  m."email" AS "f_1"
FROM (
select id, tier, email from shop.customers
) AS m
) AS p;

ANALYZE "audsync"."members__s";
