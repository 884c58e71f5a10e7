-- Special-equipment inspection reports (特种设备定期检验/监督检验结果): landed rows of feed special_equipment_inspections, every ingestion run (rename/cast only).
with

source as (
    select * from {{ source('special_equipment', 'inspections') }}
),

renamed as (
    select
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        ---------- text
        cast(report_no as {{ dbt.type_string() }}) as report_no,
        cast(entity_name as {{ dbt.type_string() }}) as entity_name,
        cast(equipment_code as {{ dbt.type_string() }}) as equipment_code,
        cast(inspection_agency as {{ dbt.type_string() }}) as inspection_agency,
        ---------- codes
        cast(equipment_category as {{ dbt.type_string() }}) as equipment_category,
        cast(inspection_type as {{ dbt.type_string() }}) as inspection_type,
        cast(inspection_conclusion as {{ dbt.type_string() }}) as inspection_conclusion,
        ---------- dates
        cast(inspection_date as date) as inspection_date,
        cast(next_inspection_date as date) as next_inspection_date,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
    from source
)

select * from renamed
