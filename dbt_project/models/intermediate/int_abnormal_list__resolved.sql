-- Latest version of each abnormal-operations-list decision (key decision_no, action) with its resolved entity.
{{ resolved_latest('stg_samr__abnormal_list', ['decision_no', 'action']) }}
