-- Wage-arrears dishonest list events (拖欠农民工工资失信联合惩戒对象名单 列入/移出): landed rows of feed hrss_wage_arrears_dishonest, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('hrss', 'wage_arrears_dishonest') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(legal_rep_name as {{ dbt.type_string() }}) as legal_rep_name,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(authority_name as {{ dbt.type_string() }}) as authority_name,
        cast(decision_no as {{ dbt.type_string() }}) as decision_no,
        ---------- codes
        cast(action as {{ dbt.type_string() }}) as action,
        ---------- numbers
        cast(workers_affected as bigint) as workers_affected,
        ---------- amounts
        cast(arrears_amount_wan as double) as arrears_amount_wan,
        ---------- dates
        cast(decision_date as date) as decision_date,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
