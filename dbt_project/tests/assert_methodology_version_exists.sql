-- The build's as-of date and every month-end of the series have a methodology version (the adopted one in force,
-- or var('methodology_version')) with dimensions and risk-class bands; otherwise the index would silently be empty.
with

requests as (
    select methodology_version from {{ ref('int_credit_index__requests') }}
),

problems as (
    select 'no methodology version for the build as-of date' as problem,
        cast(null as {{ dbt.type_string() }}) as methodology_version
    where not exists (select 1 from {{ ref('int_credit_index__requests') }} where is_build_as_of)

    union all

    select 'version without dimensions' as problem, requests.methodology_version
    from requests
    where not exists (
        select 1 from {{ ref('methodology_dimensions') }} as d
        where d.methodology_version = requests.methodology_version
    )

    union all

    select 'version without risk-class bands' as problem, requests.methodology_version
    from requests
    where not exists (
        select 1 from {{ ref('risk_class_thresholds') }} as t
        where t.methodology_version = requests.methodology_version
    )
)

select * from problems
