{#- None of `columns` is NULL on any row: one test node for a list of columns (staging has many required
    columns; one node per column would make every build pay dbt's per-node overhead dozens of times). -#}
{% test not_null_columns(model, columns) %}
select *
from {{ model }}
where {% for col in columns %}{{ col }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}
