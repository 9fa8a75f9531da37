{{!--
  Consent filters. is_true accepts booleans and the usual truthy strings
  ('true', 't', 'yes', 'y', '1'), so flags exported as text work too.
    where {{is_true 'email_opt_in'}}
    where {{has_consent 'email_opt_in' 'unsubscribed_at'}}
--}}
{{#macro 'default__is_true' 'column'}}{{sql_is_true column}}{{/macro}}
{{#macro 'default__has_consent' 'flag_column' 'revoked_at_column'}}({{sql_is_true flag_column}} AND {{revoked_at_column}} IS NULL){{/macro}}
