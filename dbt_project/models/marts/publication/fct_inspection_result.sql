-- One row per random-inspection result of market regulation (grain: inspection_result_id, the result's event_id in
-- fct_credit_event), latest version, with its publicity window: the event ledger's fixed_months window from the
-- inspection date (event_taxonomy.in_force_months, 12 today).
with

results as (
    select * from {{ ref('int_inspections__resolved') }}
),

windows as (
    select event_id, in_force_from, in_force_until
    from {{ ref('fct_credit_event') }}
    where event_type = 'inspection_result'
)

select
    {{ stable_id(["'samr_inspection_results'", 'results.task_id', "coalesce(results.uscc, 'registration_no:' || results.registration_no)"]) }} as inspection_result_id,
    ---------- canonical columns of samr_inspection_results
    results.task_id,
    results.entity_name,
    results.uscc,
    results.registration_no,
    results.inspection_date,
    results.result,
    results.authority_name,
    ---------- resolved entity
    results.entity_uscc,
    results.entity_known,
    results.uscc_check_ok,
    ---------- publicity
    windows.in_force_from as publicity_start,
    windows.in_force_until as publicity_end,
    'publicity_period_ended' as publicity_end_reason,
    cast(null as {{ dbt.type_string() }}) as not_published_reason,
    ---------- lineage
    results._feed,
    results._run_id,
    results._file_name,
    results._file_sha256,
    results._source_row
from results
left join windows
    on windows.event_id = {{ stable_id(["'samr_inspection_results'", 'results.task_id', "coalesce(results.uscc, 'registration_no:' || results.registration_no)"]) }}
