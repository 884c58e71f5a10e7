-- Serious illegal and dishonest list events (严重违法失信名单 列入/移出): landed rows of feed samr_serious_dishonest, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('samr', 'serious_dishonest') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(authority_name as {{ dbt.type_string() }}) as authority_name,
        cast(decision_no as {{ dbt.type_string() }}) as decision_no,
        ---------- codes
        cast(action as {{ dbt.type_string() }}) as action,
        ---------- dates
        cast(decision_date as date) as decision_date,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
