-- Every (event_type, severity) that occurs in fct_credit_event has a weight in every methodology version, so no
-- event silently scores 0 because its class was forgotten in methodology_weights.
with

event_classes as (
    select distinct event_type, severity from {{ ref('fct_credit_event') }}
),

versions as (
    select methodology_version from {{ ref('methodology_versions') }}
)

select versions.methodology_version, event_classes.event_type, event_classes.severity
from event_classes
cross join versions
left join {{ ref('methodology_weights') }} as weights
    on weights.methodology_version = versions.methodology_version
    and weights.event_type = event_classes.event_type
    and {{ null_safe_equal("weights.severity", "event_classes.severity") }}
where weights.event_type is null
