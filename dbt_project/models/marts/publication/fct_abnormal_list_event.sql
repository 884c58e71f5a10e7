-- One row per abnormal list decision of market regulation (grain: abnormal_list_event_id, the decision's event_id in
-- fct_credit_event), latest version. A listing may be shown from its decision date until the list's first removal
-- of the same entity dated on or after it (the event ledger's until_removal window: removal date exclusive); a
-- removal is not published as a record of its own: it ends the listing, which publication withdraws with reason
-- listing_removed on the removal's date (docs/publication.md).
with

decisions as (
    select * from {{ ref('int_abnormal_list__resolved') }}
),

windows as (
    select event_id, in_force_from, in_force_until
    from {{ ref('fct_credit_event') }}
    where event_type like 'abnormal_list_%'
)

select
    {{ stable_id(["'samr_abnormal_list'", 'decisions.decision_no', 'decisions.action']) }} as abnormal_list_event_id,
    ---------- canonical columns of samr_abnormal_list
    decisions.uscc,
    decisions.entity_name,
    decisions.action,
    decisions.reason,
    decisions.decision_date,
    decisions.authority_name,
    decisions.decision_no,
    ---------- resolved entity
    decisions.entity_uscc,
    decisions.entity_known,
    decisions.uscc_check_ok,
    ---------- publicity
    windows.in_force_from as publicity_start,
    windows.in_force_until as publicity_end,
    'listing_removed' as publicity_end_reason,
    case when decisions.action <> 'listing' then 'removal_ends_the_listing' end as not_published_reason,
    ---------- lineage
    decisions._feed,
    decisions._run_id,
    decisions._file_name,
    decisions._file_sha256,
    decisions._source_row
from decisions
left join windows
    on windows.event_id = {{ stable_id(["'samr_abnormal_list'", 'decisions.decision_no', 'decisions.action']) }}
