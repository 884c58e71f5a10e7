-- The credit index as one parameterised query over this warehouse (grain: query_name), for the read-only
-- methodology what-if (analytics/whatif.py): the same macros as int_credit_index__contributions and
-- int_credit_index__scores, rendered with the requests ($as_of, $base_version) and ($as_of, $candidate_version)
-- instead of this build's. Stored with the build so the text always matches the tables it reads. The named
-- parameters are DuckDB's (the what-if reads the published DuckDB copy); the model itself is a string literal.
{%- set str = dbt.type_string() %}
{%- set query -%}
with
whatif_requests as (
    select cast($as_of as date) as as_of_date, cast($base_version as {{ str }}) as methodology_version
    union
    select cast($as_of as date) as as_of_date, cast($candidate_version as {{ str }}) as methodology_version
),
whatif_contributions as (
{{ credit_contributions_sql('whatif_requests') }}
),
whatif_scores as (
{{ credit_scores_sql('whatif_requests', 'whatif_contributions') }}
)
select * from whatif_scores
{%- endset %}

select
    'credit_index_scores' as query_name,
    'as_of, base_version, candidate_version' as parameters,
    {{ string_literal(query) }} as sql_text
