-- The explanation of each entity's score on the build's as-of date (grain: entity_uscc, contribution_id): every
-- event and attribute rule that moved it, in which dimension, by how many points in the dimension and on the
-- composite (points * weight_pct / 100, before clamping), ranked by |composite_points| (ties: later event first,
-- then contribution_id).
with

contributions as (
    select * from {{ ref('int_credit_index__contributions') }}
),

dimensions as (
    select * from {{ ref('methodology_dimensions') }}
),

weighted as (
    select
        contributions.*,
        dimensions.weight_pct,
        cast(contributions.points * dimensions.weight_pct as double) / 100 as composite_points
    from contributions
    inner join dimensions
        on dimensions.methodology_version = contributions.methodology_version
        and dimensions.dimension = contributions.dimension
),

events as (
    select event_id, description, domain, department, polarity
    from {{ ref('fct_credit_event') }}
),

rules as (
    select rule_id, rationale from {{ ref('methodology_attribute_rules') }}
)

select
    weighted.entity_uscc,
    weighted.contribution_id,
    weighted.as_of_date,
    weighted.methodology_version,
    row_number() over (
        partition by weighted.entity_uscc
        order by abs(weighted.composite_points) desc, weighted.event_date desc nulls last, weighted.contribution_id
    ) as contribution_rank,
    weighted.dimension,
    weighted.contribution_kind,
    weighted.event_id,
    weighted.rule_id,
    weighted.event_type,
    weighted.severity,
    weighted.event_date,
    events.department,
    coalesce(events.description, rules.rationale) as description,
    weighted.points,
    weighted.weight_pct,
    weighted.composite_points,
    weighted.forced_risk_class
from weighted
left join events
    on events.event_id = weighted.event_id
left join rules
    on rules.rule_id = weighted.rule_id
