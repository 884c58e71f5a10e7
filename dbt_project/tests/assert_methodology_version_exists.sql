-- var('methodology_version') names a version of methodology_versions with risk-class bands; otherwise the index
-- would silently be empty.
select '{{ var("methodology_version") }}' as methodology_version
where not exists (
    select 1 from {{ ref('methodology_versions') }}
    where methodology_version = '{{ var("methodology_version") }}'
)
or not exists (
    select 1 from {{ ref('risk_class_thresholds') }}
    where methodology_version = '{{ var("methodology_version") }}'
)
