-- The event classes of event_taxonomy and of the methodology in use are the same set (both directions).
with

taxonomy as (
    select event_type, severity from {{ ref('event_taxonomy') }}
),

weights as (
    select event_type, severity
    from {{ ref('methodology_weights') }}
    where methodology_version = '{{ var("methodology_version") }}'
)

select 'missing weight' as problem, taxonomy.event_type, taxonomy.severity
from taxonomy
left join weights
    on weights.event_type = taxonomy.event_type
    and {{ null_safe_equal("weights.severity", "taxonomy.severity") }}
where weights.event_type is null

union all

select 'missing taxonomy' as problem, weights.event_type, weights.severity
from weights
left join taxonomy
    on taxonomy.event_type = weights.event_type
    and {{ null_safe_equal("taxonomy.severity", "weights.severity") }}
where taxonomy.event_type is null
