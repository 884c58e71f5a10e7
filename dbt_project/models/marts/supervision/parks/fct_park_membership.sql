-- Credit park membership on the build's as-of date, reconciled with the registry's park column (grain: park_id,
-- entity_uscc). A row for every entity the zone definition makes a member (macro credit_park_members_sql) and for
-- every entity the registry declares in the park; reconciliation says which of the two hold:
--   agree          member by the zone definition, and the registry names this park
--   zone_only      member by the zone definition; the registry names no park or another one (registry_park)
--   registry_only  the registry names this park; the zone definition does not make it a member
-- Only zone membership (is_member) counts in the park marts. Entities are taken as known on the as-of date
-- (dim_entity_history), inactive ones included with is_active false.
with

as_of_entities as (
    select
        history.uscc as entity_uscc,
        {{ as_of_date() }} as as_of_date,
        history.entity_name,
        history.entity_type,
        history.registration_status,
        history.is_active,
        history.division_code,
        history.industry_code,
        history.park as registry_park
    from {{ ref('dim_entity_history') }} as history
    where {{ in_force_on(as_of_date(), 'history.valid_from', 'history.valid_to') }}
),

zone_members as (
{{ credit_park_members_sql('as_of_entities', 'as_of_date') }}
),

registry_declared as (
{{ registry_declared_parks_sql('as_of_entities', 'as_of_date') }}
),

pairs as (
    select park_id, entity_uscc from zone_members
    union
    select park_id, entity_uscc from registry_declared
)

select
    pairs.park_id,
    pairs.entity_uscc,
    entities.as_of_date,
    entities.entity_name,
    entities.entity_type,
    entities.registration_status,
    entities.is_active,
    entities.division_code,
    entities.industry_code,
    zone_members.entity_uscc is not null as is_member,
    coalesce(zone_members.by_zone_rule, false) as by_zone_rule,
    coalesce(zone_members.by_entity_list, false) as by_entity_list,
    zone_members.rule_id as zone_rule_id,
    entities.registry_park,
    declared.park_id as registry_park_id,
    case
        when zone_members.entity_uscc is not null and declared.park_id = pairs.park_id then 'agree'
        when zone_members.entity_uscc is not null then 'zone_only'
        else 'registry_only'
    end as reconciliation
from pairs
inner join as_of_entities as entities
    on entities.entity_uscc = pairs.entity_uscc
left join zone_members
    on zone_members.park_id = pairs.park_id
    and zone_members.entity_uscc = pairs.entity_uscc
left join registry_declared as declared
    on declared.entity_uscc = pairs.entity_uscc
