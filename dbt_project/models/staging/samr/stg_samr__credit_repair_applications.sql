-- Credit repair applications and decisions (信用修复 申请与决定): landed rows of feed samr_credit_repair, every
-- ingestion run (rename/cast only).
with

source as (
    select * from {{ source('samr_credit_repair', 'applications') }}
),

renamed as (
    select
        ---------- identifiers
        cast(application_no as {{ dbt.type_string() }}) as application_no,
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        cast(record_decision_no as {{ dbt.type_string() }}) as record_decision_no,
        cast(authority_uscc as {{ dbt.type_string() }}) as authority_uscc,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(authority_name as {{ dbt.type_string() }}) as authority_name,
        cast(reason as {{ dbt.type_string() }}) as reason,
        ---------- codes
        cast(record_type as {{ dbt.type_string() }}) as record_type,
        cast(decision as {{ dbt.type_string() }}) as decision,
        ---------- dates
        cast(applied_on as date) as applied_on,
        cast(decided_on as date) as decided_on,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
