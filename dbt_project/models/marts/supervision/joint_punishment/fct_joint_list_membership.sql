-- Every spell of an entity on a list or grade that triggers joint punishment or incentives (joint_lists), with the
-- record it rests on (grain: membership_id): [member_from, member_until), until exclusive, NULL = still a member.
-- Only resolved entities: a measure is applied to an entity, never to an unresolved identifier.
--   serious_dishonest        a listing until its removal (fct_serious_dishonest_listing)
--   court_dishonest_debtor   a court case from its publish_date until its removal is first observed
--   red_list                 a 守合同重信用 recognition, publication to valid_to (fct_credit_event's window)
--   tax_a_grade / env_*      an A tax grade, a green or red environmental grade until the next grade of its kind
--   risk_class_a / _d        the class of the build's as-of index, from the as-of date
with

serious_dishonest as (
    select
        'serious_dishonest' as list_name,
        listing_decision_no as basis_ref,
        authority_name as basis_authority,
        entity_uscc,
        listed_on as member_from,
        removed_on as member_until
    from {{ ref('fct_serious_dishonest_listing') }}
    where entity_uscc is not null
),

court_dishonest_debtor as (
    select
        'court_dishonest_debtor' as list_name,
        case_no as basis_ref,
        court_name as basis_authority,
        entity_uscc,
        publish_date as member_from,
        removed_observed_on as member_until
    from {{ ref('int_dishonest_debtors__resolved') }}
    where entity_uscc is not null
),

events as (
    select * from {{ ref('fct_credit_event') }}
    where entity_uscc is not null
        and (event_type = 'contract_credit_honour'
             or (event_type = 'tax_credit_grade' and severity = 'A')
             or (event_type = 'environmental_credit_grade' and severity in ('green', 'red')))
),

graded as (
    select
        case
            when event_type = 'contract_credit_honour' then 'red_list'
            when event_type = 'tax_credit_grade' then 'tax_a_grade'
            when severity = 'green' then 'env_green_grade'
            else 'env_red_grade'
        end as list_name,
        description as basis_ref,
        department as basis_authority,
        entity_uscc,
        in_force_from as member_from,
        in_force_until as member_until
    from events
),

risk_classes as (
    select
        case risk_class when 'A' then 'risk_class_a' else 'risk_class_d' end as list_name,
        concat('credit index ', methodology_version, ' as of ', cast(as_of_date as {{ dbt.type_string() }}))
            as basis_ref,
        'market_regulation' as basis_authority,
        entity_uscc,
        as_of_date as member_from,
        cast(null as date) as member_until
    from {{ ref('fct_entity_credit_index') }}
    where risk_class in ('A', 'D')
),

memberships as (
    select * from serious_dishonest
    union all
    select * from court_dishonest_debtor
    union all
    select * from graded
    union all
    select * from risk_classes
)

select
    {{ stable_id(['memberships.list_name', 'memberships.entity_uscc', 'memberships.basis_ref']) }} as membership_id,
    memberships.list_name,
    lists.kind as list_kind,
    memberships.entity_uscc,
    memberships.basis_ref,
    memberships.basis_authority,
    memberships.member_from,
    memberships.member_until,
    {{ as_of_date() }} as as_of_date,
    {{ in_force_on(as_of_date(), 'memberships.member_from', 'memberships.member_until') }} as is_member_on_as_of
from memberships
inner join {{ ref('joint_lists') }} as lists
    on lists.list_name = memberships.list_name
where memberships.member_from is not null
    and (memberships.member_until is null or memberships.member_until > memberships.member_from)
