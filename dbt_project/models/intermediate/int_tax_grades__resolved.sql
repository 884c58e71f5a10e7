-- Latest version of each tax credit grade (key uscc, assessment_year) with its resolved entity.
{{ resolved_latest('stg_tax__credit_grades', ['uscc', 'assessment_year']) }}
