-- Latest version of each random-inspection result (key task_id, uscc) with its resolved entity.
{{ resolved_latest('stg_samr__inspection_results', ['task_id', 'uscc']) }}
