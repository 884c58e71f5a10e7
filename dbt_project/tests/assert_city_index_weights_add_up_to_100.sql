-- The indicator weights of every city credit index version add up to 100 percent, so the composite is on 0..100.
select index_version, sum(weight_pct) as weight_total
from {{ ref('city_credit_index_weights') }}
group by index_version
having sum(weight_pct) <> 100
