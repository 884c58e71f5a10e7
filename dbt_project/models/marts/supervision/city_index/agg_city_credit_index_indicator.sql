-- The city composite credit index broken down by indicator (grain: city_code, month_end, indicator): each indicator
-- of agg_city_credit_indicators_monthly that the city_credit_index_weights version in force on the month-end uses,
-- its value, normalised score and contribution.
--   normalised   = 100 x (value - worst_value) / (best_value - worst_value), clamped to 0..100; a best_value below
--                  worst_value makes lower better; NULL when the value is (e.g. no active entities)
--   contribution = normalised x weight_pct / 100
-- The indicator columns below are what the warehouse can measure (docs/warehouse.md); which of them count, and how
-- much, is the seed's.
{%- set measurable = ['active_entities', 'mean_score', 'share_class_a', 'share_class_d', 'serious_dishonest_listed',
                      'abnormal_listed', 'dishonest_debtor_listed', 'entities_on_a_list', 'listed_per_10k_entities',
                      'red_list_entities', 'share_red_list', 'penalties_in_month', 'penalties_per_10k_entities',
                      'serious_penalties_in_month', 'list_removals_in_month'] %}
with

indicators as (
    select * from {{ ref('agg_city_credit_indicators_monthly') }}
),

long as (
{%- for column in measurable %}
    select city_code, month_end, '{{ column }}' as indicator, cast({{ column }} as double) as value
    from indicators
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
),

weights as (
    select * from {{ ref('city_credit_index_weights') }}
),

scaled as (
    select
        long.city_code,
        long.month_end,
        weights.index_version,
        long.indicator,
        weights.label_zh,
        weights.ndrc_dimension,
        long.value,
        weights.worst_value,
        weights.best_value,
        weights.weight_pct,
        100 * (long.value - weights.worst_value) / (weights.best_value - weights.worst_value) as raw_score
    from long
    inner join weights
        on weights.indicator = long.indicator
        and {{ rule_applies('weights', 'long.month_end') }}
),

normalised as (
    select
        scaled.*,
        case
            when raw_score is null then null
            when raw_score < 0 then cast(0 as double)
            when raw_score > 100 then cast(100 as double)
            else raw_score
        end as normalised_score
    from scaled
)

select
    city_code,
    month_end,
    index_version,
    indicator,
    label_zh,
    ndrc_dimension,
    value,
    worst_value,
    best_value,
    weight_pct,
    cast(normalised_score as double) as normalised_score,
    cast(normalised_score * weight_pct / 100 as double) as contribution
from normalised
