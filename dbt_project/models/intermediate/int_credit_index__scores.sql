-- The credit index of every active entity on the build's as-of date (macro credit_scores_sql): composite score,
-- risk class, colour, forced class, top three events.
{{ credit_scores_sql("(select as_of_date, methodology_version from " ~ ref('int_credit_index__requests')
                     ~ " where is_build_as_of)", ref('int_credit_index__contributions')) }}
