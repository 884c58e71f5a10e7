{#- Dated rules: for each value of `partition_by` (an empty list = the whole table), no two rows'
    [from_column, to_column] windows overlap (both ends inclusive, NULL = open), so at most one rule applies on any
    date. -#}
{% test no_overlapping_windows(model, partition_by, from_column='effective_from', to_column='effective_to') %}
with rules as (
    select
        {% for col in partition_by %}coalesce(cast({{ col }} as {{ dbt.type_string() }}), '') as k_{{ loop.index }},
        {% endfor %}
        {{ from_column }} as window_from,
        {{ to_column }} as window_to
    from {{ model }}
),

numbered as (
    select *, row_number() over (order by window_from, window_to) as rule_no
    from rules
)

select a.*
from numbered as a
inner join numbered as b
    on a.rule_no < b.rule_no
    {% for col in partition_by %}and a.k_{{ loop.index }} = b.k_{{ loop.index }}
    {% endfor %}
    and (a.window_from is null or b.window_to is null or a.window_from <= b.window_to)
    and (b.window_from is null or a.window_to is null or b.window_from <= a.window_to)
{% endtest %}
