-- Administrative penalties (行政处罚, 双公示 2021 layout): landed rows of feed samr_penalties, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('samr', 'penalties') }}
),

renamed as (
    select
        {{ penalty_record_columns() }}
    from source
)

select * from renamed
