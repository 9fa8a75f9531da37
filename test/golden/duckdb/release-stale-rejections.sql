DELETE FROM "audsync"."row_rejections" WHERE sync_name = 's' AND NOT (
  (row_hash <> '' AND EXISTS (SELECT 1 FROM temp.main."members__s" AS m WHERE m.invalid_reason IS NULL AND m.record_key = "audsync"."row_rejections".record_key AND CAST(m.row_hash AS VARCHAR) = "audsync"."row_rejections".row_hash))
  OR (row_hash = '' AND EXISTS (SELECT 1 FROM "audsync"."snapshot__s" AS s WHERE s.record_key = "audsync"."row_rejections".record_key)
      AND NOT EXISTS (SELECT 1 FROM temp.main."members__s" AS m WHERE m.invalid_reason IS NULL AND m.record_key = "audsync"."row_rejections".record_key)));
