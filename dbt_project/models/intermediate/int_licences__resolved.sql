-- Latest version of each licence decision (key authority_uscc, decision_no) with its resolved entity.
{{ resolved_latest('stg_samr__licences', ['authority_uscc', 'decision_no']) }}
