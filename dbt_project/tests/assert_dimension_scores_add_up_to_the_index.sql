-- The weighted dimension sub-scores of each entity add up to its composite score (the index's, carried as
-- composite_score; the sum stays within 0..100, so the composite's own clamp never bites): the explanation and the
-- index are the same arithmetic. Reads only fct_entity_credit_dimension_score, so a build of
-- `+fct_entity_credit_index` does not select it.
select entity_uscc, max(composite_score) as composite_score, sum(weighted_score) as weighted_total
from {{ ref('fct_entity_credit_dimension_score') }}
group by entity_uscc
having abs(max(composite_score) - sum(weighted_score)) > 0.000001
    or count(distinct composite_score) <> 1
