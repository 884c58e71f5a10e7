-- The credit index of every entity active at each month-end of the series (grain: entity_uscc, month_end; the
-- requests flagged is_month_end), each under the methodology in force on that date, with the entity's registry
-- attributes as known on that date (dim_entity_history) for the aggregates. Same macros as the as-of index.
with

month_requests as (
    select as_of_date, methodology_version
    from {{ ref('int_credit_index__requests') }}
    where is_month_end
),

contributions as (
{{ credit_contributions_sql('month_requests') }}
),

scores as (
{{ credit_scores_sql('month_requests', 'contributions', explain=false) }}
),

history as (
    select * from {{ ref('dim_entity_history') }}
)

select
    scores.entity_uscc,
    scores.as_of_date as month_end,
    scores.methodology_version,
    scores.score,
    scores.risk_class,
    scores.score_risk_class,
    scores.forced_risk_class,
    ---------- the entity as known on month_end
    history.entity_type,
    history.industry_code,
    substring(history.industry_code, 1, 1) as industry_section,
    history.division_code,
    history.park
from scores
inner join history
    on history.uscc = scores.entity_uscc
    and {{ in_force_on('scores.as_of_date', 'history.valid_from', 'history.valid_to') }}
