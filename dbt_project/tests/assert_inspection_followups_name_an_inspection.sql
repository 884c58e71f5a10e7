-- A follow-up survey names the inspection it follows up by task_id + USCC, the key of samr_inspection_results. One
-- that names no landed inspection still counts (the bureau's finding stands, and its result may arrive in a later
-- run), but the department is told: a warning, not a failure.
{{ config(severity='warn') }}

select
    followups.survey_no,
    followups.task_id,
    followups.uscc,
    followups._file_name,
    followups._source_row
from {{ ref('int_inspection_followups__resolved') }} as followups
left join {{ ref('int_inspections__resolved') }} as inspections
    on inspections.task_id = followups.task_id
    and coalesce(inspections.uscc, 'registration_no:' || inspections.registration_no)
        = coalesce(followups.uscc, 'registration_no:' || followups.registration_no)
where inspections.task_id is null
