CREATE TABLE IF NOT EXISTS "audsync"."snapshot__s" (record_key TEXT NOT NULL, fields_json TEXT, row_hash TEXT, destination_record_id TEXT, synced_at TIMESTAMPTZ);

CREATE TABLE IF NOT EXISTS "audsync"."model_keys__m" (record_key TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS "audsync"."plan_log__s" (run_id TEXT NOT NULL, kind TEXT NOT NULL, first_row BIGINT NOT NULL, last_row BIGINT NOT NULL, logged_at TIMESTAMPTZ NOT NULL);

CREATE TABLE IF NOT EXISTS "audsync"."outcomes__s" (row_no TEXT NOT NULL, status TEXT NOT NULL, destination_record_id TEXT, error_code TEXT, error_message TEXT);

CREATE TABLE IF NOT EXISTS "audsync"."pending__s" (record_key TEXT NOT NULL, op TEXT NOT NULL, fields_json TEXT, run_id TEXT NOT NULL);

DROP TABLE IF EXISTS "audsync"."stage__s";
