{#-
  Latest version of each natural key across ingestion runs (landing is append-only: a record sent again in a
  later run is a new version). Keeps the row with the greatest _run_id (sortable by time), then _source_row.
  key_exprs: the contract's key columns (SQL expressions).
-#}
{% macro latest_version(relation, key_exprs) -%}
  select *
  from {{ relation }}
  qualify row_number() over (
      partition by {{ key_exprs | join(', ') }}
      order by _run_id desc, _source_row desc
  ) = 1
{%- endmacro %}


{#-
  The body of an int_<entity>__resolved model: the latest version of each record plus identity resolution.
    entity_uscc        = the record's USCC when its check digit holds and the registry knows it,
                         else the registry's USCC found through the record's registration_no,
                         else the registry entity a `match` decision of entity linkage names (docs/linkage.md),
                         else the record's USCC when its check digit holds (an entity the registry does not know),
                         else NULL;
    entity_resolved_by = 'uscc' | 'registration_no' | 'linkage' | NULL;
    entity_known       = entity_uscc is an entity of the registry (dim_entity).
-#}
{% macro resolved_latest(staging_model, key_exprs) -%}
with

latest as (
    {{ latest_version(ref(staging_model), record_key_exprs(key_exprs)) | indent(4) }}
),

{{ entity_resolution_ctes('latest') }}

select * from known
{%- endmacro %}


{#- The natural key of a record as latest_version partitions it: a record whose USCC field held a registration
    number is keyed by that number, not by a NULL shared with every other such record. -#}
{% macro record_key_exprs(key_exprs) -%}
  {%- set keys = [] %}
  {%- for key in key_exprs %}
  {%- do keys.append("coalesce(uscc, 'registration_no:' || registration_no)" if key == 'uscc' else key) %}
  {%- endfor %}
  {{- return(keys) }}
{%- endmacro %}


{#- The identity-resolution cascade of resolved_latest over the rows of CTE `records`, as CTEs ending in `known`
    (the records plus entity_uscc, entity_resolved_by, entity_known). One definition for the full and the
    incremental build (macros/incremental.sql). -#}
{% macro entity_resolution_ctes(records) -%}
registration_numbers as (
    select registration_no, uscc from {{ ref('int_registry__registration_numbers') }}
),

registered as (
    select uscc from {{ ref('int_registry__entities') }}
),

linked as (
    select _file_sha256, _source_row, candidate_uscc as uscc
    from {{ ref('stg_linkage__entity_links') }}
    where decision = 'match'
),

resolved as (
    select
        {{ records }}.*,
        case
            when {{ records }}.uscc_check_ok and registered_as_sent.uscc is not null then {{ records }}.uscc
            when registration_numbers.uscc is not null then registration_numbers.uscc
            when linked.uscc is not null then linked.uscc
            when {{ records }}.uscc_check_ok then {{ records }}.uscc
        end as entity_uscc,
        case
            when {{ records }}.uscc_check_ok and registered_as_sent.uscc is not null then 'uscc'
            when registration_numbers.uscc is not null then 'registration_no'
            when linked.uscc is not null then 'linkage'
            when {{ records }}.uscc_check_ok then 'uscc'
        end as entity_resolved_by
    from {{ records }}
    left join registered as registered_as_sent
        on registered_as_sent.uscc = {{ records }}.uscc
    left join registration_numbers
        on registration_numbers.registration_no = {{ records }}.registration_no
    left join linked
        on linked._file_sha256 = {{ records }}._file_sha256
        and linked._source_row = {{ records }}._source_row
),

known as (
    select
        resolved.*,
        registered.uscc is not null as entity_known
    from resolved
    left join registered
        on registered.uscc = resolved.entity_uscc
)
{%- endmacro %}
