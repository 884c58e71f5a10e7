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
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
