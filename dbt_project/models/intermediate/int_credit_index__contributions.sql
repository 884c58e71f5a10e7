-- What moves each active entity's score on the build's as-of date: its events known and in force with non-zero
-- points, and the attribute rules it meets (macro credit_contributions_sql). The month-end series computes its own
-- (fct_entity_credit_index_monthly), so `dbt build --select +fct_entity_credit_index` (the daily index snapshot)
-- does only the as-of date.
{{ credit_contributions_sql("(select as_of_date, methodology_version from " ~ ref('int_credit_index__requests')
                            ~ " where is_build_as_of)") }}
