{#-
  Members of the credit parks (信用园区) on a date, from the zone rules of credit_park_zone_rules (generated from
  supervision/rules/credit_parks.yaml). `entities` is a relation, CTE or parenthesised query with entity_uscc,
  division_code, industry_code and the date column: the entity's registry attributes as known on that date. An
  entity is a member when the park exists on the date and either a zone rule in force then matches its division
  (empty = any) and its industry prefix (empty = any), or the park's explicit entity list names it. The registry's
  park column plays no part (it is reconciled in fct_park_membership). One row per (park_id, entity_uscc, date).
  `carried`: columns of `entities` to pass through, each with one value per entity and date (so the rows stay one
  per park, entity and date); a caller that needs them then has no join back to `entities` on entity and date.
  Used by fct_park_membership (the as-of date) and agg_park_credit_monthly (the month-ends), so they cannot disagree.
-#}
{% macro credit_park_members_sql(entities, date_column, carried=[]) -%}
    select
        matched.park_id,
        matched.entity_uscc,
        matched.on_date as {{ date_column }},
        {%- for column in carried %}
        matched.{{ column }},
        {%- endfor %}
        max(matched.by_zone_rule) = 1 as by_zone_rule,
        max(matched.by_entity_list) = 1 as by_entity_list,
        min(matched.rule_id) as rule_id
    from (
        select
            rules.park_id,
            candidates.entity_uscc,
            candidates.{{ date_column }} as on_date,
            {%- for column in carried %}
            candidates.{{ column }},
            {%- endfor %}
            rules.rule_id,
            1 as by_zone_rule,
            0 as by_entity_list
        from {{ entities }} as candidates
        inner join {{ ref('credit_park_zone_rules') }} as rules
            on rules.rule_kind = 'zone'
            and (rules.division_code is null or rules.division_code = candidates.division_code)
            and (rules.industry_prefix is null
                 or substring(candidates.industry_code, 1, length(rules.industry_prefix)) = rules.industry_prefix)
            and {{ rule_applies('rules', 'candidates.' ~ date_column) }}
        union all
        select
            rules.park_id,
            candidates.entity_uscc,
            candidates.{{ date_column }} as on_date,
            {%- for column in carried %}
            candidates.{{ column }},
            {%- endfor %}
            rules.rule_id,
            0 as by_zone_rule,
            1 as by_entity_list
        from {{ entities }} as candidates
        inner join {{ ref('credit_park_zone_rules') }} as rules
            on rules.rule_kind = 'entity'
            and rules.uscc = candidates.entity_uscc
            and {{ rule_applies('rules', 'candidates.' ~ date_column) }}
    ) as matched
    inner join {{ ref('credit_parks') }} as parks
        on parks.park_id = matched.park_id
        and {{ rule_applies('parks', 'matched.on_date') }}
    group by matched.park_id, matched.entity_uscc, matched.on_date
        {%- for column in carried %}, matched.{{ column }}{% endfor %}
{%- endmacro %}


{#- The park the registry's park column names on a date (rule_kind registry_name), for the reconciliation.
    One row per (entity_uscc, date) whose registry park is a configured park's spelling. -#}
{% macro registry_declared_parks_sql(entities, date_column) -%}
    select
        rules.park_id,
        candidates.entity_uscc,
        candidates.{{ date_column }}
    from {{ entities }} as candidates
    inner join {{ ref('credit_park_zone_rules') }} as rules
        on rules.rule_kind = 'registry_name'
        and rules.registry_name = candidates.registry_park
        and {{ rule_applies('rules', 'candidates.' ~ date_column) }}
{%- endmacro %}
