-- One row per entity of the market-regulation registry (grain: uscc), latest registry version.
-- Incremental on DuckDB like int_registry__entities: only new and changed rows written (macro changed_rows).
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='uscc', on_schema_change='fail') }}
with

entities as (
    select * from {{ ref('int_registry__entities') }}
),

computed as (
    select
        ---------- identifiers
        uscc,
        registration_no,
        uscc_check_ok,
        ---------- descriptive
        entity_name,
        entity_type,
        legal_rep_name,
        industry_code,
        division_code,
        address,
        park,
        registered_capital_wan,
        established_date,
        ---------- status
        status as registration_status,
        status = 'active' as is_active,
        ---------- lineage of the registry row
        _run_id,
        _file_name,
        _file_sha256,
        _source_row,
        _loaded_at
    from entities
)

{{ changed_rows('uscc') }}
