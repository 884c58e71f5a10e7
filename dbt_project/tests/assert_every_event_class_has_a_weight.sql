-- Every (event_type, severity) that occurs in fct_credit_event has a weight in the methodology in use, so no
-- event silently scores 0 because its class was forgotten in methodology_weights.
select distinct
    events.event_type,
    events.severity
from {{ ref('fct_credit_event') }} as events
left join {{ ref('methodology_weights') }} as weights
    on weights.methodology_version = '{{ var("methodology_version") }}'
    and weights.event_type = events.event_type
    and {{ null_safe_equal("weights.severity", "events.severity") }}
where weights.event_type is null
