DROP TABLE IF EXISTS "audsync"."members__s";

CREATE UNLOGGED TABLE "audsync"."members__s" AS
SELECT record_key, fields_json, md5(fields_json) AS row_hash, invalid_reason
FROM (
SELECT p.record_key, json_object('tier', p."f_0", 'email', p."f_1") AS fields_json,
  CASE WHEN p.record_key IS NULL THEN 'null key' WHEN p."f_1" IS NULL THEN 'no usable identifier' END AS invalid_reason
FROM (
SELECT CAST(m."id" AS VARCHAR) AS record_key,
  m."tier" AS "f_0",
  m."email" AS "f_1"
FROM (
select id, tier, email from shop.customers
) AS m
) AS p
) AS projected;

ANALYZE "audsync"."members__s";

DROP TABLE IF EXISTS "audsync"."model_delta__s";

CREATE UNLOGGED TABLE "audsync"."model_delta__s" AS
SELECT DISTINCT COALESCE(cur.record_key, prev.record_key) AS record_key, CASE WHEN prev.record_key IS NULL THEN 'enter' ELSE 'exit' END AS event
FROM (SELECT record_key FROM "audsync"."members__s" WHERE record_key IS NOT NULL) AS cur
FULL OUTER JOIN "audsync"."model_keys__m" AS prev ON cur.record_key = prev.record_key
WHERE cur.record_key IS NULL OR prev.record_key IS NULL;

INSERT INTO "audsync"."audience_events" (model, record_key, event, run_id, occurred_at)
SELECT 'm', record_key, event, 'r1', CAST('2026-01-01T00:00:00.000Z' AS TIMESTAMPTZ) FROM "audsync"."model_delta__s";

DELETE FROM "audsync"."model_keys__m" WHERE record_key IN (SELECT record_key FROM "audsync"."model_delta__s" WHERE event = 'exit');

INSERT INTO "audsync"."model_keys__m" (record_key) SELECT record_key FROM "audsync"."model_delta__s" WHERE event = 'enter';
