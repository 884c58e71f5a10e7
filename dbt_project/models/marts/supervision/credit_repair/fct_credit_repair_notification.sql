-- One row per record that became repairable on or before the as-of date while it was still shown (grain:
-- record_id), whether the office had to tell the entity (credit_repair_rules in force on repair_eligible_from)
-- and the first notice it sent (int_credit_repair__notices, written by `creditwh repair notify`). The
-- proactive-notice rate = notified / notice_required rows of a period (docs/credit-repair.md).
with

eligibility as (
    select * from {{ ref('fct_credit_repair_eligibility') }}
    where repair_eligible_from is not null
        and repair_eligible_from <= {{ as_of_date() }}
        and repair_eligible_from < publicity_auto_ends_on
),

repair_rules as (
    select * from {{ ref('credit_repair_rules') }}
),

notices as (
    select
        record_type,
        record_decision_no,
        authority_uscc,
        notice_no,
        notified_on,
        channel,
        row_number() over (
            partition by record_type, record_decision_no, authority_uscc
            order by notified_on, notice_no
        ) as notice_order,
        count(*) over (partition by record_type, record_decision_no, authority_uscc) as notices_sent
    from {{ ref('int_credit_repair__notices') }}
    where notified_on <= {{ as_of_date() }}
)

select
    eligibility.record_id,
    eligibility.record_type,
    eligibility.decision_no,
    eligibility.authority_uscc,
    eligibility.entity_uscc,
    eligibility.entity_known,
    eligibility.subject_name,
    eligibility.severity,
    eligibility.repair_rule_id,
    eligibility.repair_eligible_from,
    {{ month_start('eligibility.repair_eligible_from') }} as eligible_month,
    coalesce(repair_rule.proactive_notice_required, false) as notice_required,
    repair_rule.rule_id as notice_rule_id,
    notices.notice_no is not null as is_notified,
    notices.notice_no,
    notices.notified_on,
    notices.channel,
    coalesce(notices.notices_sent, 0) as notices_sent,
    case
        when notices.notified_on is not null
            then {{ days_between('eligibility.repair_eligible_from', 'notices.notified_on') }}
    end as days_to_notice,
    eligibility.repair_status,
    {{ as_of_date() }} as as_of_date
from eligibility
left join repair_rules as repair_rule
    on {{ rule_applies('repair_rule', 'eligibility.repair_eligible_from') }}
left join notices
    on notices.record_type = eligibility.record_type
    and notices.record_decision_no = eligibility.decision_no
    and notices.authority_uscc = eligibility.authority_uscc
    and notices.notice_order = 1
