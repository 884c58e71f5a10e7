-- One row per credit event of every feed (grain: event_id), with its taxonomy and the window in which it is in
-- force: [in_force_from, in_force_until), until exclusive, NULL until = still in force.
--   own_window        penalties: the publicity window; licences (blasting licences too): the validity window;
--                     black/white lists of training institutions: until the next batch (at most 12 months);
--                     a blasting licence's suspension: until the licence ends; 守合同重信用: its validity
--   until_removal     listings: until the first removal of the same list and entity (court: same case) dated
--                     on or after the listing
--   until_next_grade  grades: until the next grade of the same kind for the same entity
--   fixed_months      in_force_months from the event date: inspection results, special-equipment inspections
--                     and food sampling results 12, a blasting licence's revocation 36
--   point_in_time     removals: an empty window (they end a listing and carry no state of their own)
--
-- Incremental on DuckDB (a table on Spark: history_materialization). Writing 9.2 M events costs far more than
-- computing them, and a day changes a few thousand. Each row keeps `_inputs_hash`, a hash of its row of
-- int_credit_events__unioned and of the whole event_taxonomy; a build hashes the view again and recomputes only the
-- `match_key` groups (what ties a listing to its removal and a grade to the next: the only events an event's
-- window depends on) whose events' hashes changed: an event new, changed, moved or gone. A vanished event is
-- written back with a NULL hash, which the post-hook deletes. Equal, row for row, to a full build
-- (tests/test_incremental_build.py). A change of this SQL or of the view's needs `creditwh build --full-refresh`.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='event_id', on_schema_change='fail',
          post_hook="{{ prune_vanished_events() }}") }}
{%- set unioned_columns = adapter.get_columns_in_relation(ref('int_credit_events__unioned'))
                          | map(attribute='name') | list if execute else [] %}
{%- set taxonomy_columns = adapter.get_columns_in_relation(ref('event_taxonomy'))
                           | map(attribute='name') | list if execute else [] %}
{#- The view's rows with their hash, as a subquery read where needed rather than a CTE read twice: DuckDB would
    materialise a CTE of 9.2 M wide rows (2 s at province) where the group hashes need two columns of it. -#}
{%- set hashed_events -%}
(
    select
        unioned.*,
        coalesce(unioned.match_key, '') as window_group,
        {{ row_hash(prefixed('unioned', unioned_columns) + ['taxonomy_fingerprint.fingerprint']) }} as _inputs_hash
    from {{ ref('int_credit_events__unioned') }} as unioned
    cross join taxonomy_fingerprint
)
{%- endset %}
with

taxonomy_fingerprint as (
    select bit_xor({{ row_hash(taxonomy_columns) }}) as fingerprint from {{ ref('event_taxonomy') }}
),
{%- if is_incremental() %}

-- a group changed when the hash of its events' inputs did (combined with bit_xor, so order does not matter): an
-- event new, changed, moved to another group or gone. Comparing 9.2 M events one by one cost 11 s at province;
-- comparing their groups costs a fraction of it.
now_groups as (
    select window_group, bit_xor(_inputs_hash) as group_hash from {{ hashed_events }} as hashed group by window_group
),

built_groups as (
    select coalesce(match_key, '') as window_group, bit_xor(_inputs_hash) as group_hash
    from {{ this }}
    group by coalesce(match_key, '')
),

changed_groups as (
    select coalesce(now_groups.window_group, built_groups.window_group) as window_group
    from now_groups
    full outer join built_groups
        on built_groups.window_group = now_groups.window_group
    where now_groups.window_group is null
        or built_groups.window_group is null
        or now_groups.group_hash <> built_groups.group_hash
),

events as (
    select * from {{ hashed_events }} as hashed
    where window_group in (select window_group from changed_groups)
),
{%- else %}

events as (
    select * from {{ hashed_events }} as hashed
),
{%- endif %}

taxonomy as (
    select * from {{ ref('event_taxonomy') }}
),

typed as (
    select
        events.*,
        taxonomy.polarity,
        taxonomy.domain,
        -- a penalty's department is the deciding department of its feed, not the taxonomy's
        coalesce(events.feed_department, taxonomy.department) as department,
        taxonomy.list_name,
        taxonomy.in_force_rule,
        taxonomy.in_force_months
    from events
    left join taxonomy
        on taxonomy.event_type = events.event_type
        and {{ null_safe_equal("taxonomy.severity", "events.severity") }}
),

listing_ends as (
    select
        listing.event_id,
        min(removal.event_date) as removed_on
    from typed as listing
    inner join typed as removal
        on removal.list_name = listing.list_name
        and removal.match_key = listing.match_key
        and removal.in_force_rule = 'point_in_time'
        and removal.event_date >= listing.event_date
    where listing.in_force_rule = 'until_removal'
    group by listing.event_id
),

next_grades as (
    select
        event_id,
        lead(event_date) over (
            partition by event_type, match_key
            order by event_date, sort_key, event_id
        ) as next_grade_on
    from typed
    where in_force_rule = 'until_next_grade'
),

windowed as (
    select
        typed.*,
        case
            when typed.in_force_rule = 'own_window' then typed.window_from
            else typed.event_date
        end as in_force_from,
        case typed.in_force_rule
            when 'own_window' then typed.window_until
            when 'until_removal' then listing_ends.removed_on
            when 'until_next_grade' then next_grades.next_grade_on
            when 'fixed_months' then {{ add_months('typed.event_date', 'typed.in_force_months') }}
            when 'point_in_time' then typed.event_date
        end as in_force_until
    from typed
    left join listing_ends
        on listing_ends.event_id = typed.event_id
    left join next_grades
        on next_grades.event_id = typed.event_id
)

select
    event_id,
    event_type,
    ---------- entity
    entity_uscc,
    entity_known,
    subject_uscc,
    subject_name,
    ---------- what and when
    event_date,
    polarity,
    severity,
    domain,
    department,
    description,
    in_force_rule,
    in_force_from,
    in_force_until,
    ---------- lineage
    _feed as source_feed,
    _run_id as source_run_id,
    _file_name as source_file_name,
    _file_sha256 as source_file_sha256,
    _source_row as source_row,
    ---------- what the row was computed from
    match_key,
    _inputs_hash
from windowed
{%- if is_incremental() %}
union all
-- vanished events, with the NULL hash that makes the post-hook delete them
select
    built.event_id, built.event_type, built.entity_uscc, built.entity_known, built.subject_uscc, built.subject_name,
    built.event_date, built.polarity, built.severity, built.domain, built.department, built.description,
    built.in_force_rule, built.in_force_from, built.in_force_until, built.source_feed, built.source_run_id,
    built.source_file_name, built.source_file_sha256, built.source_row, built.match_key,
    cast(null as {{ row_hash_type() }}) as _inputs_hash
from {{ this }} as built
where coalesce(built.match_key, '') in (select window_group from changed_groups)
    and built.event_id not in (select event_id from events)
{%- endif %}
