-- Blasting unit licences (爆破作业单位许可证信息): landed rows of feed psb_blasting_units, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('psb', 'blasting_units') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(licence_no as {{ dbt.type_string() }}) as licence_no,
        cast(authority_name as {{ dbt.type_string() }}) as authority_name,
        ---------- codes
        cast(unit_category as {{ dbt.type_string() }}) as unit_category,
        cast(qualification_grade as {{ dbt.type_string() }}) as qualification_grade,
        cast(licence_status as {{ dbt.type_string() }}) as licence_status,
        ---------- dates
        cast(issue_date as date) as issue_date,
        cast(valid_to as date) as valid_to,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
