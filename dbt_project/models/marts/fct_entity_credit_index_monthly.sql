-- The credit index of every entity active at each month-end of the series (grain: entity_uscc, month_end; the
-- requests flagged is_month_end), each under the methodology in force on that date, with the entity's registry
-- attributes as known on that date (dim_entity_history) for the aggregates. Same macros as the as-of index.
--
-- Incremental on DuckDB (a table on Spark: history_materialization). A past month-end is not frozen: a late or
-- corrected event dated before it changes it. So a build recomputes
--   every entity for a month-end (and version) the table does not have yet, and
--   every month-end for an entity whose inputs changed (int_credit_index__entity_inputs: its events, its registry
--   history, the methodology), and nothing else;
-- the post-hook then deletes what a full build would not have: rows of an entity whose inputs changed that were
-- not recomputed (it is no longer active then) and month-ends that left the series. Equal, row for row, to a full
-- build (tests/test_incremental_build.py). A change of the index SQL itself needs `creditwh build --full-refresh`.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key=['entity_uscc', 'month_end'], on_schema_change='fail',
          post_hook="{{ prune_credit_index_series() }}") }}
with

inputs as (
    select entity_uscc, inputs_fingerprint from {{ ref('int_credit_index__entity_inputs') }}
),

{%- if is_incremental() %}

built_requests as (
    select distinct month_end, methodology_version from {{ this }}
),

built_entities as (
    -- one fingerprint per entity: the post-hook removes rows whose fingerprint is not the entity's current one
    select entity_uscc, max(_inputs_fingerprint) as built_fingerprint from {{ this }} group by entity_uscc
),

changed_entities as (
    select inputs.entity_uscc
    from inputs
    left join built_entities
        on built_entities.entity_uscc = inputs.entity_uscc
    where built_entities.built_fingerprint is null
        or built_entities.built_fingerprint <> inputs.inputs_fingerprint
),

month_requests as (
    select
        requests.as_of_date,
        requests.methodology_version,
        built_requests.month_end is null as all_entities
    from {{ ref('int_credit_index__requests') }} as requests
    left join built_requests
        on built_requests.month_end = requests.as_of_date
        and built_requests.methodology_version = requests.methodology_version
    where requests.is_month_end
),
{%- else %}

month_requests as (
    select as_of_date, methodology_version
    from {{ ref('int_credit_index__requests') }}
    where is_month_end
),
{%- endif %}
{%- set changed = 'changed_entities' if is_incremental() else none %}

contributions as (
{{ credit_contributions_sql('month_requests', changed_entities=changed) }}
),

scores as (
{{ credit_scores_sql('month_requests', 'contributions', explain=false, changed_entities=changed) }}
),

history as (
    select * from {{ ref('dim_entity_history') }}
)

select
    scores.entity_uscc,
    scores.as_of_date as month_end,
    scores.methodology_version,
    scores.score,
    scores.risk_class,
    scores.score_risk_class,
    scores.forced_risk_class,
    ---------- the entity as known on month_end
    history.entity_type,
    history.industry_code,
    substring(history.industry_code, 1, 1) as industry_section,
    history.division_code,
    history.park,
    ---------- what the row was computed from (engine-specific hash)
    inputs.inputs_fingerprint as _inputs_fingerprint
from scores
inner join history
    on history.uscc = scores.entity_uscc
    and {{ in_force_on('scores.as_of_date', 'history.valid_from', 'history.valid_to') }}
inner join inputs
    on inputs.entity_uscc = scores.entity_uscc
