-- What an entity's credit index is computed from, as one number per entity (grain: entity_uscc): a hash of its
-- events (the columns the index reads), of its dim_entity_history versions, and of every row of the methodology
-- seeds. The incremental month-end series (fct_entity_credit_index_monthly) recomputes an entity only when this
-- number changed: a new, corrected, re-resolved or re-windowed event, a registry change, a methodology change
-- (which changes every entity's number). Rows of a set are combined with bit_xor, so the order rows arrive in does
-- not matter; each set's rows are distinct (event_id; uscc and valid_from; a seed's key), so none cancel.
{%- set methodology_seeds = ['methodology_versions', 'methodology_dimensions', 'methodology_weights',
                             'methodology_attribute_rules', 'risk_class_thresholds'] %}
with

event_inputs as (
    select
        entity_uscc,
        bit_xor({{ row_hash(['event_id', 'event_type', 'severity', 'event_date', 'in_force_from',
                             'in_force_until']) }}) as events_hash
    from {{ ref('fct_credit_event') }}
    where entity_uscc is not null
    group by entity_uscc
),

history_inputs as (
    select
        uscc as entity_uscc,
        bit_xor({{ row_hash(['valid_from', 'valid_to', 'is_active', 'established_date', 'entity_type',
                             'industry_code', 'division_code', 'park']) }}) as history_hash
    from {{ ref('dim_entity_history') }}
    group by uscc
),

methodology as (
    {%- for seed in methodology_seeds %}
    {%- set columns = adapter.get_columns_in_relation(ref(seed)) | map(attribute='name') | list if execute else [] %}
    select bit_xor({{ row_hash(["'" ~ seed ~ "'"] + columns) }}) as seed_hash from {{ ref(seed) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

methodology_inputs as (
    select bit_xor(seed_hash) as methodology_hash from methodology
),

entities as (
    select entity_uscc from event_inputs
    union
    select entity_uscc from history_inputs
)

select
    entities.entity_uscc,
    {{ row_hash(['entities.entity_uscc', 'event_inputs.events_hash', 'history_inputs.history_hash',
                 'methodology_inputs.methodology_hash']) }} as inputs_fingerprint
from entities
cross join methodology_inputs
left join event_inputs
    on event_inputs.entity_uscc = entities.entity_uscc
left join history_inputs
    on history_inputs.entity_uscc = entities.entity_uscc
