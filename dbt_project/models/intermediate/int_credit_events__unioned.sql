-- Every credit event of every feed in one shape, before the taxonomy and the in-force windows (fct_credit_event).
--   event_id     md5 of feed | natural key (| what happened, where one record gives two events);
--   match_key    what ties a listing to its removal (the entity; the case for the court list) and a grade to the
--                next grade of the same kind (the entity);
--   sort_key     tie-break among events of one match_key on one date;
--   window_from / window_until   the event's own window where the record carries one (penalty publicity,
--                licence validity; until exclusive), NULL otherwise.
{%- set str = dbt.type_string() %}
with

penalties as (
    select
        {{ stable_id(["'samr_penalties'", 'authority_uscc', 'decision_no']) }} as event_id,
        'penalty' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        subject_name,
        decision_date as event_date,
        severity,
        concat_ws('；', violation_type, penalty_categories, decision_no) as description,
        coalesce(entity_uscc, uscc) as match_key,
        decision_no as sort_key,
        publicity_start as window_from,
        publicity_end as window_until,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_penalties__classified') }}
),

licences as (
    select
        {{ stable_id(["'samr_licences'", 'authority_uscc', 'decision_no']) }} as event_id,
        'licence' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        subject_name,
        decision_date as event_date,
        cast(null as {{ str }}) as severity,
        concat_ws('；', licence_document_name, licence_no, decision_no) as description,
        coalesce(entity_uscc, uscc) as match_key,
        decision_no as sort_key,
        coalesce(valid_from, decision_date) as window_from,
        -- valid_to is the last valid day; windows end exclusively
        {{ add_days('valid_to', 1) }} as window_until,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_licences__resolved') }}
),

abnormal_list as (
    select
        {{ stable_id(["'samr_abnormal_list'", 'decision_no', 'action']) }} as event_id,
        'abnormal_list_' || action as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        decision_date as event_date,
        cast(null as {{ str }}) as severity,
        concat_ws('；', reason, decision_no) as description,
        coalesce(entity_uscc, uscc) as match_key,
        decision_no as sort_key,
        cast(null as date) as window_from,
        cast(null as date) as window_until,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_abnormal_list__resolved') }}
),

serious_dishonest as (
    select
        {{ stable_id(["'samr_serious_dishonest'", 'decision_no', 'action']) }} as event_id,
        'serious_dishonest_' || action as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        decision_date as event_date,
        cast(null as {{ str }}) as severity,
        concat_ws('；', reason, decision_no) as description,
        coalesce(entity_uscc, uscc) as match_key,
        decision_no as sort_key,
        cast(null as date) as window_from,
        cast(null as date) as window_until,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_serious_dishonest__resolved') }}
),

-- every case was listed on its publish_date; a removed case also gets a removal event
dishonest_debtor_listings as (
    select
        {{ stable_id(["'court_dishonest_debtors'", 'case_no', "'listing'"]) }} as event_id,
        'dishonest_debtor_listing' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        subject_name,
        publish_date as event_date,
        cast(null as {{ str }}) as severity,
        concat_ws('；', dishonest_conduct, court_name, case_no) as description,
        case_no as match_key,
        case_no as sort_key,
        cast(null as date) as window_from,
        cast(null as date) as window_until,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_dishonest_debtors__resolved') }}
),

dishonest_debtor_removals as (
    select
        {{ stable_id(["'court_dishonest_debtors'", 'case_no', "'removal'"]) }} as event_id,
        'dishonest_debtor_removal' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        subject_name,
        removed_observed_on as event_date,
        cast(null as {{ str }}) as severity,
        concat_ws('；', court_name, case_no) as description,
        case_no as match_key,
        case_no as sort_key,
        cast(null as date) as window_from,
        cast(null as date) as window_until,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_dishonest_debtors__resolved') }}
    where listing_status = 'removed'
),

tax_grades as (
    select
        {{ stable_id(["'tax_credit_grades'", "coalesce(uscc, 'registration_no:' || registration_no)", 'assessment_year']) }} as event_id,
        'tax_credit_grade' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        assessment_date as event_date,
        tax_grade as severity,
        concat_ws(' ', 'tax credit grade', tax_grade, 'for', cast(assessment_year as {{ str }})) as description,
        coalesce(entity_uscc, uscc) as match_key,
        cast(assessment_year as {{ str }}) as sort_key,
        cast(null as date) as window_from,
        cast(null as date) as window_until,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_tax_grades__resolved') }}
),

env_grades as (
    select
        {{ stable_id(["'env_credit_grades'", "coalesce(uscc, 'registration_no:' || registration_no)", 'assessment_year']) }} as event_id,
        'environmental_credit_grade' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        published_date as event_date,
        env_grade as severity,
        concat_ws(' ', 'environmental credit grade', env_grade, 'for', cast(assessment_year as {{ str }}))
            as description,
        coalesce(entity_uscc, uscc) as match_key,
        cast(assessment_year as {{ str }}) as sort_key,
        cast(null as date) as window_from,
        cast(null as date) as window_until,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_env_grades__resolved') }}
),

inspections as (
    select
        {{ stable_id(["'samr_inspection_results'", 'task_id', "coalesce(uscc, 'registration_no:' || registration_no)"]) }} as event_id,
        'inspection_result' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        inspection_date as event_date,
        result as severity,
        concat_ws('；', task_id, authority_name) as description,
        coalesce(entity_uscc, uscc) as match_key,
        task_id as sort_key,
        cast(null as date) as window_from,
        cast(null as date) as window_until,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_inspections__resolved') }}
)

select * from penalties
union all
select * from licences
union all
select * from abnormal_list
union all
select * from serious_dishonest
union all
select * from dishonest_debtor_listings
union all
select * from dishonest_debtor_removals
union all
select * from tax_grades
union all
select * from env_grades
union all
select * from inspections
