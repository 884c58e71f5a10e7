-- Contract-abiding and creditworthy enterprises (守合同重信用企业公示名单): landed rows of feed honours_contract_credit, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('honours', 'contract_credit') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(announcement_no as {{ dbt.type_string() }}) as announcement_no,
        cast(authority_name as {{ dbt.type_string() }}) as authority_name,
        ---------- codes
        cast(honour_type as {{ dbt.type_string() }}) as honour_type,
        ---------- numbers
        cast(recognition_year as bigint) as recognition_year,
        ---------- dates
        cast(published_date as date) as published_date,
        cast(valid_to as date) as valid_to,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
