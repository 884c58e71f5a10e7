-- The credit index (methodology var('methodology_version'), v0 today) of every active entity of dim_entity as of
-- var('as_of_date'): one row per entity (grain: entity_uscc; one as_of_date per build).
--   events that count: the entity's events with event_date <= as_of and in force on as_of;
--   score       = clamp(base_score + sum(points), score_min, score_max)  (methodology_versions, methodology_weights);
--   risk_class  = the risk_class_thresholds band of the score, unless an event in force forces a worse class
--                 (methodology_weights.forced_risk_class: an active serious-dishonest listing forces D);
--   top_contribution_1..3 = the three events with the largest |points| (ties: later event_date, then event_id).
-- No clock and no randomness: the same data and as_of give the same rows.
{%- set as_of = as_of_date() %}
{%- set version = var('methodology_version') %}
with

entities as (
    select uscc as entity_uscc
    from {{ ref('dim_entity') }}
    where is_active
),

methodology as (
    select * from {{ ref('methodology_versions') }}
    where methodology_version = '{{ version }}'
),

weights as (
    select * from {{ ref('methodology_weights') }}
    where methodology_version = '{{ version }}'
),

thresholds as (
    select * from {{ ref('risk_class_thresholds') }}
    where methodology_version = '{{ version }}'
),

events_in_force as (
    select
        events.entity_uscc,
        events.event_id,
        events.event_date,
        events.polarity,
        cast(coalesce(weights.points, 0) as double) as points,
        weights.forced_risk_class
    from {{ ref('fct_credit_event') }} as events
    inner join entities
        on entities.entity_uscc = events.entity_uscc
    left join weights
        on weights.event_type = events.event_type
        and {{ null_safe_equal("weights.severity", "events.severity") }}
    where events.event_date <= {{ as_of }}
        and {{ in_force_on(as_of, 'events.in_force_from', 'events.in_force_until') }}
),

entity_totals as (
    select
        entity_uscc,
        sum(points) as points_total,
        sum(case when polarity = 'negative' then 1 else 0 end) as negative_events,
        sum(case when polarity = 'positive' then 1 else 0 end) as positive_events,
        count(*) as events_in_force,
        max(forced_risk_class) as forced_risk_class
    from events_in_force
    group by entity_uscc
),

ranked_contributions as (
    select
        entity_uscc,
        event_id,
        points,
        row_number() over (
            partition by entity_uscc
            order by abs(points) desc, event_date desc, event_id
        ) as contribution_rank
    from events_in_force
    where points <> 0
),

top_contributions as (
    select
        entity_uscc,
        max(case when contribution_rank = 1 then event_id end) as top_contribution_1_event_id,
        max(case when contribution_rank = 1 then points end) as top_contribution_1_points,
        max(case when contribution_rank = 2 then event_id end) as top_contribution_2_event_id,
        max(case when contribution_rank = 2 then points end) as top_contribution_2_points,
        max(case when contribution_rank = 3 then event_id end) as top_contribution_3_event_id,
        max(case when contribution_rank = 3 then points end) as top_contribution_3_points
    from ranked_contributions
    where contribution_rank <= 3
    group by entity_uscc
),

scored as (
    select
        entities.entity_uscc,
        methodology.methodology_version,
        cast(methodology.base_score as double) as base_score,
        coalesce(entity_totals.points_total, cast(0 as double)) as points_total,
        case
            when methodology.base_score + coalesce(entity_totals.points_total, 0) < methodology.score_min
                then cast(methodology.score_min as double)
            when methodology.base_score + coalesce(entity_totals.points_total, 0) > methodology.score_max
                then cast(methodology.score_max as double)
            else cast(methodology.base_score + coalesce(entity_totals.points_total, 0) as double)
        end as score,
        coalesce(entity_totals.negative_events, 0) as negative_events,
        coalesce(entity_totals.positive_events, 0) as positive_events,
        coalesce(entity_totals.events_in_force, 0) as events_in_force,
        entity_totals.forced_risk_class
    from entities
    cross join methodology
    left join entity_totals
        on entity_totals.entity_uscc = entities.entity_uscc
),

classed as (
    select
        scored.*,
        band.risk_class as score_risk_class,
        -- classes are ordered A < B < C < D: the worse of the band and a forced class wins
        case
            when scored.forced_risk_class is not null and scored.forced_risk_class > band.risk_class
                then scored.forced_risk_class
            else band.risk_class
        end as risk_class
    from scored
    left join thresholds as band
        on scored.score >= band.score_min
        and (band.score_max is null or scored.score < band.score_max)
)

select
    classed.entity_uscc,
    {{ as_of }} as as_of_date,
    classed.methodology_version,
    classed.score,
    classed.risk_class,
    colour.credit_code_colour,
    classed.score_risk_class,
    classed.forced_risk_class,
    classed.base_score,
    classed.points_total,
    cast(classed.events_in_force as bigint) as events_in_force,
    cast(classed.negative_events as bigint) as negative_events,
    cast(classed.positive_events as bigint) as positive_events,
    top_contributions.top_contribution_1_event_id,
    top_contributions.top_contribution_1_points,
    top_contributions.top_contribution_2_event_id,
    top_contributions.top_contribution_2_points,
    top_contributions.top_contribution_3_event_id,
    top_contributions.top_contribution_3_points
from classed
left join thresholds as colour
    on colour.risk_class = classed.risk_class
left join top_contributions
    on top_contributions.entity_uscc = classed.entity_uscc
