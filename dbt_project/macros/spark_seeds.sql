{#-
  dbt-spark 1.11 loads a seed with `%s` bindings that its session cursor pastes in unescaped, so a seed text holding
  a quote (every `source` citation such as "domain.md's …") breaks the insert. This override renders each value as
  a literal escaped the Spark way (string_literal); values and types are otherwise what dbt-spark's macro loads.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
    {%- set sql -%}
      insert into {{ this.render() }} values
      {% for row in chunk -%}
        ({%- for col_name in agate_table.column_names -%}
          {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
          cast({{ seed_value_literal(row[loop.index0]) }} as {{ type }}){%- if not loop.last -%}, {% endif -%}
        {%- endfor -%}){%- if not loop.last -%},{%- endif %}
      {% endfor %}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- do statements.append(sql) -%}
  {%- endfor -%}
  {{ return(statements[0] if statements else '') }}
{% endmacro %}


{% macro seed_value_literal(value) -%}
  {%- if value is none -%} null
  {%- elif value is sameas true -%} true
  {%- elif value is sameas false -%} false
  {%- elif value is number -%} {{ value }}
  {%- elif value.isoformat is defined -%} '{{ value.isoformat() }}'
  {%- else -%} {{ string_literal(value | string) }}
  {%- endif -%}
{%- endmacro %}
