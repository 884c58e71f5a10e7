-- Latest version of each blasting-unit licence (key licence_no) with its resolved entity (units licensed before the
-- USCC reform are often listed by registration number only: they resolve through int_registry__registration_numbers),
-- plus status_observed_on: the register carries a status, not the date it changed, so a status is dated by the first
-- ingestion run (its _loaded_at date, UTC) that saw the licence with that status, as for the court's removals.
with

resolved as (
    {{ resolved_latest('stg_psb__blasting_units', ['licence_no']) | indent(4) }}
),

first_seen as (
    select
        licence_no,
        licence_status,
        min(cast(_loaded_at as date)) as status_observed_on
    from {{ ref('stg_psb__blasting_units') }}
    group by licence_no, licence_status
)

select
    resolved.*,
    first_seen.status_observed_on
from resolved
left join first_seen
    on first_seen.licence_no = resolved.licence_no
    and first_seen.licence_status = resolved.licence_status
