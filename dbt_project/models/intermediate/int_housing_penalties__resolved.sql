-- Latest version of each construction-market penalty decision (key authority_uscc, decision_no) with its resolved
-- entity.
{{ resolved_latest('stg_housing__penalties', ['authority_uscc', 'decision_no']) }}
