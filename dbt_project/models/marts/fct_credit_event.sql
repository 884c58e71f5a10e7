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
with

events as (
    select * from {{ ref('int_credit_events__unioned') }}
),

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
    _source_row as source_row
from windowed
