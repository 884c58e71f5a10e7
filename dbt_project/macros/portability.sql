{#-
  Engine-specific SQL lives only here, behind adapter.dispatch (docs/warehouse.md, "Portability").
  Each macro has a DuckDB and a Spark implementation; models call the macro, never the engine function.
-#}

{# A date plus a whole number of months, as a DATE (month ends clamp: 2025-01-31 + 1 month = 2025-02-28). #}
{% macro add_months(date_expr, months_expr) -%}
  {{ return(adapter.dispatch('add_months', 'credit_warehouse')(date_expr, months_expr)) }}
{%- endmacro %}

{% macro duckdb__add_months(date_expr, months_expr) -%}
  cast(({{ date_expr }}) + to_months(cast({{ months_expr }} as integer)) as date)
{%- endmacro %}

{% macro spark__add_months(date_expr, months_expr) -%}
  add_months({{ date_expr }}, cast({{ months_expr }} as int))
{%- endmacro %}

{% macro default__add_months(date_expr, months_expr) -%}
  cast({{ dbt.dateadd('month', months_expr, date_expr) }} as date)
{%- endmacro %}


{# A date plus a whole number of days, as a DATE. #}
{% macro add_days(date_expr, days_expr) -%}
  {{ return(adapter.dispatch('add_days', 'credit_warehouse')(date_expr, days_expr)) }}
{%- endmacro %}

{% macro duckdb__add_days(date_expr, days_expr) -%}
  cast(({{ date_expr }}) + cast({{ days_expr }} as integer) as date)
{%- endmacro %}

{% macro spark__add_days(date_expr, days_expr) -%}
  date_add({{ date_expr }}, cast({{ days_expr }} as int))
{%- endmacro %}

{% macro default__add_days(date_expr, days_expr) -%}
  cast({{ dbt.dateadd('day', days_expr, date_expr) }} as date)
{%- endmacro %}


{#- One output row per element of a string split on a regular expression: use it in a select list
    (`select t.*, {{ split_to_rows('t.col', '[;；]') }} as part from t`). -#}
{% macro split_to_rows(string_expr, pattern) -%}
  {{ return(adapter.dispatch('split_to_rows', 'credit_warehouse')(string_expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__split_to_rows(string_expr, pattern) -%}
  unnest(string_split_regex({{ string_expr }}, '{{ pattern }}'))
{%- endmacro %}

{% macro spark__split_to_rows(string_expr, pattern) -%}
  explode(split({{ string_expr }}, '{{ pattern }}'))
{%- endmacro %}


{# A stable identifier: md5 of the parts joined with '|' (NULL parts count as ''). Same text on both engines. #}
{% macro stable_id(parts) -%}
  md5(
    {%- for part in parts %}
    coalesce(cast({{ part }} as {{ dbt.type_string() }}), ''){% if not loop.last %} || '|' ||{% endif %}
    {%- endfor %}
  )
{%- endmacro %}


{#- A 64-bit hash of a row's values, to notice that something changed (not an identifier: the two engines hash
    differently, so a column of it is engine-specific, creditwh/parity.py). Combine a set of rows with bit_xor. -#}
{% macro row_hash(exprs) -%}
  {{ return(adapter.dispatch('row_hash', 'credit_warehouse')(exprs)) }}
{%- endmacro %}

{% macro duckdb__row_hash(exprs) -%}
  hash({{ exprs | join(', ') }})
{%- endmacro %}

{% macro spark__row_hash(exprs) -%}
  xxhash64({{ exprs | join(', ') }})
{%- endmacro %}

{#- The type row_hash returns, for a typed NULL of it. -#}
{% macro row_hash_type() -%}
  {{ return(adapter.dispatch('row_hash_type', 'credit_warehouse')()) }}
{%- endmacro %}

{% macro duckdb__row_hash_type() -%}
  ubigint
{%- endmacro %}

{% macro spark__row_hash_type() -%}
  bigint
{%- endmacro %}


{# NULL-safe equality (NULL = NULL is true): joins on an optional class such as severity. #}
{% macro null_safe_equal(left, right) -%}
  {{ return(adapter.dispatch('null_safe_equal', 'credit_warehouse')(left, right)) }}
{%- endmacro %}

{% macro default__null_safe_equal(left, right) -%}
  ({{ left }} is not distinct from {{ right }})
{%- endmacro %}

{% macro spark__null_safe_equal(left, right) -%}
  ({{ left }} <=> {{ right }})
{%- endmacro %}


{# The first day of the month of a DATE, as a DATE. #}
{% macro month_start(date_expr) -%}
  {{ return(adapter.dispatch('month_start', 'credit_warehouse')(date_expr)) }}
{%- endmacro %}

{% macro duckdb__month_start(date_expr) -%}
  cast(date_trunc('month', {{ date_expr }}) as date)
{%- endmacro %}

{% macro spark__month_start(date_expr) -%}
  trunc({{ date_expr }}, 'MM')
{%- endmacro %}

{% macro default__month_start(date_expr) -%}
  cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}


{# A SQL string literal holding `text` (the engines escape a quote differently). #}
{% macro string_literal(text) -%}
  {{ return(adapter.dispatch('string_literal', 'credit_warehouse')(text)) }}
{%- endmacro %}

{% macro default__string_literal(text) -%}
  '{{ text | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__string_literal(text) -%}
  '{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}


{# Whole days from start_expr to end_expr (end - start; negative when end is earlier), as an integer. #}
{% macro days_between(start_expr, end_expr) -%}
  {{ return(adapter.dispatch('days_between', 'credit_warehouse')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro duckdb__days_between(start_expr, end_expr) -%}
  cast(datediff('day', cast({{ start_expr }} as date), cast({{ end_expr }} as date)) as integer)
{%- endmacro %}

{% macro spark__days_between(start_expr, end_expr) -%}
  datediff(cast({{ end_expr }} as date), cast({{ start_expr }} as date))
{%- endmacro %}

{% macro default__days_between(start_expr, end_expr) -%}
  cast({{ dbt.datediff(start_expr, end_expr, 'day') }} as integer)
{%- endmacro %}


{#- How a model that grows with landed history is materialised (docs/warehouse.md, "Incremental builds"): DuckDB
    builds it incrementally (delete+insert on its unique_key); Spark's plain Parquet tables have no delete, so there
    it is rebuilt as a table on every build (the same rows, docs/scale-out.md). -#}
{% macro history_materialization() -%}
  {{ return(adapter.dispatch('history_materialization', 'credit_warehouse')()) }}
{%- endmacro %}

{% macro default__history_materialization() -%}
  {{ return('incremental') }}
{%- endmacro %}

{% macro spark__history_materialization() -%}
  {{ return('table') }}
{%- endmacro %}

{% macro history_incremental_strategy() -%}
  {{ return(adapter.dispatch('history_incremental_strategy', 'credit_warehouse')()) }}
{%- endmacro %}

{% macro default__history_incremental_strategy() -%}
  {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__history_incremental_strategy() -%}
  {{ return(none) }}
{%- endmacro %}
