-- Construction-market administrative penalties (住房城乡建设 行政处罚, 双公示 2021 layout): landed rows of feed housing_construction_penalties, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('housing', 'penalties') }}
),

renamed as (
    select
        {{ penalty_record_columns() }}
    from source
)

select * from renamed
