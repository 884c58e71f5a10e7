-- Administrative licences (行政许可, 双公示 2021 layout): landed rows of feed samr_licences, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('samr', 'licences') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        cast(authority_uscc as {{ dbt.type_string() }}) as authority_uscc,
        ---------- text
        cast(subject_name as {{ dbt.type_string() }}) as subject_name,
        cast(legal_rep_name as {{ dbt.type_string() }}) as legal_rep_name,
        cast(licence_document_name as {{ dbt.type_string() }}) as licence_document_name,
        cast(decision_no as {{ dbt.type_string() }}) as decision_no,
        cast(certificate_name as {{ dbt.type_string() }}) as certificate_name,
        cast(licence_no as {{ dbt.type_string() }}) as licence_no,
        cast(licence_content as {{ dbt.type_string() }}) as licence_content,
        cast(authority_name as {{ dbt.type_string() }}) as authority_name,
        ---------- codes
        cast(subject_category as {{ dbt.type_string() }}) as subject_category,
        cast(licence_category as {{ dbt.type_string() }}) as licence_category,
        cast(licence_status as {{ dbt.type_string() }}) as licence_status,
        ---------- dates
        cast(decision_date as date) as decision_date,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
