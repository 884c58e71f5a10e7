-- One row per market-regulation penalty of a published type (grain: record_id = fct_penalty.penalty_id): when its
-- entity may apply for credit repair, when its publicity ends by itself, and where its repair stands
-- (docs/credit-repair.md).
--   repair_rule_id         the publicity_rules row that sets the waiting period: the row of the record's severity
--                          in force on the date credit_repair_rules.rule_date_basis names (basis in force on the
--                          as-of date; decision_date: the record keeps the rule of the day it was decided);
--   repair_eligible_from   decision_date + that row's repair_after_months; NULL = no early repair (the record
--                          only ends by itself: minor items, serious ones under Order 45);
--   publicity_auto_ends_on the rule's own end (publicity_end_by_rule); publicity_ends_on the actual end, earlier
--                          when a repair was granted.
with

penalties as (
    select * from {{ ref('fct_penalty') }}
    where is_published_type
),

repair_rules as (
    select * from {{ ref('credit_repair_rules') }}
),

-- one row whatever the seed holds, so a date no rule covers falls back to the decision date
basis as (
    select max(rule_date_basis) as rule_date_basis
    from repair_rules
    where {{ rule_applies('repair_rules', as_of_date()) }}
),

publicity_rules as (
    select * from {{ ref('publicity_rules') }}
),

applications as (
    select
        record_id,
        application_no,
        applied_on,
        decision,
        decided_on,
        row_number() over (partition by record_id order by applied_on desc, application_no desc) as recency
    from {{ ref('int_credit_repair__decisions') }}
    where record_type = 'penalty' and is_valid
),

first_applications as (
    select record_id, min(applied_on) as first_applied_on, count(*) as applications
    from applications
    group by record_id
),

dated as (
    select
        penalties.*,
        first_applications.first_applied_on,
        coalesce(first_applications.applications, 0) as applications,
        case basis.rule_date_basis
            when 'application_date' then coalesce(first_applications.first_applied_on, {{ as_of_date() }})
            else penalties.decision_date
        end as repair_rule_date
    from penalties
    cross join basis
    left join first_applications
        on first_applications.record_id = penalties.penalty_id
),

with_repair_rule as (
    select
        dated.*,
        repair_rule.rule_id as repair_rule_id,
        repair_rule.repair_after_months as rule_repair_after_months
    from dated
    left join publicity_rules as repair_rule
        on repair_rule.severity = dated.severity
        and {{ rule_applies('repair_rule', 'dated.repair_rule_date') }}
),

eligibility as (
    select
        with_repair_rule.*,
        case
            when rule_repair_after_months is not null
                then {{ add_months('decision_date', 'rule_repair_after_months') }}
        end as rule_repair_eligible_from
    from with_repair_rule
)

select
    eligibility.penalty_id as record_id,
    'penalty' as record_type,
    eligibility.decision_no,
    eligibility.authority_uscc,
    eligibility.authority_name,
    ---------- entity
    eligibility.entity_uscc,
    eligibility.entity_known,
    eligibility.subject_name,
    ---------- rule and dates
    eligibility.severity,
    eligibility.decision_date,
    eligibility.publicity_rule_id,
    eligibility.repair_rule_id,
    eligibility.repair_rule_date,
    eligibility.rule_repair_eligible_from as repair_eligible_from,
    eligibility.publicity_end_by_rule as publicity_auto_ends_on,
    eligibility.publicity_end as publicity_ends_on,
    ---------- repair
    eligibility.applications,
    eligibility.first_applied_on,
    latest.application_no as last_application_no,
    latest.applied_on as last_applied_on,
    latest.decision as last_decision,
    latest.decided_on,
    eligibility.repair_granted_on,
    case
        when eligibility.repair_granted_on is not null then 'granted'
        when latest.decision = 'pending' then 'pending'
        when latest.decision = 'refused' then 'refused'
        when eligibility.rule_repair_eligible_from is null then 'not_repairable_early'
        else 'not_applied'
    end as repair_status,
    -- on the as-of date: repairable, and still shown
    coalesce(eligibility.rule_repair_eligible_from <= {{ as_of_date() }}, false)
        and eligibility.publicity_end > {{ as_of_date() }} as is_repair_eligible_on_as_of,
    {{ as_of_date() }} as as_of_date
from eligibility
left join applications as latest
    on latest.record_id = eligibility.penalty_id
    and latest.recency = 1
