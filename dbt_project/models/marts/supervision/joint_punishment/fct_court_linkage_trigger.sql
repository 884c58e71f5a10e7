-- Court linkage (与失信被执行人名单联动): each change of a court dishonest-debtor status — a case listed or
-- removed — of an entity that was, on the day of the change, a member of a list whose membership must then be
-- reviewed (joint_lists.reviewed_on_court_change: the serious-dishonest list and the red lists). One row per
-- change x membership (grain: trigger_id), up to the as-of date: the trigger to review that listing.
-- A removal is dated by the first ingestion run that saw it (int_dishonest_debtors__resolved.removed_observed_on).
with

cases as (
    select * from {{ ref('int_dishonest_debtors__resolved') }}
    where entity_uscc is not null
),

court_changes as (
    select entity_uscc, case_no, court_name, 'listed' as court_status_change, publish_date as changed_on
    from cases
    union all
    select entity_uscc, case_no, court_name, 'removed' as court_status_change, removed_observed_on as changed_on
    from cases
    where removed_observed_on is not null
),

reviewed_memberships as (
    select memberships.*
    from {{ ref('fct_joint_list_membership') }} as memberships
    inner join {{ ref('joint_lists') }} as lists
        on lists.list_name = memberships.list_name
    where lists.reviewed_on_court_change
)

select
    {{ stable_id(['reviewed_memberships.membership_id', 'court_changes.case_no',
                  'court_changes.court_status_change']) }} as trigger_id,
    reviewed_memberships.entity_uscc,
    ---------- the listing to review
    reviewed_memberships.list_name,
    reviewed_memberships.list_kind,
    reviewed_memberships.membership_id,
    reviewed_memberships.basis_ref,
    reviewed_memberships.member_from,
    ---------- the court's change
    court_changes.case_no,
    court_changes.court_name,
    court_changes.court_status_change,
    court_changes.changed_on,
    case
        when reviewed_memberships.list_kind = 'incentive' and court_changes.court_status_change = 'listed'
            then 'incentives_to_suspend'
        when reviewed_memberships.list_kind = 'incentive'
            then 'incentives_to_restore'
        when court_changes.court_status_change = 'listed'
            then 'punishment_to_confirm'
        else 'early_removal_to_consider'
    end as review_reason,
    reviewed_memberships.as_of_date
from court_changes
inner join reviewed_memberships
    on reviewed_memberships.entity_uscc = court_changes.entity_uscc
    and {{ in_force_on('court_changes.changed_on', 'reviewed_memberships.member_from',
                       'reviewed_memberships.member_until') }}
where court_changes.changed_on <= reviewed_memberships.as_of_date
