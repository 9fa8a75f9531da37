{{!--
  Identifier normalization and SHA-256 hashing, done in the warehouse so raw
  identifiers never leave it. Each returns NULL when the value is empty after
  normalization. The argument is a column or SQL expression, quoted:
    {{hash_email 'email'}}   {{hash_phone 'phone'}}   {{normalize_phone 'phone'}}
--}}
{{#macro 'default__normalize_email' 'column'}}{{sql_normalize 'email' column}}{{/macro}}
{{#macro 'default__hash_email' 'column'}}{{sql_hash 'email' column}}{{/macro}}
{{#macro 'default__normalize_phone' 'column'}}{{sql_normalize 'phone' column}}{{/macro}}
{{#macro 'default__hash_phone' 'column'}}{{sql_hash 'phone' column}}{{/macro}}
{{#macro 'default__hash_external_id' 'column'}}{{sql_hash 'external_id' column}}{{/macro}}
