-- The credit index aggregated by area at each month-end of the series (grain: level, area_code, month_end), from
-- fct_entity_credit_index_monthly (each entity as known on that month-end):
--   level city               area_code = the prefecture code: the first 4 digits of the division code + '00'
--   level industry_section   GB/T 4754 section (the industry code's letter)
--   level division           GB/T 2260 county-level division code
--   level park               credit park name (entities outside a park are not in this level)
-- An unknown industry or division is grouped under 'unknown'.
with

monthly as (
    select
        entity_uscc,
        month_end,
        methodology_version,
        score,
        risk_class,
        coalesce(substring(division_code, 1, 4) || '00', 'unknown') as city_code,
        coalesce(industry_section, 'unknown') as industry_section,
        coalesce(division_code, 'unknown') as division_code,
        park
    from {{ ref('fct_entity_credit_index_monthly') }}
),

-- The entity-months are counted once, into cells keyed by all four levels at once (~11k cells at province scale);
-- each level then adds up cells instead of reading another copy of the 20M entity-months. mean_score is the cells'
-- score sum over their scored count, i.e. avg(score) of the same rows (summed in another order: the same double
-- while the sums are exact, as with half-point scores; else it can move in the last bit, as avg does with threads).
cells as (
    select
        city_code,
        industry_section,
        division_code,
        park,
        month_end,
        methodology_version,
        count(*) as entities,
        sum(case when risk_class = 'A' then 1 else 0 end) as class_a,
        sum(case when risk_class = 'B' then 1 else 0 end) as class_b,
        sum(case when risk_class = 'C' then 1 else 0 end) as class_c,
        sum(case when risk_class = 'D' then 1 else 0 end) as class_d,
        sum(score) as score_sum,
        count(score) as scored,
        min(score) as min_score
    from monthly
    group by city_code, industry_section, division_code, park, month_end, methodology_version
),

areas as (
    select 'city' as level, city_code as area_code, cells.*
    from cells
    union all
    select 'industry_section' as level, industry_section as area_code, cells.*
    from cells
    union all
    select 'division' as level, division_code as area_code, cells.*
    from cells
    union all
    select 'park' as level, park as area_code, cells.*
    from cells
    where park is not null
),

counted as (
    select
        level,
        area_code,
        month_end,
        methodology_version,
        sum(entities) as entities,
        sum(class_a) as class_a,
        sum(class_b) as class_b,
        sum(class_c) as class_c,
        sum(class_d) as class_d,
        sum(score_sum) / sum(scored) as mean_score,
        min(min_score) as min_score
    from areas
    group by level, area_code, month_end, methodology_version
)

select
    level,
    area_code,
    month_end,
    methodology_version,
    cast(entities as bigint) as entities,
    cast(class_a as bigint) as class_a,
    cast(class_b as bigint) as class_b,
    cast(class_c as bigint) as class_c,
    cast(class_d as bigint) as class_d,
    cast(class_a as double) / entities as share_a,
    cast(class_c + class_d as double) / entities as share_c_or_d,
    cast(mean_score as double) as mean_score,
    min_score
from counted
