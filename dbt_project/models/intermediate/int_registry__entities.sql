-- The registry's latest version of every entity (key: the USCC; an entity sent without one is keyed by its
-- registration number so it is not lost, but only rows with a USCC become entities of dim_entity).
-- Incremental on DuckDB: computed in full (0.4 s at province), only new and changed rows written (macro
-- changed_rows; writing its 1 M wide rows cost 4-10 s on every build); an entity never leaves (landing is
-- append-only).
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='uscc', on_schema_change='fail') }}
with

latest as (
    {{ latest_version(ref('stg_samr__registry'),
                      ["coalesce(uscc, 'registration_no:' || registration_no)"]) | indent(4) }}
),

computed as (
    select *
    from latest
    where uscc is not null
        and uscc <> '{{ var("sole_trader_placeholder_uscc") }}'
)

{{ changed_rows('uscc') }}
