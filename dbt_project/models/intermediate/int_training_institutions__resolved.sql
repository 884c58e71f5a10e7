-- Latest version of each black/white-list entry (key batch_no, uscc) with its resolved entity, plus its list window:
--   list_valid_from  = published_date;
--   list_valid_until = the publication date of the next batch (any entry of the feed: each batch replaces the
--                      whole list), at most 12 months after publication (list_window_cap_months) when no next batch
--                      has been published; exclusive.
{%- set list_window_cap_months = 12 %}
with

resolved as (
    {{ resolved_latest('stg_education__training_institutions', ['batch_no', 'uscc']) | indent(4) }}
),

batches as (
    select distinct published_date from resolved
),

next_batches as (
    select
        published_date,
        lead(published_date) over (order by published_date) as next_batch_on
    from batches
)

select
    resolved.*,
    resolved.published_date as list_valid_from,
    case
        when next_batches.next_batch_on is not null
            and next_batches.next_batch_on < {{ add_months('resolved.published_date', list_window_cap_months) }}
            then next_batches.next_batch_on
        else {{ add_months('resolved.published_date', list_window_cap_months) }}
    end as list_valid_until
from resolved
inner join next_batches
    on next_batches.published_date = resolved.published_date
