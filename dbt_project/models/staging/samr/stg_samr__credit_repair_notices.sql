-- Proactive credit repair notices sent (信用修复 主动告知记录): landed rows of feed samr_credit_repair_notices, every
-- ingestion run (rename/cast only).
with

source as (
    select * from {{ source('samr_credit_repair', 'notices') }}
),

renamed as (
    select
        ---------- identifiers
        cast(notice_no as {{ dbt.type_string() }}) as notice_no,
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        cast(record_decision_no as {{ dbt.type_string() }}) as record_decision_no,
        cast(authority_uscc as {{ dbt.type_string() }}) as authority_uscc,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(channel as {{ dbt.type_string() }}) as channel,
        ---------- codes
        cast(record_type as {{ dbt.type_string() }}) as record_type,
        ---------- dates
        cast(repair_eligible_from as date) as repair_eligible_from,
        cast(notified_on as date) as notified_on,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
