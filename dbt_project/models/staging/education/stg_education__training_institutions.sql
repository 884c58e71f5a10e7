-- Off-campus training institutions black/white list (校外培训机构黑白名单): landed rows of feed education_training_institutions, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('education', 'training_institutions') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(school_licence_no as {{ dbt.type_string() }}) as school_licence_no,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(batch_no as {{ dbt.type_string() }}) as batch_no,
        cast(authority_name as {{ dbt.type_string() }}) as authority_name,
        ---------- codes
        cast(training_category as {{ dbt.type_string() }}) as training_category,
        cast(list_type as {{ dbt.type_string() }}) as list_type,
        ---------- dates
        cast(published_date as date) as published_date,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
