{#-
  The columns every landed row carries besides its contract's (docs/interfaces.md §2), cast as every staging model
  casts them: the row's ingestion notes, then its lineage back to feed, run, file and row.
-#}
{% macro landed_lineage_columns() -%}
        cast(_issues as {{ dbt.type_string() }}) as _issues,
        cast(_feed as {{ dbt.type_string() }}) as _feed,
        cast(_run_id as {{ dbt.type_string() }}) as _run_id,
        cast(_file_name as {{ dbt.type_string() }}) as _file_name,
        cast(_file_sha256 as {{ dbt.type_string() }}) as _file_sha256,
        cast(_source_row as bigint) as _source_row,
        cast(_loaded_at as timestamp) as _loaded_at
{%- endmacro %}
