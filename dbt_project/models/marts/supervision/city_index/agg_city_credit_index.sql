-- The city composite credit index (城市信用指数) at each month-end (grain: city_code, month_end): the sum of the
-- indicator contributions of agg_city_credit_index_indicator, rescaled to the weights of the indicators that have
-- a value that month (so an unmeasurable indicator neither drags the index down nor lifts it), on 0..100.
with

indicators as (
    select * from {{ ref('agg_city_credit_index_indicator') }}
),

summed as (
    select
        city_code,
        month_end,
        index_version,
        count(*) as indicators,
        sum(case when normalised_score is not null then 1 else 0 end) as indicators_measured,
        sum(weight_pct) as weight_total,
        sum(case when normalised_score is not null then weight_pct else 0 end) as weight_measured,
        sum(contribution) as contribution_total
    from indicators
    group by city_code, month_end, index_version
)

select
    summed.city_code,
    summed.month_end,
    summed.index_version,
    cast(case when summed.weight_measured > 0
              then summed.contribution_total * 100 / summed.weight_measured end as double) as composite_index,
    cast(summed.indicators as bigint) as indicators,
    cast(summed.indicators_measured as bigint) as indicators_measured,
    cast(summed.weight_total as double) as weight_total,
    cast(summed.weight_measured as double) as weight_measured,
    city.active_entities
from summed
inner join {{ ref('agg_city_credit_indicators_monthly') }} as city
    on city.city_code = summed.city_code
    and city.month_end = summed.month_end
