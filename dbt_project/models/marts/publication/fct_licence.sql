-- One row per administrative licence decision of market regulation (grain: licence_id, the licence's event_id in
-- fct_credit_event), latest version, with the window in which publication may show it: the licence's validity as
-- the event ledger has it (valid_from, or the decision date, to the day after valid_to; NULL = long-term).
-- A licence whose current status is invalid (XK_ZT 2) is not shown, whatever its dates.
-- Incremental on DuckDB: every build computes every row (2 s at province) and writes only the new and changed ones
-- (macro changed_rows), because writing 3.5 M wide rows took 15-19 s; no licence ever leaves the mart.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='licence_id', on_schema_change='fail') }}
with

licences as (
    select * from {{ ref('int_licences__resolved') }}
),

windows as (
    select event_id, in_force_from, in_force_until
    from {{ ref('fct_credit_event') }}
    where event_type = 'licence'
),

computed as (
    select
        {{ stable_id(["'samr_licences'", 'licences.authority_uscc', 'licences.decision_no']) }} as licence_id,
        ---------- canonical columns of samr_licences
        licences.subject_name,
        licences.subject_category,
        licences.uscc,
        licences.legal_rep_name,
        licences.licence_document_name,
        licences.decision_no,
        licences.licence_category,
        licences.certificate_name,
        licences.licence_no,
        licences.licence_content,
        licences.decision_date,
        licences.valid_from,
        licences.valid_to,
        licences.authority_name,
        licences.authority_uscc,
        licences.licence_status,
        ---------- resolved entity
        licences.entity_uscc,
        licences.entity_known,
        licences.uscc_check_ok,
        ---------- publicity
        windows.in_force_from as publicity_start,
        windows.in_force_until as publicity_end,
        'licence_expired' as publicity_end_reason,
        case when licences.licence_status = 'invalid' then 'licence_status_invalid' end as not_published_reason,
        ---------- lineage
        licences._feed,
        licences._run_id,
        licences._file_name,
        licences._file_sha256,
        licences._source_row
    from licences
    left join windows
        on windows.event_id = {{ stable_id(["'samr_licences'", 'licences.authority_uscc', 'licences.decision_no']) }}
)

{{ changed_rows('licence_id') }}
