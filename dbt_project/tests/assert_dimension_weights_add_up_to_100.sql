-- The dimension weights of every methodology version add up to 100 percent, so the composite stays on the scale of
-- the sub-scores.
select methodology_version, sum(weight_pct) as weight_total
from {{ ref('methodology_dimensions') }}
group by methodology_version
having sum(weight_pct) <> 100
