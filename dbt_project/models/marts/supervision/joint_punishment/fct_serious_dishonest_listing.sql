-- One row per listing on the serious illegal and dishonest list (grain: listing_decision_no), with its listing
-- ground, when early removal may be applied for and when removal is due (serious_dishonest_rules, dated by the
-- listing date), the removal that ended it, and its status on the build's as-of date.
--   ground   the feed carries a free-text reason only: the ground is the rule whose keyword the reason contains
--            (lowest match_order wins), else `unclassified`;
--   removal  the first removal or early removal of the same entity dated on or after the listing and before the
--            entity's next listing (a relisted entity's old removal does not end the new listing).
with

events as (
    select * from {{ ref('int_serious_dishonest__resolved') }}
),

rules as (
    select * from {{ ref('serious_dishonest_rules') }}
),

listings as (
    select
        decision_no as listing_decision_no,
        coalesce(entity_uscc, uscc) as match_key,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        authority_name,
        reason,
        decision_date as listed_on,
        lead(decision_date) over (
            partition by coalesce(entity_uscc, uscc)
            order by decision_date, decision_no
        ) as next_listed_on
    from events
    where action = 'listing'
),

removals as (
    select
        coalesce(entity_uscc, uscc) as match_key,
        decision_no,
        action,
        decision_date
    from events
    where action in ('removal', 'early_removal')
),

first_removals as (
    select
        listings.listing_decision_no,
        removals.decision_no as removal_decision_no,
        removals.action as removal_action,
        removals.decision_date as removed_on,
        row_number() over (
            partition by listings.listing_decision_no
            order by removals.decision_date, removals.decision_no
        ) as removal_rank
    from listings
    inner join removals
        on removals.match_key = listings.match_key
        and removals.decision_date >= listings.listed_on
        and (listings.next_listed_on is null or removals.decision_date < listings.next_listed_on)
),

keywords as (
    select
        grounds_code,
        match_order,
        effective_from,
        effective_to,
        keyword
    from (
        select
            rules.*,
            {{ split_to_rows('rules.reason_keywords', ';') }} as keyword
        from rules
        where rules.reason_keywords is not null
    ) as split_rules
    where keyword <> ''
),

matched_grounds as (
    select
        listings.listing_decision_no,
        keywords.grounds_code,
        row_number() over (
            partition by listings.listing_decision_no
            order by keywords.match_order, keywords.grounds_code
        ) as match_rank
    from listings
    inner join keywords
        on instr(listings.reason, keywords.keyword) > 0
        and {{ rule_applies('keywords', 'listings.listed_on') }}
),

grounded as (
    select
        listings.*,
        coalesce(matched_grounds.grounds_code, 'unclassified') as grounds_code
    from listings
    left join matched_grounds
        on matched_grounds.listing_decision_no = listings.listing_decision_no
        and matched_grounds.match_rank = 1
),

dated as (
    select
        grounded.*,
        rules.rule_id as grounds_rule_id,
        rules.grounds_zh,
        rules.grounds_en,
        {{ add_months('grounded.listed_on', 'rules.early_removal_after_months') }} as early_removal_eligible_from,
        {{ add_months('grounded.listed_on', 'rules.removal_after_months') }} as removal_due_on,
        first_removals.removal_decision_no,
        first_removals.removal_action,
        first_removals.removed_on,
        {{ as_of_date() }} as as_of_date
    from grounded
    left join rules
        on rules.grounds_code = grounded.grounds_code
        and {{ rule_applies('rules', 'grounded.listed_on') }}
    left join first_removals
        on first_removals.listing_decision_no = grounded.listing_decision_no
        and first_removals.removal_rank = 1
)

select
    listing_decision_no,
    ---------- entity
    entity_uscc,
    entity_known,
    subject_uscc,
    subject_name,
    ---------- listing
    authority_name,
    reason,
    grounds_code,
    grounds_zh,
    grounds_en,
    grounds_rule_id,
    listed_on,
    early_removal_eligible_from,
    removal_due_on,
    ---------- removal
    removed_on,
    removal_action,
    removal_decision_no,
    ---------- status on the as-of date
    as_of_date,
    case
        when listed_on > as_of_date then 'not_yet_listed'
        when removed_on <= as_of_date and removal_action = 'early_removal' then 'removed_early'
        when removed_on <= as_of_date then 'removed'
        when removal_due_on <= as_of_date then 'removal_due'
        when early_removal_eligible_from <= as_of_date then 'early_removal_eligible'
        else 'listed'
    end as status
from dated
