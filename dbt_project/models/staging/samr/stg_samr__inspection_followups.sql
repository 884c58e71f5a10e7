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
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
