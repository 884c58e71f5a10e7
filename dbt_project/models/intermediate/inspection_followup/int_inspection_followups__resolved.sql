-- Latest version of each random-inspection follow-up survey (key survey_no) with its resolved entity.
{{ resolved_latest('stg_samr__inspection_followups', ['survey_no']) }}
