-- Feedback to the court (联合惩戒反馈): for each case of the dishonest-debtor list, the measures each department
-- applies to the entity because of it, as applied on or before the as-of date (grain: feedback_id, one per
-- applied measure). `creditwh joint court-feedback` writes these rows for the court.
with

applied as (
    select * from {{ ref('fct_joint_measure_applied') }}
    where list_name = 'court_dishonest_debtor'
        and in_force_from <= as_of_date
),

cases as (
    select case_no, court_name, subject_name, uscc, entity_uscc
    from {{ ref('int_dishonest_debtors__resolved') }}
)

select
    applied.applied_measure_id as feedback_id,
    ---------- the court's case
    cases.case_no,
    cases.court_name,
    cases.subject_name,
    cases.uscc as subject_uscc,
    applied.entity_uscc,
    ---------- the department's measure
    applied.department,
    applied.measure_code,
    applied.measure_zh,
    applied.measure_en,
    applied.kind,
    applied.legal_basis,
    applied.in_force_from,
    applied.in_force_until,
    applied.in_force_on_as_of,
    applied.as_of_date
from applied
inner join cases
    on cases.case_no = applied.basis_ref
    and cases.entity_uscc = applied.entity_uscc
