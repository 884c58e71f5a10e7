-- One row per removal from the abnormal operations list (经营异常名录 移出; grain: removal_decision_no), with its
-- reason and the listing it ends: the latest listing of the same entity decided on or before the removal (as
-- fct_credit_event ends a listing at the first removal on or after it).
with

decisions as (
    select
        *,
        coalesce(entity_uscc, uscc) as match_key
    from {{ ref('int_abnormal_list__resolved') }}
),

removals as (
    select * from decisions where action = 'removal'
),

listings as (
    select * from decisions where action = 'listing'
),

paired as (
    select
        removals.decision_no as removal_decision_no,
        removals.entity_uscc,
        removals.entity_known,
        removals.entity_name,
        removals.reason as removal_reason,
        removals.decision_date as removed_on,
        removals.authority_name,
        listings.decision_no as listing_decision_no,
        listings.reason as listing_reason,
        listings.decision_date as listed_on,
        row_number() over (
            partition by removals.decision_no
            order by listings.decision_date desc, listings.decision_no desc
        ) as listing_rank
    from removals
    left join listings
        on listings.match_key = removals.match_key
        and listings.decision_date <= removals.decision_date
)

select
    removal_decision_no,
    entity_uscc,
    entity_known,
    entity_name,
    removal_reason,
    removed_on,
    {{ month_start('removed_on') }} as removal_month,
    authority_name,
    listing_decision_no,
    listing_reason,
    listed_on,
    case when listed_on is not null then {{ days_between('listed_on', 'removed_on') }} end as days_listed
from paired
where listing_rank = 1
