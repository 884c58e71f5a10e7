-- Latest version of each court case of the dishonest-debtor list (key case_no) with its resolved entity, plus
-- removed_observed_on: the court's list carries a status, not a removal date, so a removal is dated by the first
-- ingestion run (its _loaded_at date, UTC) that saw the case with status `removed`.
with

resolved as (
    {{ resolved_latest('stg_court__dishonest_debtors', ['case_no']) | indent(4) }}
),

first_seen_removed as (
    select
        case_no,
        min(cast(_loaded_at as date)) as removed_observed_on
    from {{ ref('stg_court__dishonest_debtors') }}
    where listing_status = 'removed'
    group by case_no
)

select
    resolved.*,
    case when resolved.listing_status = 'removed' then first_seen_removed.removed_observed_on end
        as removed_observed_on
from resolved
left join first_seen_removed
    on first_seen_removed.case_no = resolved.case_no
