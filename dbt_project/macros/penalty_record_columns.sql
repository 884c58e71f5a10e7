{#- The canonical administrative-penalty record (the 双公示 layout every penalty feed's contract maps to), renamed and
    cast once for every department's penalty staging model (samr, housing, medical): rename/cast only. -#}
{% macro penalty_record_columns() %}
        ---------- identifiers
        cast(uscc as {{ dbt.type_string() }}) as uscc,
        cast(registration_no as {{ dbt.type_string() }}) as registration_no,
        cast(authority_uscc as {{ dbt.type_string() }}) as authority_uscc,
        cast(source_unit_uscc as {{ dbt.type_string() }}) as source_unit_uscc,
        ---------- text
        cast(subject_name as {{ dbt.type_string() }}) as subject_name,
        cast(legal_rep_name as {{ dbt.type_string() }}) as legal_rep_name,
        cast(decision_no as {{ dbt.type_string() }}) as decision_no,
        cast(violation_type as {{ dbt.type_string() }}) as violation_type,
        cast(violation_facts as {{ dbt.type_string() }}) as violation_facts,
        cast(legal_basis as {{ dbt.type_string() }}) as legal_basis,
        cast(penalty_categories as {{ dbt.type_string() }}) as penalty_categories,
        cast(penalty_content as {{ dbt.type_string() }}) as penalty_content,
        cast(authority_name as {{ dbt.type_string() }}) as authority_name,
        cast(source_unit_name as {{ dbt.type_string() }}) as source_unit_name,
        ---------- codes
        cast(subject_category as {{ dbt.type_string() }}) as subject_category,
        ---------- amounts
        cast(fine_amount_wan as double) as fine_amount_wan,
        cast(confiscated_amount_wan as double) as confiscated_amount_wan,
        ---------- dates
        cast(decision_date as date) as decision_date,
        cast(valid_until as date) as valid_until,
        ---------- checks and lineage (docs/interfaces.md §2)
        cast(uscc_check_ok as boolean) as uscc_check_ok,
        {{ landed_lineage_columns() }}
{% endmacro %}
