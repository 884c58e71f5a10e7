-- The credit index of every active entity on the build's as-of date (grain: entity_uscc; one as_of_date and one
-- methodology version per build): int_credit_index__scores. The methodology is the version in force on as_of
-- (methodology_versions), unless var('methodology_version') names one. docs/methodology.md: how an enterprise
-- checks its own score. No clock and no randomness: the same landing and as_of give the same rows.
with

scores as (
    select * from {{ ref('int_credit_index__scores') }}
),

-- the index grades entities of dim_entity (the same set as the history's; said here so dim_entity is built and
-- tested before the index, also in a `--select +fct_entity_credit_index` build)
entities as (
    select uscc from {{ ref('dim_entity') }}
)

select
    scores.entity_uscc,
    scores.as_of_date,
    scores.methodology_version,
    scores.score,
    scores.risk_class,
    scores.credit_code_colour,
    scores.score_risk_class,
    scores.forced_risk_class,
    scores.base_score,
    scores.points_total,
    scores.events_in_force,
    scores.negative_events,
    scores.positive_events,
    scores.top_contribution_1_event_id,
    scores.top_contribution_1_points,
    scores.top_contribution_2_event_id,
    scores.top_contribution_2_points,
    scores.top_contribution_3_event_id,
    scores.top_contribution_3_points
from scores
inner join entities
    on entities.uscc = scores.entity_uscc
