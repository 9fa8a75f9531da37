DELETE FROM "AUDSYNC"."ROW_REJECTIONS" WHERE sync_name = 's' AND NOT (
  (row_hash <> '' AND EXISTS (SELECT 1 FROM "AUDSYNC"."MEMBERS__S" AS m WHERE m.invalid_reason IS NULL AND m.record_key = "AUDSYNC"."ROW_REJECTIONS".record_key AND m.row_hash = "AUDSYNC"."ROW_REJECTIONS".row_hash))
  OR (row_hash = '' AND EXISTS (SELECT 1 FROM "AUDSYNC"."SNAPSHOT__S" AS s WHERE s.record_key = "AUDSYNC"."ROW_REJECTIONS".record_key)
      AND NOT EXISTS (SELECT 1 FROM "AUDSYNC"."MEMBERS__S" AS m WHERE m.invalid_reason IS NULL AND m.record_key = "AUDSYNC"."ROW_REJECTIONS".record_key)));
