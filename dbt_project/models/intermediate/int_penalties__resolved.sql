-- Latest version of each penalty decision (key authority_uscc, decision_no) with its resolved entity.
{{ resolved_latest('stg_samr__penalties', ['authority_uscc', 'decision_no']) }}
