-- Every measure a department applies to a member of a list (grain: applied_measure_id = membership x measure
-- rule): in force for the overlap of the membership [member_from, member_until) and the measure rule's
-- [effective_from, effective_to] (until exclusive, NULL = open). A measure whose wording changed during a
-- membership gives one row per wording. The per-department marts (mart_joint_measures__*) are slices of this.
with

memberships as (
    select * from {{ ref('fct_joint_list_membership') }}
),

measures as (
    select * from {{ ref('joint_measures') }}
),

entities as (
    select uscc, entity_name from {{ ref('dim_entity') }}
),

applied as (
    select
        {{ stable_id(['memberships.membership_id', 'measures.measure_rule_id']) }} as applied_measure_id,
        measures.department,
        memberships.entity_uscc,
        memberships.list_name,
        memberships.list_kind,
        memberships.membership_id,
        memberships.basis_ref,
        memberships.basis_authority,
        measures.measure_rule_id,
        measures.measure_code,
        measures.measure_zh,
        measures.measure_en,
        measures.kind,
        measures.legal_basis,
        measures.source,
        greatest(memberships.member_from, coalesce(measures.effective_from, memberships.member_from))
            as in_force_from,
        -- least() skips NULLs on both engines: an open end on one side leaves the other side's end
        least(memberships.member_until, {{ add_days('measures.effective_to', 1) }}) as in_force_until,
        memberships.as_of_date
    from memberships
    inner join measures
        on measures.list_name = memberships.list_name
        and (measures.effective_to is null or memberships.member_from <= measures.effective_to)
        and (measures.effective_from is null or memberships.member_until is null
             or measures.effective_from < memberships.member_until)
)

select
    applied.applied_measure_id,
    applied.department,
    ---------- entity
    applied.entity_uscc,
    entities.entity_name,
    entities.uscc is not null as entity_known,
    ---------- list / trigger
    applied.list_name,
    applied.list_kind,
    applied.membership_id,
    applied.basis_ref,
    applied.basis_authority,
    ---------- measure
    applied.measure_rule_id,
    applied.measure_code,
    applied.measure_zh,
    applied.measure_en,
    applied.kind,
    applied.legal_basis,
    applied.source,
    ---------- when
    applied.in_force_from,
    applied.in_force_until,
    applied.as_of_date,
    {{ in_force_on('applied.as_of_date', 'applied.in_force_from', 'applied.in_force_until') }} as in_force_on_as_of
from applied
left join entities
    on entities.uscc = applied.entity_uscc
