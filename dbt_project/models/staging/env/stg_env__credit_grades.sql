-- Environmental credit grades (企业环境信用评价结果): landed rows of feed env_credit_grades, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('env', 'credit_grades') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        ---------- codes
        cast(env_grade as {{ dbt.type_string() }}) as env_grade,
        ---------- numbers
        cast(assessment_year as bigint) as assessment_year,
        ---------- dates
        cast(published_date as date) as published_date,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        cast(_issues as {{ dbt.type_string() }}) as _issues,
        cast(_feed as {{ dbt.type_string() }}) as _feed,
        cast(_run_id as {{ dbt.type_string() }}) as _run_id,
        cast(_file_name as {{ dbt.type_string() }}) as _file_name,
        cast(_file_sha256 as {{ dbt.type_string() }}) as _file_sha256,
        cast(_source_row as bigint) as _source_row,
        cast(_loaded_at as timestamp) as _loaded_at
    from source
)

select * from renamed
