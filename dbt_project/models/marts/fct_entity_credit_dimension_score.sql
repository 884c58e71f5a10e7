-- Each active entity's sub-score in every dimension of the methodology on the build's as-of date (grain:
-- entity_uscc, dimension): sub_score = clamp(base_score + points_total, score_min, score_max); weighted_score =
-- sub_score * weight_pct / 100. The weighted scores add up to the composite score of fct_entity_credit_index
-- (before its own clamp; composite_score carries the index's score for the data test that checks it).
with

entities as (
    select entity_uscc, as_of_date, methodology_version, score as composite_score
    from {{ ref('int_credit_index__scores') }}
),

dimensions as (
    select * from {{ ref('methodology_dimensions') }}
),

totals as (
    select
        contributions.entity_uscc,
        contributions.dimension,
        sum(contributions.points) as points_total,
        count(*) as contributions
    from {{ ref('int_credit_index__contributions') }} as contributions
    group by contributions.entity_uscc, contributions.dimension
),

scored as (
    select
        entities.entity_uscc,
        dimensions.dimension,
        entities.as_of_date,
        entities.methodology_version,
        entities.composite_score,
        dimensions.label_zh,
        dimensions.weight_pct,
        cast(dimensions.base_score as double) as base_score,
        coalesce(totals.points_total, cast(0 as double)) as points_total,
        cast(coalesce(totals.contributions, 0) as bigint) as contributions,
        cast({{ clamp('dimensions.base_score + coalesce(totals.points_total, 0)',
                      'dimensions.score_min', 'dimensions.score_max') }} as double) as sub_score
    from entities
    inner join dimensions
        on dimensions.methodology_version = entities.methodology_version
    left join totals
        on totals.entity_uscc = entities.entity_uscc
        and totals.dimension = dimensions.dimension
)

select
    scored.*,
    scored.sub_score * scored.weight_pct / 100 as weighted_score
from scored
