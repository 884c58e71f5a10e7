-- City-level credit indicators at each month-end of the series (grain: city_code, month_end): the part of the
-- national city credit monitoring (domain.md §6; 守信激励和失信治理 above all) that the feeds support, from the
-- event ledger and the monthly index. docs/warehouse.md lists them and what they stand for.
--   on a list at month-end: entities with a serious-dishonest, abnormal-operations or court dishonest-debtor listing
--   in force; red list: an A tax grade in force
--   in the month (month_start(month_end) .. month_end): penalty decisions, heavier ones, removals from a list
--   (credit repair and list exits)
{#- Each part below reads the table for itself rather than through one CTE: DuckDB materialises a CTE that several
    parts read (20M entity-months), where a part that scans the table keeps only its own columns. -#}
{%- set monthly -%}
(
    select
        entity_uscc,
        month_end,
        substring(division_code, 1, 4) || '00' as city_code,
        score,
        risk_class
    from {{ ref('fct_entity_credit_index_monthly') }}
    where division_code is not null
)
{%- endset %}
with

month_ends as (
    select distinct month_end from {{ monthly }} as monthly
),

events as (
    select entity_uscc, event_type, severity, event_date, in_force_from, in_force_until
    from {{ ref('fct_credit_event') }}
    where entity_known
        and (event_type in ('serious_dishonest_listing', 'abnormal_list_listing', 'dishonest_debtor_listing',
                            'abnormal_list_removal', 'serious_dishonest_removal', 'serious_dishonest_early_removal',
                            'dishonest_debtor_removal')
             or (event_type = 'tax_credit_grade' and severity = 'A')
             or (event_type = 'penalty' and severity <> 'warning_only'))
),

-- an event meets a month-end either by being in force on it (listings, grades) or by falling in its month
-- (decisions, removals): two joins of the few relevant events with the ~24 month-ends, not a join of every
-- entity-month with every event; the second on the month itself, so each event meets only its own month-end
in_force as (
    select
        events.entity_uscc,
        month_ends.month_end,
        case when events.event_type = 'serious_dishonest_listing' then 1 else 0 end as on_serious_dishonest_list,
        case when events.event_type = 'abnormal_list_listing' then 1 else 0 end as on_abnormal_list,
        case when events.event_type = 'dishonest_debtor_listing' then 1 else 0 end as on_dishonest_debtor_list,
        case when events.event_type = 'tax_credit_grade' then 1 else 0 end as on_red_list,
        0 as penalties_in_month,
        0 as serious_penalties_in_month,
        0 as list_removals_in_month
    from events
    inner join month_ends
        on events.event_date <= month_ends.month_end
        and {{ in_force_on('month_ends.month_end', 'events.in_force_from', 'events.in_force_until') }}
    where events.event_type in ('serious_dishonest_listing', 'abnormal_list_listing', 'dishonest_debtor_listing',
                                'tax_credit_grade')
),

in_month as (
    select
        events.entity_uscc,
        month_ends.month_end,
        0 as on_serious_dishonest_list,
        0 as on_abnormal_list,
        0 as on_dishonest_debtor_list,
        0 as on_red_list,
        case when events.event_type = 'penalty' then 1 else 0 end as penalties_in_month,
        case when events.event_type = 'penalty' and events.severity = 'serious' then 1 else 0 end
            as serious_penalties_in_month,
        case when events.event_type in ('abnormal_list_removal', 'serious_dishonest_removal',
                                        'serious_dishonest_early_removal', 'dishonest_debtor_removal')
            then 1 else 0 end as list_removals_in_month
    from events
    inner join month_ends
        on {{ month_start('events.event_date') }} = {{ month_start('month_ends.month_end') }}
        and events.event_date <= month_ends.month_end
    where events.event_type in ('penalty', 'abnormal_list_removal', 'serious_dishonest_removal',
                                'serious_dishonest_early_removal', 'dishonest_debtor_removal')
),

entity_month_flags as (
    select
        entity_uscc,
        month_end,
        max(on_serious_dishonest_list) as on_serious_dishonest_list,
        max(on_abnormal_list) as on_abnormal_list,
        max(on_dishonest_debtor_list) as on_dishonest_debtor_list,
        max(on_red_list) as on_red_list,
        sum(penalties_in_month) as penalties_in_month,
        sum(serious_penalties_in_month) as serious_penalties_in_month,
        sum(list_removals_in_month) as list_removals_in_month
    from (
        select * from in_force
        union all
        select * from in_month
    ) as met
    group by entity_uscc, month_end
),

-- The flags reach the cities through the ~4M entity-months that have any (an inner join), and the entities are
-- counted on their own: not every one of the 20M entity-months carried through a left join to be summed.
city_flags as (
    select
        monthly.city_code,
        monthly.month_end,
        sum(flags.on_serious_dishonest_list) as serious_dishonest_listed,
        sum(flags.on_abnormal_list) as abnormal_listed,
        sum(flags.on_dishonest_debtor_list) as dishonest_debtor_listed,
        sum(case when flags.on_serious_dishonest_list + flags.on_abnormal_list + flags.on_dishonest_debtor_list > 0
                 then 1 else 0 end) as entities_on_a_list,
        sum(flags.on_red_list) as red_list_entities,
        sum(flags.penalties_in_month) as penalties_in_month,
        sum(flags.serious_penalties_in_month) as serious_penalties_in_month,
        sum(flags.list_removals_in_month) as list_removals_in_month
    from entity_month_flags as flags
    inner join {{ monthly }} as monthly
        on monthly.entity_uscc = flags.entity_uscc
        and monthly.month_end = flags.month_end
    group by monthly.city_code, monthly.month_end
),

city_entities as (
    select
        city_code,
        month_end,
        count(*) as active_entities,
        sum(case when risk_class = 'A' then 1 else 0 end) as class_a,
        sum(case when risk_class = 'D' then 1 else 0 end) as class_d,
        avg(score) as mean_score
    from {{ monthly }} as monthly
    group by city_code, month_end
),

city as (
    select
        city_entities.*,
        coalesce(city_flags.serious_dishonest_listed, 0) as serious_dishonest_listed,
        coalesce(city_flags.abnormal_listed, 0) as abnormal_listed,
        coalesce(city_flags.dishonest_debtor_listed, 0) as dishonest_debtor_listed,
        coalesce(city_flags.entities_on_a_list, 0) as entities_on_a_list,
        coalesce(city_flags.red_list_entities, 0) as red_list_entities,
        coalesce(city_flags.penalties_in_month, 0) as penalties_in_month,
        coalesce(city_flags.serious_penalties_in_month, 0) as serious_penalties_in_month,
        coalesce(city_flags.list_removals_in_month, 0) as list_removals_in_month
    from city_entities
    left join city_flags
        on city_flags.city_code = city_entities.city_code
        and city_flags.month_end = city_entities.month_end
)

select
    city_code,
    month_end,
    cast(active_entities as bigint) as active_entities,
    cast(mean_score as double) as mean_score,
    cast(class_a as double) / active_entities as share_class_a,
    cast(class_d as double) / active_entities as share_class_d,
    cast(serious_dishonest_listed as bigint) as serious_dishonest_listed,
    cast(abnormal_listed as bigint) as abnormal_listed,
    cast(dishonest_debtor_listed as bigint) as dishonest_debtor_listed,
    cast(entities_on_a_list as bigint) as entities_on_a_list,
    cast(entities_on_a_list as double) * 10000 / active_entities as listed_per_10k_entities,
    cast(red_list_entities as bigint) as red_list_entities,
    cast(red_list_entities as double) / active_entities as share_red_list,
    cast(penalties_in_month as bigint) as penalties_in_month,
    cast(penalties_in_month as double) * 10000 / active_entities as penalties_per_10k_entities,
    cast(serious_penalties_in_month as bigint) as serious_penalties_in_month,
    cast(list_removals_in_month as bigint) as list_removals_in_month
from city
