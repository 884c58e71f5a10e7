-- Type-2 history of the registry (grain: uscc, valid_from): one row per version of an entity's attributes, derived
-- from the landed registry runs. Each run is a dated snapshot of what the registry said; a version starts on the
-- date (UTC, of _loaded_at) of the first run that showed it and ends where the next different version starts.
--   valid_from  the first version: its established_date when earlier than the first run (the registry is the
--               authority on when an entity began, and before its first run we know nothing else), else the
--               run date; later versions: the date of the first run that showed the change
--   valid_to    exclusive; NULL = the current version
-- Nothing reads the clock: the same landing gives the same history, whenever it is built. An entity missing from
-- a later run keeps its last version (feeds may be incremental), as in dim_entity.
-- Incremental on DuckDB: computed in full (1.5 s at province), and only the entities whose versions changed are
-- written, each entity's versions replaced whole (macro changed_groups: a same-day run can withdraw a version);
-- writing all 1 M versions cost 6-15 s on every build.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='uscc', on_schema_change='fail') }}
{%- set tracked = ['registration_no', 'entity_name', 'entity_type', 'legal_rep_name', 'registered_capital_wan',
                   'established_date', 'status', 'industry_code', 'division_code', 'address', 'park'] %}
with

registry as (
    select
        *,
        cast(_loaded_at as date) as run_date
    from {{ ref('stg_samr__registry') }}
    where uscc is not null
        and uscc <> '{{ var("sole_trader_placeholder_uscc") }}'
),

-- what the registry said about each entity on each day: the last run of the day, its last row
daily as (
    select *
    from registry
    qualify row_number() over (
        partition by uscc, run_date
        order by _run_id desc, _source_row desc
    ) = 1
),

hashed as (
    select
        daily.*,
        {{ stable_id(tracked) }} as attributes_hash
    from daily
),

changes as (
    select
        hashed.*,
        lag(attributes_hash) over (partition by uscc order by run_date) as previous_hash,
        row_number() over (partition by uscc order by run_date) as snapshot_no
    from hashed
),

versions as (
    select *
    from changes
    where previous_hash is null or previous_hash <> attributes_hash
),

dated as (
    select
        versions.*,
        case
            when snapshot_no = 1 and established_date is not null and established_date < run_date
                then established_date
            else run_date
        end as valid_from,
        lead(run_date) over (partition by uscc order by run_date) as valid_to
    from versions
),

computed as (
    select
        ---------- key and validity
        uscc,
        valid_from,
        valid_to,
        valid_to is null as is_current,
        run_date as recorded_on,
        ---------- the attributes of dim_entity
        registration_no,
        uscc_check_ok,
        entity_name,
        entity_type,
        legal_rep_name,
        industry_code,
        division_code,
        address,
        park,
        registered_capital_wan,
        established_date,
        status as registration_status,
        status = 'active' as is_active,
        attributes_hash,
        ---------- lineage of the registry row that first showed this version
        _run_id,
        _file_name,
        _file_sha256,
        _source_row,
        _loaded_at
    from dated
)

{{ changed_groups('uscc') }}
