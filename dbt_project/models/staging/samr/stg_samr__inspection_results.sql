-- Random inspection results (双随机抽查结果): landed rows of feed samr_inspection_results, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('samr', 'inspection_results') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(task_id as {{ dbt.type_string() }}) as task_id,
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(authority_name as {{ dbt.type_string() }}) as authority_name,
        ---------- codes
        cast(result as {{ dbt.type_string() }}) as result,
        ---------- dates
        cast(inspection_date as date) as inspection_date,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
