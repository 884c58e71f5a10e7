{#- The combination of `combination_of_columns` is unique (NULL counts as a value). Our own, not dbt_utils:
    the build has no internet for `dbt deps`. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
