-- The registry's latest version of every entity (key: the USCC; an entity sent without one is keyed by its
-- registration number so it is not lost, but only rows with a USCC become entities of dim_entity).
with

latest as (
    {{ latest_version(ref('stg_samr__registry'),
                      ["coalesce(uscc, 'registration_no:' || registration_no)"]) | indent(4) }}
)

select *
from latest
where uscc is not null
    and uscc <> '{{ var("sole_trader_placeholder_uscc") }}'
