-- Tax credit grades (纳税信用等级评价结果): landed rows of feed tax_credit_grades, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('tax', 'credit_grades') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        ---------- codes
        cast(tax_grade as {{ dbt.type_string() }}) as tax_grade,
        ---------- numbers
        cast(assessment_year as bigint) as assessment_year,
        ---------- dates
        cast(assessment_date as date) as assessment_date,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
