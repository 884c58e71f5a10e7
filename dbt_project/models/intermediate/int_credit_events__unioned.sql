-- Every credit event of every feed in one shape, before the taxonomy and the in-force windows (fct_credit_event).
--   event_id     md5 of feed | natural key (| what happened, where one record gives two events);
--   match_key    what ties a listing to its removal (the entity; the case for the court list) and a grade to the
--                next grade of the same kind (the entity);
--   sort_key     tie-break among events of one match_key on one date;
--   window_from / window_until   the event's own window where the record carries one (penalty publicity,
--                licence validity, a black/white list until the next batch, an honour's validity; until exclusive),
--                NULL otherwise;
--   feed_department   the department of the event where the feed, not the taxonomy, says it (penalties of
--                several departments share one event class), NULL otherwise.
-- A view: fct_credit_event is its only reader, and writing its rows cost more than computing them (province,
-- 9.2 M events: 3.6 s to compute, 15 s to write as a table). Its grain and columns are tested on fct_credit_event,
-- which has exactly its rows.
{{ config(materialized='view') }}
{%- set str = dbt.type_string() %}
with

penalties as (
    select
        {{ stable_id(['_feed', 'authority_uscc', 'decision_no']) }} as event_id,
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
        -- the deciding department, as in the feed contracts (ingestion/contracts/<feed>.yaml: department); the
        -- taxonomy's department of a penalty is market regulation's
        case _feed
            when 'samr_penalties' then 'market_regulation'
            when 'housing_construction_penalties' then 'housing_construction'
            when 'medical_device_penalties' then 'medical_products'
        end as feed_department,
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
        cast(null as {{ str }}) as feed_department,
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
        cast(null as {{ str }}) as feed_department,
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
        cast(null as {{ str }}) as feed_department,
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
        cast(null as {{ str }}) as feed_department,
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
        cast(null as {{ str }}) as feed_department,
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
        cast(null as {{ str }}) as feed_department,
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
        cast(null as {{ str }}) as feed_department,
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
        cast(null as {{ str }}) as feed_department,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_inspections__resolved') }}
),

wage_arrears as (
    select
        {{ stable_id(["'hrss_wage_arrears_dishonest'", 'decision_no', 'action']) }} as event_id,
        'wage_arrears_dishonest_' || action as event_type,
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
        cast(null as {{ str }}) as feed_department,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_wage_arrears__resolved') }}
),

special_equipment_inspections as (
    select
        {{ stable_id(["'special_equipment_inspections'", 'report_no']) }} as event_id,
        'special_equipment_inspection' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        inspection_date as event_date,
        inspection_conclusion as severity,
        concat_ws('；', equipment_category, equipment_code, inspection_type, report_no) as description,
        coalesce(entity_uscc, uscc) as match_key,
        report_no as sort_key,
        cast(null as date) as window_from,
        cast(null as date) as window_until,
        cast(null as {{ str }}) as feed_department,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_special_equipment_inspections__resolved') }}
),

-- dated by publication: a sample's result is not known (nor public) on the sampling date
food_sampling as (
    select
        {{ stable_id(["'food_safety_sampling'", 'sample_no']) }} as event_id,
        'food_sampling_result' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        published_date as event_date,
        result as severity,
        concat_ws('；', food_name, failed_items, sample_no) as description,
        coalesce(entity_uscc, uscc) as match_key,
        sample_no as sort_key,
        cast(null as date) as window_from,
        cast(null as date) as window_until,
        cast(null as {{ str }}) as feed_department,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_food_sampling__resolved') }}
),

training_institutions as (
    select
        {{ stable_id(["'education_training_institutions'", 'batch_no', "coalesce(uscc, 'registration_no:' || registration_no)"]) }} as event_id,
        'training_institution_' || list_type as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        published_date as event_date,
        cast(null as {{ str }}) as severity,
        concat_ws('；', training_category, reason, batch_no) as description,
        coalesce(entity_uscc, uscc) as match_key,
        batch_no as sort_key,
        list_valid_from as window_from,
        list_valid_until as window_until,
        cast(null as {{ str }}) as feed_department,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_training_institutions__resolved') }}
),

-- every licence is a neutral licence event, valid issue_date .. valid_to, cut short on the day a suspension or a
-- revocation was first seen; that suspension or revocation is a negative event of its own
blasting_licences as (
    select
        {{ stable_id(["'psb_blasting_units'", 'licence_no', "'licence'"]) }} as event_id,
        'blasting_licence' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        issue_date as event_date,
        cast(null as {{ str }}) as severity,
        concat_ws('；', unit_category, qualification_grade, licence_no) as description,
        coalesce(entity_uscc, uscc) as match_key,
        licence_no as sort_key,
        issue_date as window_from,
        case
            when licence_status in ('suspended', 'revoked') and status_observed_on < {{ add_days('valid_to', 1) }}
                then greatest(status_observed_on, issue_date)
            else {{ add_days('valid_to', 1) }}
        end as window_until,
        cast(null as {{ str }}) as feed_department,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_blasting_licences__resolved') }}
),

blasting_licence_sanctions as (
    select
        {{ stable_id(["'psb_blasting_units'", 'licence_no', 'licence_status']) }} as event_id,
        'blasting_licence_' || licence_status as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        status_observed_on as event_date,
        case licence_status when 'suspended' then 'moderate' when 'revoked' then 'serious' end as severity,
        concat_ws('；', licence_status, licence_no) as description,
        coalesce(entity_uscc, uscc) as match_key,
        licence_no as sort_key,
        -- a suspension lasts at most as long as the licence; a revocation's window is the taxonomy's
        status_observed_on as window_from,
        greatest({{ add_days('valid_to', 1) }}, status_observed_on) as window_until,
        cast(null as {{ str }}) as feed_department,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_blasting_licences__resolved') }}
    where licence_status in ('suspended', 'revoked')
),

contract_credit as (
    select
        {{ stable_id(["'honours_contract_credit'", "coalesce(uscc, 'registration_no:' || registration_no)", 'honour_type', 'recognition_year']) }} as event_id,
        'contract_credit_honour' as event_type,
        entity_uscc,
        entity_known,
        uscc as subject_uscc,
        entity_name as subject_name,
        published_date as event_date,
        cast(null as {{ str }}) as severity,
        concat_ws('；', honour_type, cast(recognition_year as {{ str }}), announcement_no) as description,
        coalesce(entity_uscc, uscc) as match_key,
        cast(recognition_year as {{ str }}) as sort_key,
        published_date as window_from,
        {{ add_days('valid_to', 1) }} as window_until,
        cast(null as {{ str }}) as feed_department,
        _feed, _run_id, _file_name, _file_sha256, _source_row
    from {{ ref('int_contract_credit__resolved') }}
),

-- a follow-up survey (抽查回访) of a random inspection: its rectification is the severity; the department is the one
-- that followed up (a partner of a joint inspection may); the inspection's own result goes into the description
inspection_followups as (
    select
        {{ stable_id(["'samr_inspection_followup'", 'followups.survey_no']) }} as event_id,
        'inspection_follow_up' as event_type,
        followups.entity_uscc,
        followups.entity_known,
        followups.uscc as subject_uscc,
        followups.entity_name as subject_name,
        followups.follow_up_date as event_date,
        followups.rectification as severity,
        concat_ws('；', followups.task_id, inspections.result, followups.survey_no, followups.authority_name)
            as description,
        coalesce(followups.entity_uscc, followups.uscc) as match_key,
        followups.survey_no as sort_key,
        cast(null as date) as window_from,
        cast(null as date) as window_until,
        followups.department as feed_department,
        followups._feed, followups._run_id, followups._file_name, followups._file_sha256, followups._source_row
    from {{ ref('int_inspection_followups__resolved') }} as followups
    left join {{ ref('int_inspections__resolved') }} as inspections
        on inspections.task_id = followups.task_id
        and coalesce(inspections.uscc, 'registration_no:' || inspections.registration_no)
            = coalesce(followups.uscc, 'registration_no:' || followups.registration_no)
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
union all
select * from wage_arrears
union all
select * from special_equipment_inspections
union all
select * from food_sampling
union all
select * from training_institutions
union all
select * from blasting_licences
union all
select * from blasting_licence_sanctions
union all
select * from contract_credit
union all
select * from inspection_followups
