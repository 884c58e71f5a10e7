-- The (as_of_date, methodology_version) pairs this build computes the credit index for:
--   the build's as-of date (var as_of_date)                           is_build_as_of
--   the last var('index_series_months') month-ends on or before it    is_month_end
-- each with the methodology version in force on that date (methodology_versions: adopted, effective_from ..
-- effective_to), or var('methodology_version') when it is set (a backfill under a named version).
{%- set as_of = as_of_date() %}
{%- set forced_version = var('methodology_version', none) %}
{%- set months = var('index_series_months', 24) | int %}
with

dates as (
    select {{ as_of }} as as_of_date, 1 as is_build_as_of, 0 as is_month_end
    {%- for k in range(-1, months) %}
    union all
    select {{ add_days(add_months(month_start(as_of), (0 - k) | string), '-1') }}, 0, 1
    {%- endfor %}
),

-- months + 1 month-ends were generated (the as-of month's own end counts only when it is not after as_of): keep
-- the last `months` of those on or before as_of
month_ends as (
    select as_of_date
    from dates
    where is_month_end = 1 and as_of_date <= {{ as_of }}
    qualify row_number() over (order by as_of_date desc) <= {{ months }}
),

collapsed as (
    select
        dates.as_of_date,
        max(dates.is_build_as_of) = 1 as is_build_as_of,
        max(case when month_ends.as_of_date is not null then 1 else 0 end) = 1 as is_month_end
    from dates
    left join month_ends
        on month_ends.as_of_date = dates.as_of_date
    where dates.is_build_as_of = 1 or month_ends.as_of_date is not null
    group by dates.as_of_date
),

versions as (
    select * from {{ ref('methodology_versions') }}
)

select
    collapsed.as_of_date,
    versions.methodology_version,
    collapsed.is_build_as_of,
    collapsed.is_month_end
from collapsed
inner join versions
    {%- if forced_version is not none and (forced_version | string | trim) != '' %}
    on versions.methodology_version = '{{ forced_version }}'
    {%- else %}
    on versions.adopted and {{ rule_applies('versions', 'collapsed.as_of_date') }}
    {%- endif %}
