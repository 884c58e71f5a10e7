-- For every methodology version, the event classes of event_taxonomy and of its weights are the same set (both
-- directions), and every weight's dimension is a dimension of that version.
with

taxonomy as (
    select event_type, severity from {{ ref('event_taxonomy') }}
),

versions as (
    select methodology_version from {{ ref('methodology_versions') }}
),

weights as (
    select * from {{ ref('methodology_weights') }}
)

select 'missing weight' as problem, versions.methodology_version, taxonomy.event_type, taxonomy.severity
from taxonomy
cross join versions
left join weights
    on weights.methodology_version = versions.methodology_version
    and weights.event_type = taxonomy.event_type
    and {{ null_safe_equal("weights.severity", "taxonomy.severity") }}
where weights.event_type is null

union all

select 'missing taxonomy' as problem, weights.methodology_version, weights.event_type, weights.severity
from weights
left join taxonomy
    on taxonomy.event_type = weights.event_type
    and {{ null_safe_equal("taxonomy.severity", "weights.severity") }}
where taxonomy.event_type is null

union all

select 'unknown dimension' as problem, weights.methodology_version, weights.event_type, weights.severity
from weights
left join {{ ref('methodology_dimensions') }} as dimensions
    on dimensions.methodology_version = weights.methodology_version
    and dimensions.dimension = weights.dimension
where dimensions.dimension is null
