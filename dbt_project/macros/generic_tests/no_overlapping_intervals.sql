{#- Type-2 history: for each `key`, the [from_column, to_column) intervals (to exclusive, NULL = open) follow one
    another without overlap: ordered by from_column, each interval ends (not NULL) on or before the next starts,
    and is not empty. One pass with lag(), not a self-join: the history has a row per entity version. -#}
{% test no_overlapping_intervals(model, key, from_column='valid_from', to_column='valid_to') %}
with ordered as (
    select
        {{ key }} as history_key,
        {{ from_column }} as interval_from,
        {{ to_column }} as interval_to,
        lag({{ to_column }}) over (partition by {{ key }} order by {{ from_column }}) as previous_to,
        row_number() over (partition by {{ key }} order by {{ from_column }}) as interval_no
    from {{ model }}
)

select *
from ordered
where (interval_no > 1 and (previous_to is null or previous_to > interval_from))
    or (interval_to is not null and interval_to <= interval_from)
{% endtest %}
