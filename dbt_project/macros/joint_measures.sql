{#-
  The body of a per-department mart of joint measures (mart_joint_measures__<department>): the measures that
  department applies, restrictions and incentives, from fct_joint_measure_applied. One line per department model,
  so the departments cannot drift apart.
-#}
{% macro joint_measures_for(department) -%}
select *
from {{ ref('fct_joint_measure_applied') }}
where department = {{ string_literal(department) }}
{%- endmacro %}
