-- Medical-device administrative penalties (医疗器械 行政处罚, 双公示 Chinese headers): landed rows of feed medical_device_penalties, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('medical', 'device_penalties') }}
),

renamed as (
    select
        {{ penalty_record_columns() }}
    from source
)

select * from renamed
