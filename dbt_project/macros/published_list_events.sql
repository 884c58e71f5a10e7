{#-
  The body of a publication mart for a list of market regulation (abnormal operations, serious illegal and
  dishonest): one row per decision (listing or removal), latest version, with its resolved entity and the
  publicity window of its event in fct_credit_event. A listing may be shown from its decision date until the
  list's first removal of the same entity dated on or after it (the event ledger's until_removal window, removal
  date exclusive); a removal is not published as a record of its own: it ends the listing, which publication
  withdraws with reason listing_removed on the removal's date (docs/publication.md §8).
    resolved_model  the int_<list>__resolved model;  feed  its feed id (the event id's namespace);
    event_prefix    its event types in fct_credit_event;  id_column  the mart's id column
-#}
{% macro published_list_events(resolved_model, feed, event_prefix, id_column) -%}
{%- set event_id = stable_id(["'" ~ feed ~ "'", 'decisions.decision_no', 'decisions.action']) -%}
with

decisions as (
    select * from {{ ref(resolved_model) }}
),

windows as (
    select event_id, in_force_from, in_force_until
    from {{ ref('fct_credit_event') }}
    where event_type like '{{ event_prefix }}%'
)

select
    {{ event_id }} as {{ id_column }},
    ---------- canonical columns of the list's feed
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
    on windows.event_id = {{ event_id }}
{%- endmacro %}
