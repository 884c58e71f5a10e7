-- Market entity registry (登记注册信息): landed rows of feed samr_entity_registry, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('samr', 'registry') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(legal_rep_name as {{ dbt.type_string() }}) as legal_rep_name,
        cast(industry_code as {{ dbt.type_string() }}) as industry_code,
        cast(division_code as {{ dbt.type_string() }}) as division_code,
        cast(address as {{ dbt.type_string() }}) as address,
        cast(park as {{ dbt.type_string() }}) as park,
        ---------- codes
        cast(entity_type as {{ dbt.type_string() }}) as entity_type,
        cast(status as {{ dbt.type_string() }}) as status,
        ---------- amounts
        cast(registered_capital_wan as double) as registered_capital_wan,
        ---------- dates
        cast(established_date as date) as established_date,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
