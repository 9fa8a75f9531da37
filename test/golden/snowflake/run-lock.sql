CREATE SCHEMA IF NOT EXISTS "AUDSYNC";

CREATE TRANSIENT TABLE IF NOT EXISTS "AUDSYNC"."RUN_LOCKS" (sync_name VARCHAR NOT NULL, owner VARCHAR NOT NULL, acquired_at TIMESTAMP_TZ NOT NULL, heartbeat_at TIMESTAMP_TZ NOT NULL, expires_at TIMESTAMP_TZ NOT NULL);

MERGE INTO "AUDSYNC"."RUN_LOCKS" AS l
USING (SELECT 'vip' AS sync_name, 'host-a:4242:0a1b2c3d' AS owner) AS c
ON l.sync_name = c.sync_name
WHEN MATCHED AND l.expires_at < CURRENT_TIMESTAMP() THEN UPDATE SET owner = c.owner, acquired_at = CURRENT_TIMESTAMP(), heartbeat_at = CURRENT_TIMESTAMP(), expires_at = DATEADD(second, 120, CURRENT_TIMESTAMP())
WHEN NOT MATCHED THEN INSERT (sync_name, owner, acquired_at, heartbeat_at, expires_at) VALUES (c.sync_name, c.owner, CURRENT_TIMESTAMP(), CURRENT_TIMESTAMP(), DATEADD(second, 120, CURRENT_TIMESTAMP()));

SELECT owner, acquired_at, heartbeat_at, expires_at FROM "AUDSYNC"."RUN_LOCKS" WHERE sync_name = 'vip' ORDER BY acquired_at;

UPDATE "AUDSYNC"."RUN_LOCKS" SET heartbeat_at = CURRENT_TIMESTAMP(), expires_at = DATEADD(second, 120, CURRENT_TIMESTAMP()) WHERE sync_name = 'vip' AND owner = 'host-a:4242:0a1b2c3d';

DELETE FROM "AUDSYNC"."RUN_LOCKS" WHERE sync_name = 'vip' AND owner = 'host-a:4242:0a1b2c3d';
