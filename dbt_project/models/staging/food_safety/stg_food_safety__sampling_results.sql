-- Food-safety sampling inspection results (食品安全监督抽检结果): landed rows of feed food_safety_sampling, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('food_safety', 'sampling_results') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(sample_no as {{ dbt.type_string() }}) as sample_no,
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(food_name as {{ dbt.type_string() }}) as food_name,
        cast(food_category as {{ dbt.type_string() }}) as food_category,
        cast(failed_items as {{ dbt.type_string() }}) as failed_items,
        cast(lab_name as {{ dbt.type_string() }}) as lab_name,
        ---------- codes
        cast(result as {{ dbt.type_string() }}) as result,
        ---------- dates
        cast(sampling_date as date) as sampling_date,
        cast(published_date as date) as published_date,
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
