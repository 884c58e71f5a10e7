-- Latest version of each environmental credit grade (key uscc, assessment_year) with its resolved entity.
{{ resolved_latest('stg_env__credit_grades', ['uscc', 'assessment_year']) }}
