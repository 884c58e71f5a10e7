{#-
  The as-of date of the credit index, a DATE literal: var('as_of_date') when given (a string 'YYYY-MM-DD'; a YAML
  date is accepted too), else the environment variable CREDITWH_AS_OF (how creditwh.warehouse.build passes it:
  a --vars value that changes every day would make dbt parse the whole project again on every build, where a
  changed environment variable re-parses only what reads it), else the UTC date the run started, so one run uses
  one date everywhere.
-#}
{% macro as_of_date() -%}
  {%- set raw = var('as_of_date', none) -%}
  {%- if raw is none or (raw | string | trim) == '' -%}
    {%- set raw = env_var('CREDITWH_AS_OF', '') -%}
  {%- endif -%}
  {%- if raw is none or (raw | string | trim) == '' -%}
    {%- set raw = run_started_at.strftime('%Y-%m-%d') -%}
  {%- endif -%}
  {%- set text = raw | string | trim -%}
  {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
    {{ exceptions.raise_compiler_error("the as-of date (var as_of_date or CREDITWH_AS_OF) must be a date 'YYYY-MM-DD', got " ~ (raw | string)) }}
  {%- endif -%}
  cast('{{ text }}' as date)
{%- endmacro %}


{#- True when a record with the window [from_col, until_col) is in force on date_expr.
    until is exclusive; NULL until = open-ended. -#}
{% macro in_force_on(date_expr, from_col, until_col) -%}
  ({{ from_col }} <= {{ date_expr }} and ({{ until_col }} is null or {{ date_expr }} < {{ until_col }}))
{%- endmacro %}


{#- True when a dated rule row applies on date_expr: effective_from / effective_to are both inclusive,
    NULL = open on that side. -#}
{% macro rule_applies(rule_alias, date_expr) -%}
  (({{ rule_alias }}.effective_from is null or {{ rule_alias }}.effective_from <= {{ date_expr }})
   and ({{ rule_alias }}.effective_to is null or {{ date_expr }} <= {{ rule_alias }}.effective_to))
{%- endmacro %}
