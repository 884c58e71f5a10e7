{#-
  Incremental builds of the models that grow with landed history (docs/warehouse.md, "Incremental builds").
  Materialisation and strategy come from the dispatched history_materialization / history_incremental_strategy
  (macros/portability.sql): incremental on DuckDB, a table on Spark, where is_incremental() is then always false and
  every model below runs its full-build SQL.
-#}

{#- _record_key: one column naming the natural key, so delete+insert can replace a record's earlier version (a NULL
    key part counts as '', which ingestion never lands: it lands an empty string as NULL). -#}
{% macro record_key(key_exprs) -%}
  {{ stable_id(record_key_exprs(key_exprs)) }}
{%- endmacro %}


{#-
  The body of an incremental int_<feed>__resolved model: resolved_latest plus _record_key, built incrementally.
  Full build: resolved_latest over every landed row. Incremental build:
    - landed since: the staging rows of runs after the greatest _run_id already in the table, and of that run's
      files the table has no row of (run ids sort by time and landed files are immutable: docs/interfaces.md §2),
      read with the watermark as a literal so DuckDB skips the Parquet row groups of older runs;
    - the latest version among those rows and the table's current version of the same keys (so "greatest _run_id,
      then _source_row" decides exactly as in a full build);
    - identity resolution of those rows, and re-resolution of every other row of the table against today's registry
      and linkage decisions (a join of the table, no landed row re-read): a row is rewritten only when its
      entity_uscc, entity_resolved_by or entity_known changes (a newly registered entity, a registration number that
      became ambiguous, a new linkage match).
  Rows are never deleted: a record absent from a later run is not withdrawn (docs/warehouse.md, "Latest version").
-#}
{% macro resolved_latest_incremental(staging_model, key_exprs) -%}
{%- set keys = record_key_exprs(key_exprs) %}
{%- if not is_incremental() %}
select
    resolved.*,
    {{ record_key(key_exprs) }} as _record_key
from (
    {{ resolved_latest(staging_model, key_exprs) | indent(4) }}
) as resolved
{%- else %}
{%- set columns = adapter.get_columns_in_relation(ref(staging_model)) | map(attribute='name') | list %}
{%- set watermark = run_query("select coalesce(max(_run_id), '') from " ~ this).columns[0].values()[0] %}
with

{#- the newest run already built is read again for files the table has none of: a build that ran while that run was
    still being landed saw only its first files (a file already built comes back only if all its rows lost to later
    ones; it then loses again) #}
landed_since as (
    select * from {{ ref(staging_model) }}
    where _run_id >= '{{ watermark }}'
        and (_run_id > '{{ watermark }}'
             or _file_sha256 not in (select _file_sha256 from {{ this }} where _run_id = '{{ watermark }}'))
),

changed_keys as (
    select distinct {{ record_key(key_exprs) }} as _record_key from landed_since
),

candidates as (
    select {{ columns | join(', ') }} from landed_since
    union all
    select {{ columns | join(', ') }} from {{ this }}
    where _record_key in (select _record_key from changed_keys)
),

latest as (
    select
        candidates.*,
        cast(null as {{ dbt.type_string() }}) as built_entity_uscc,
        cast(null as {{ dbt.type_string() }}) as built_entity_resolved_by,
        cast(null as boolean) as built_entity_known,
        true as is_new_version
    from (
        {{ latest_version('candidates', keys) | indent(8) }}
    ) as candidates
    union all
    select
        {{ columns | join(', ') }},
        entity_uscc as built_entity_uscc,
        entity_resolved_by as built_entity_resolved_by,
        entity_known as built_entity_known,
        false as is_new_version
    from {{ this }}
    where _record_key not in (select _record_key from changed_keys)
),

{#- the same cascade as resolved_latest (macros/versions.sql) #}
{{ entity_resolution_ctes('latest') }}

select
    {{ columns | join(', ') }},
    entity_uscc,
    entity_resolved_by,
    entity_known,
    {{ record_key(key_exprs) }} as _record_key
from known
where is_new_version
    or {{ null_safe_equal('entity_uscc', 'built_entity_uscc') }} = false
    or {{ null_safe_equal('entity_resolved_by', 'built_entity_resolved_by') }} = false
    or {{ null_safe_equal('entity_known', 'built_entity_known') }} = false
{%- endif %}
{%- endmacro %}


{#-
  Post-hook of the incremental month-end series (fct_entity_credit_index_monthly): delete the rows a full build
  would not have. After the model's delete+insert, every row of an entity it recomputed carries the entity's current
  inputs fingerprint; a row that does not (the entity is no longer active on that month-end, or no longer exists) or
  whose month-end and version are no longer requested (the series moved on a month) goes. Nothing to do on a full
  build.
-#}
{% macro prune_credit_index_series() -%}
{%- if is_incremental() %}
delete from {{ this }} as built
where not exists (
        select 1 from {{ ref('int_credit_index__entity_inputs') }} as inputs
        where inputs.entity_uscc = built.entity_uscc
            and inputs.inputs_fingerprint = built._inputs_fingerprint)
    or not exists (
        select 1 from {{ ref('int_credit_index__requests') }} as requests
        where requests.is_month_end
            and requests.as_of_date = built.month_end
            and requests.methodology_version = built.methodology_version)
{%- endif %}
{%- endmacro %}


{#-
  The end of a model whose rows are cheap to compute and dear to write (a wide mart of millions of rows, none of
  which ever leaves it): select from the CTE `computed`; in an incremental build, only its rows that are new or that
  differ from the table's row of the same key (a hash of every column), which delete+insert then replaces. The
  model computes everything on every build and writes only what changed (fct_licence: docs/warehouse.md).
-#}
{% macro changed_rows(unique_key) -%}
{%- if is_incremental() %}
{%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
select computed.*
from computed
left join (
    select {{ unique_key }} as _built_key, {{ row_hash(columns) }} as _built_hash from {{ this }}
) as built
    on built._built_key = computed.{{ unique_key }}
where built._built_key is null
    or built._built_hash <> {{ row_hash(prefixed('computed', columns)) }}
{%- else %}
select * from computed
{%- endif %}
{%- endmacro %}


{#-
  changed_rows for a model whose rows form groups that are replaced whole (dim_entity_history: an entity's versions):
  every build computes every row in the CTE `computed`; an incremental build selects only the rows of groups whose
  combined hash (bit_xor of a hash of every column of each row) differs from the table's, and delete+insert with
  unique_key = the group key replaces those groups whole, so a row that left a group goes with it. A group itself
  must never leave the model (nothing would delete it): true of entities, whose registry rows are never deleted.
-#}
{% macro changed_groups(group_key) -%}
{%- if is_incremental() %}
{%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
select computed.*
from computed
where computed.{{ group_key }} in (
    select now_groups.group_key
    from (
        select {{ group_key }} as group_key, bit_xor({{ row_hash(prefixed('computed', columns)) }}) as group_hash
        from computed
        group by {{ group_key }}
    ) as now_groups
    left join (
        select {{ group_key }} as group_key, bit_xor({{ row_hash(columns) }}) as group_hash
        from {{ this }}
        group by {{ group_key }}
    ) as built_groups
        on built_groups.group_key = now_groups.group_key
    where built_groups.group_key is null
        or built_groups.group_hash <> now_groups.group_hash
)
{%- else %}
select * from computed
{%- endif %}
{%- endmacro %}


{#- Post-hook of the incremental event ledger (fct_credit_event): delete the events that are gone, which the model
    wrote back with a NULL _inputs_hash (every other row has one). Nothing to do on a full build. -#}
{% macro prune_vanished_events() -%}
{%- if is_incremental() %}
delete from {{ this }} where _inputs_hash is null
{%- endif %}
{%- endmacro %}


{#- ['alias.a', 'alias.b', ...] for the columns ['a', 'b', ...] -#}
{% macro prefixed(alias, columns) -%}
{%- set out = [] %}
{%- for column in columns %}{% do out.append(alias ~ '.' ~ column) %}{% endfor %}
{{- return(out) }}
{%- endmacro %}
