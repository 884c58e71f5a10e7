-- One row per configured credit park (grain: park_id), from the credit_parks seed (supervision/rules/credit_parks.yaml),
-- with whether the park exists on the build's as-of date.
with

parks as (
    select * from {{ ref('credit_parks') }}
)

select
    park_id,
    park_name,
    theme,
    theme_zh,
    display_order,
    effective_from,
    effective_to,
    {{ rule_applies('parks', as_of_date()) }} as is_in_force,
    source
from parks
