-- Random-inspection follow-up surveys (双随机抽查回访): landed rows of feed samr_inspection_followup, every ingestion
-- run (rename/cast only).
with

source as (
    select * from {{ source('samr_inspection_followup', 'surveys') }}
),

renamed as (
    select
        ---------- identifiers
        cast(survey_no as {{ dbt.type_string() }}) as survey_no,
        cast(task_id as {{ dbt.type_string() }}) as task_id,
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(authority_name as {{ dbt.type_string() }}) as authority_name,
        ---------- codes
        cast(rectification as {{ dbt.type_string() }}) as rectification,
        cast(satisfaction as {{ dbt.type_string() }}) as satisfaction,
        cast(department as {{ dbt.type_string() }}) as department,
        ---------- dates
        cast(follow_up_date as date) as follow_up_date,
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
