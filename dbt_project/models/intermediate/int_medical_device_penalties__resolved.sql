-- Latest version of each medical-device penalty decision (key authority_uscc, decision_no) with its resolved entity.
{{ resolved_latest('stg_medical__device_penalties', ['authority_uscc', 'decision_no']) }}
