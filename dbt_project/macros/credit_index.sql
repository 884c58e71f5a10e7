{#-
  The credit index as SQL over a relation of *requests* (as_of_date DATE, methodology_version STRING): one
  computation for the build's as-of date, the month-end series and the read-only what-if (analytics/whatif.py runs
  the text that meta_credit_index_query stores). Written once here so the three can never disagree.

  Relations are referenced without a database (`"main"."x"` on DuckDB), so the stored text runs on the published
  copy of the warehouse as well as on the build file. docs/methodology.md explains the arithmetic in words.
-#}

{% macro credit_index_relation(name) -%}
  {{ ref(name).include(database=False) }}
{%- endmacro %}


{#- min(max(value, lo), hi) without greatest/least (their NULL handling differs between engines). -#}
{% macro clamp(value, lo, hi) -%}
  (case when ({{ value }}) < ({{ lo }}) then ({{ lo }}) when ({{ value }}) > ({{ hi }}) then ({{ hi }}) else ({{ value }}) end)
{%- endmacro %}


{#- The active entities of each request: the dim_entity_history version in force on its as-of date. With
    `changed_entities` (a relation of entity_uscc; the requests then carry a boolean all_entities), a request not
    flagged all_entities covers only those entities: the incremental month-end series recomputes what changed. -#}
{% macro credit_index_entities_cte(requests, changed_entities=none) -%}
entities as (
    select
        requests.as_of_date,
        requests.methodology_version,
        history.uscc as entity_uscc,
        history.established_date
    from {{ requests }} as requests
    inner join {{ credit_index_relation('dim_entity_history') }} as history
        on {{ in_force_on('requests.as_of_date', 'history.valid_from', 'history.valid_to') }}
    where history.is_active
    {%- if changed_entities is not none %}
        and (requests.all_entities or history.uscc in (select entity_uscc from {{ changed_entities }}))
    {%- endif %}
)
{%- endmacro %}


{#-
  One row per (request, entity, contribution): every event of the entity known (event_date <= as_of) and in force
  on as_of whose points in the request's methodology are not 0, and every attribute rule the entity meets on
  as_of. Columns: as_of_date, methodology_version, entity_uscc, dimension, contribution_kind (event | attribute),
  contribution_id (event_id or rule_id), event_id, rule_id, event_type, severity, event_date, points,
  forced_risk_class.
-#}
{% macro credit_contributions_sql(requests, changed_entities=none) -%}
{%- set str = dbt.type_string() -%}
with

{{ credit_index_entities_cte(requests, changed_entities) }},

events as (
    select
        event_id,
        entity_uscc,
        event_type,
        severity,
        event_date,
        in_force_from,
        in_force_until
    from {{ credit_index_relation('fct_credit_event') }}
    where entity_uscc is not null
),

weights as (
    select * from {{ credit_index_relation('methodology_weights') }}
),

-- entity_age_years in [min_value, max_value): established at least min_value whole years and less than
-- max_value years before as_of (whole months, so the band edges are exact dates). The edge dates are computed
-- once per request and rule, not once per entity.
attribute_bands as (
    select
        requests.as_of_date,
        requests.methodology_version,
        rules.rule_id,
        rules.dimension,
        rules.attribute,
        rules.points,
        {{ add_months('requests.as_of_date', '-12 * rules.min_value') }} as established_on_or_before,
        case when rules.max_value is not null
            then {{ add_months('requests.as_of_date', '-12 * rules.max_value') }}
        end as established_after
    from {{ requests }} as requests
    inner join {{ credit_index_relation('methodology_attribute_rules') }} as rules
        on rules.methodology_version = requests.methodology_version
    where rules.attribute = 'entity_age_years'
),

event_contributions as (
    select
        entities.as_of_date,
        entities.methodology_version,
        entities.entity_uscc,
        weights.dimension,
        'event' as contribution_kind,
        events.event_id as contribution_id,
        events.event_id,
        cast(null as {{ str }}) as rule_id,
        events.event_type,
        events.severity,
        events.event_date,
        cast(weights.points as double) as points,
        weights.forced_risk_class
    from entities
    inner join events
        on events.entity_uscc = entities.entity_uscc
        and events.event_date <= entities.as_of_date
        and {{ in_force_on('entities.as_of_date', 'events.in_force_from', 'events.in_force_until') }}
    inner join weights
        on weights.methodology_version = entities.methodology_version
        and weights.event_type = events.event_type
        and {{ null_safe_equal('weights.severity', 'events.severity') }}
    -- a 0-point event moves nothing; forced classes come with points, and a 0-point rule that forced one would
    -- still be kept
    where weights.points <> 0 or weights.forced_risk_class is not null
),

attribute_contributions as (
    select
        entities.as_of_date,
        entities.methodology_version,
        entities.entity_uscc,
        bands.dimension,
        'attribute' as contribution_kind,
        bands.rule_id as contribution_id,
        cast(null as {{ str }}) as event_id,
        bands.rule_id,
        bands.attribute as event_type,
        cast(null as {{ str }}) as severity,
        cast(null as date) as event_date,
        cast(bands.points as double) as points,
        cast(null as {{ str }}) as forced_risk_class
    from entities
    inner join attribute_bands as bands
        on bands.as_of_date = entities.as_of_date
        and bands.methodology_version = entities.methodology_version
    where entities.established_date <= bands.established_on_or_before
        and (bands.established_after is null or entities.established_date > bands.established_after)
)

select * from event_contributions
union all
select * from attribute_contributions
{%- endmacro %}


{#-
  One row per (request, active entity): the composite score, its classes and the top three events, from the
  contributions of credit_contributions_sql.
    sub_score(d)  = clamp(base_score(d) + sum of d's points, score_min(d), score_max(d))
    score         = clamp(sum over d of weight_pct(d) * sub_score(d) / 100, score_min, score_max of the version)
                    (computed as the weighted bases plus the weighted changes of the dimensions that have
                    contributions, which is the same sum)
    risk_class    = the band of score, or the worst forced class of a contribution if that is worse
    top contribution n = the n-th event by |points * weight_pct / 100|, then later event_date, then event_id
  explain=false leaves the top events NULL (the month-end series does not need them and they cost a window over
  every contribution).
-#}
{% macro credit_scores_sql(requests, contributions, explain=true, changed_entities=none) -%}
with

{{ credit_index_entities_cte(requests, changed_entities) }},

contributions as (
    select * from {{ contributions }}
),

dimensions as (
    select * from {{ credit_index_relation('methodology_dimensions') }}
),

versions as (
    select * from {{ credit_index_relation('methodology_versions') }}
),

thresholds as (
    select * from {{ credit_index_relation('risk_class_thresholds') }}
),

version_bases as (
    select
        methodology_version,
        cast(sum(weight_pct * base_score) as double) as weighted_base
    from dimensions
    group by methodology_version
),

dimension_totals as (
    select
        as_of_date,
        methodology_version,
        entity_uscc,
        dimension,
        sum(points) as points_total
    from contributions
    group by as_of_date, methodology_version, entity_uscc, dimension
),

dimension_changes as (
    select
        dimension_totals.as_of_date,
        dimension_totals.methodology_version,
        dimension_totals.entity_uscc,
        dimensions.weight_pct * (
            {{ clamp('dimensions.base_score + dimension_totals.points_total',
                     'dimensions.score_min', 'dimensions.score_max') }}
            - dimensions.base_score
        ) as weighted_change
    from dimension_totals
    inner join dimensions
        on dimensions.methodology_version = dimension_totals.methodology_version
        and dimensions.dimension = dimension_totals.dimension
),

entity_changes as (
    select
        as_of_date,
        methodology_version,
        entity_uscc,
        sum(weighted_change) as weighted_change
    from dimension_changes
    group by as_of_date, methodology_version, entity_uscc
),

weighted_contributions as (
    select
        contributions.*,
        cast(contributions.points * dimensions.weight_pct as double) / 100 as composite_points
    from contributions
    inner join dimensions
        on dimensions.methodology_version = contributions.methodology_version
        and dimensions.dimension = contributions.dimension
),

entity_totals as (
    select
        as_of_date,
        methodology_version,
        entity_uscc,
        sum(composite_points) as points_total,
        sum(case when contribution_kind = 'event' then 1 else 0 end) as events_in_force,
        sum(case when contribution_kind = 'event' and points < 0 then 1 else 0 end) as negative_events,
        sum(case when contribution_kind = 'event' and points > 0 then 1 else 0 end) as positive_events,
        max(forced_risk_class) as forced_risk_class
    from weighted_contributions
    group by as_of_date, methodology_version, entity_uscc
),

{%- if explain %}
ranked_events as (
    select
        as_of_date,
        methodology_version,
        entity_uscc,
        event_id,
        composite_points,
        row_number() over (
            partition by as_of_date, methodology_version, entity_uscc
            order by abs(composite_points) desc, event_date desc, event_id
        ) as contribution_rank
    from weighted_contributions
    where contribution_kind = 'event' and composite_points <> 0
),

top_events as (
    select
        as_of_date,
        methodology_version,
        entity_uscc,
        max(case when contribution_rank = 1 then event_id end) as top_contribution_1_event_id,
        max(case when contribution_rank = 1 then composite_points end) as top_contribution_1_points,
        max(case when contribution_rank = 2 then event_id end) as top_contribution_2_event_id,
        max(case when contribution_rank = 2 then composite_points end) as top_contribution_2_points,
        max(case when contribution_rank = 3 then event_id end) as top_contribution_3_event_id,
        max(case when contribution_rank = 3 then composite_points end) as top_contribution_3_points
    from ranked_events
    where contribution_rank <= 3
    group by as_of_date, methodology_version, entity_uscc
),
{%- else %}
top_events as (
    select
        as_of_date,
        methodology_version,
        entity_uscc,
        cast(null as {{ dbt.type_string() }}) as top_contribution_1_event_id,
        cast(null as double) as top_contribution_1_points,
        cast(null as {{ dbt.type_string() }}) as top_contribution_2_event_id,
        cast(null as double) as top_contribution_2_points,
        cast(null as {{ dbt.type_string() }}) as top_contribution_3_event_id,
        cast(null as double) as top_contribution_3_points
    from weighted_contributions
    where 1 = 0
),
{%- endif %}

scored as (
    select
        entities.as_of_date,
        entities.methodology_version,
        entities.entity_uscc,
        version_bases.weighted_base / 100 as base_score,
        {{ clamp('(version_bases.weighted_base + coalesce(entity_changes.weighted_change, 0)) / 100',
                 'cast(versions.score_min as double)', 'cast(versions.score_max as double)') }} as score,
        coalesce(entity_totals.points_total, cast(0 as double)) as points_total,
        coalesce(entity_totals.events_in_force, 0) as events_in_force,
        coalesce(entity_totals.negative_events, 0) as negative_events,
        coalesce(entity_totals.positive_events, 0) as positive_events,
        entity_totals.forced_risk_class
    from entities
    inner join versions
        on versions.methodology_version = entities.methodology_version
    inner join version_bases
        on version_bases.methodology_version = entities.methodology_version
    left join entity_changes
        on entity_changes.as_of_date = entities.as_of_date
        and entity_changes.methodology_version = entities.methodology_version
        and entity_changes.entity_uscc = entities.entity_uscc
    left join entity_totals
        on entity_totals.as_of_date = entities.as_of_date
        and entity_totals.methodology_version = entities.methodology_version
        and entity_totals.entity_uscc = entities.entity_uscc
),

classed as (
    select
        scored.*,
        band.risk_class as score_risk_class,
        -- classes order A < B < C < D: the worse of the band and a forced class wins
        case
            when scored.forced_risk_class is not null and scored.forced_risk_class > band.risk_class
                then scored.forced_risk_class
            else band.risk_class
        end as risk_class
    from scored
    left join thresholds as band
        on band.methodology_version = scored.methodology_version
        and scored.score >= band.score_min
        and (band.score_max is null or scored.score < band.score_max)
)

select
    classed.as_of_date,
    classed.methodology_version,
    classed.entity_uscc,
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
    top_events.top_contribution_1_event_id,
    top_events.top_contribution_1_points,
    top_events.top_contribution_2_event_id,
    top_events.top_contribution_2_points,
    top_events.top_contribution_3_event_id,
    top_events.top_contribution_3_points
from classed
left join thresholds as colour
    on colour.methodology_version = classed.methodology_version
    and colour.risk_class = classed.risk_class
left join top_events
    on top_events.as_of_date = classed.as_of_date
    and top_events.methodology_version = classed.methodology_version
    and top_events.entity_uscc = classed.entity_uscc
{%- endmacro %}
