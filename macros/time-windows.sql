{{!--
  Time windows relative to now:  {{within_days 'last_order_at' 30}}
  DuckDB has its own version to show dialect dispatch: duckdb__within_days is
  chosen before default__within_days on DuckDB.
--}}
{{#macro 'default__within_days' 'column' 'days'}}{{sql_within_days column days}}{{/macro}}
{{#macro 'duckdb__within_days' 'column' 'days'}}({{column}} >= CURRENT_TIMESTAMP - TO_DAYS(CAST({{days}} AS INTEGER))){{/macro}}
{{#macro 'default__older_than_days' 'column' 'days'}}(NOT {{sql_within_days column days}}){{/macro}}
