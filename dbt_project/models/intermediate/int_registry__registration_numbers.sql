-- Registration number -> the registry's USCC, for identity resolution of records that carry no valid USCC.
-- Only unambiguous numbers: a registration number the registry gives to two USCCs resolves nothing.
with

entities as (
    select registration_no, uscc
    from {{ ref('int_registry__entities') }}
    where registration_no is not null
)

select
    registration_no,
    min(uscc) as uscc
from entities
group by registration_no
having count(distinct uscc) = 1
