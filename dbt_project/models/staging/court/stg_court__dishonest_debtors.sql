-- Dishonest judgment debtors (失信被执行人名单): landed rows of feed court_dishonest_debtors, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('court', 'dishonest_debtors') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(subject_name as {{ dbt.type_string() }}) as subject_name,
        cast(case_no as {{ dbt.type_string() }}) as case_no,
        cast(court_name as {{ dbt.type_string() }}) as court_name,
        cast(dishonest_conduct as {{ dbt.type_string() }}) as dishonest_conduct,
        cast(duty as {{ dbt.type_string() }}) as duty,
        cast(performance as {{ dbt.type_string() }}) as performance,
        cast(legal_rep_name as {{ dbt.type_string() }}) as legal_rep_name,
        ---------- codes
        cast(listing_status as {{ dbt.type_string() }}) as listing_status,
        ---------- dates
        cast(filing_date as date) as filing_date,
        cast(publish_date as date) as publish_date,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
