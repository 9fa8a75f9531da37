SELECT row_no, op, record_key, fields_json, destination_record_id, previous_fields_json, in_snapshot FROM "audsync"."plan__s" ORDER BY row_no;
