-- Each credit park at each month-end of the series (grain: park_id, month_end; every park that exists on the
-- month-end, also with no members): its members by the zone definition (macro credit_park_members_sql on the
-- registry attributes of that month-end), their credit index (fct_entity_credit_index_monthly: active entities
-- only), the credit events of the members in force on the month-end (negative, positive) and dated in the month,
-- and how many entities the registry's park column puts in the park (the reconciliation over time).
{#- Each part below reads the table for itself rather than through one CTE: DuckDB materialises a CTE that several
    parts read (20M entity-months), where a part that scans the table keeps only its own columns. -#}
{%- set monthly -%}
(
    select
        entity_uscc,
        month_end,
        methodology_version,
        score,
        risk_class,
        division_code,
        industry_code,
        park as registry_park
    from {{ ref('fct_entity_credit_index_monthly') }}
)
{%- endset %}
with

month_ends as (
    select distinct month_end, methodology_version from {{ monthly }} as monthly
),

-- score and risk class ride along with the membership (one index row per entity and month-end), so the members
-- need no join back to the 20M entity-months
members as (
{{ credit_park_members_sql(monthly, 'month_end', carried=['score', 'risk_class']) }}
),

declared as (
{{ registry_declared_parks_sql(monthly, 'month_end') }}
),

member_index as (
    select
        members.park_id,
        members.month_end,
        members.entity_uscc,
        members.score,
        members.risk_class,
        case when declared.park_id = members.park_id then 1 else 0 end as registry_agrees
    from members
    left join declared
        on declared.entity_uscc = members.entity_uscc
        and declared.month_end = members.month_end
),

events as (
    select entity_uscc, polarity, event_date, in_force_from, in_force_until
    from {{ ref('fct_credit_event') }}
    where entity_known
        and entity_uscc in (select entity_uscc from members)
),

-- The members' events counted straight into their park and month-end: per entity-month first would group ~12M
-- event x month-end rows by entity (~3M groups) and join them back. Two joins, because they narrow differently:
-- in force on the month-end only for a negative or positive event (a range on the member's own events); dated in
-- the month as an equality on the month, so each member row meets only that month's events.
in_force_events as (
    select
        member_index.park_id,
        member_index.month_end,
        sum(case when events.polarity = 'negative' then 1 else 0 end) as negative_events,
        sum(case when events.polarity = 'positive' then 1 else 0 end) as positive_events
    from member_index
    inner join month_ends
        on month_ends.month_end = member_index.month_end
    inner join events
        on events.entity_uscc = member_index.entity_uscc
        and events.polarity in ('negative', 'positive')
        and events.event_date <= month_ends.month_end
        and {{ in_force_on('month_ends.month_end', 'events.in_force_from', 'events.in_force_until') }}
    group by member_index.park_id, member_index.month_end
),

new_events as (
    select
        member_index.park_id,
        member_index.month_end,
        count(*) as new_events,
        sum(case when events.polarity = 'negative' then 1 else 0 end) as new_negative_events
    from member_index
    inner join month_ends
        on month_ends.month_end = member_index.month_end
    inner join events
        on events.entity_uscc = member_index.entity_uscc
        and {{ month_start('events.event_date') }} = {{ month_start('month_ends.month_end') }}
        and events.event_date <= month_ends.month_end
    group by member_index.park_id, member_index.month_end
),

park_counts as (
    select
        member_index.park_id,
        member_index.month_end,
        count(*) as entities,
        sum(case when member_index.risk_class = 'A' then 1 else 0 end) as class_a,
        sum(case when member_index.risk_class = 'B' then 1 else 0 end) as class_b,
        sum(case when member_index.risk_class = 'C' then 1 else 0 end) as class_c,
        sum(case when member_index.risk_class = 'D' then 1 else 0 end) as class_d,
        avg(member_index.score) as mean_score,
        median(member_index.score) as median_score,
        sum(member_index.registry_agrees) as registry_agreeing_entities
    from member_index
    group by member_index.park_id, member_index.month_end
),

declared_counts as (
    select park_id, month_end, count(*) as registry_declared_entities
    from declared
    group by park_id, month_end
),

park_months as (
    select parks.park_id, month_ends.month_end, month_ends.methodology_version
    from {{ ref('credit_parks') }} as parks
    inner join month_ends
        on {{ rule_applies('parks', 'month_ends.month_end') }}
)

select
    park_months.park_id,
    park_months.month_end,
    park_months.methodology_version,
    cast(coalesce(park_counts.entities, 0) as bigint) as entities,
    cast(coalesce(park_counts.class_a, 0) as bigint) as class_a,
    cast(coalesce(park_counts.class_b, 0) as bigint) as class_b,
    cast(coalesce(park_counts.class_c, 0) as bigint) as class_c,
    cast(coalesce(park_counts.class_d, 0) as bigint) as class_d,
    case when park_counts.entities > 0 then cast(park_counts.class_a as double) / park_counts.entities end
        as share_a,
    case when park_counts.entities > 0
        then cast(park_counts.class_c + park_counts.class_d as double) / park_counts.entities end as share_c_or_d,
    cast(park_counts.mean_score as double) as mean_score,
    cast(park_counts.median_score as double) as median_score,
    cast(coalesce(in_force_events.negative_events, 0) as bigint) as negative_events,
    cast(coalesce(in_force_events.positive_events, 0) as bigint) as positive_events,
    cast(coalesce(new_events.new_events, 0) as bigint) as new_events,
    cast(coalesce(new_events.new_negative_events, 0) as bigint) as new_negative_events,
    cast(coalesce(declared_counts.registry_declared_entities, 0) as bigint) as registry_declared_entities,
    cast(coalesce(park_counts.registry_agreeing_entities, 0) as bigint) as registry_agreeing_entities
from park_months
left join park_counts
    on park_counts.park_id = park_months.park_id
    and park_counts.month_end = park_months.month_end
left join in_force_events
    on in_force_events.park_id = park_months.park_id
    and in_force_events.month_end = park_months.month_end
left join new_events
    on new_events.park_id = park_months.park_id
    and new_events.month_end = park_months.month_end
left join declared_counts
    on declared_counts.park_id = park_months.park_id
    and declared_counts.month_end = park_months.month_end
