-- Latest version of each serious-dishonest-list decision (key decision_no, action) with its resolved entity.
{{ resolved_latest('stg_samr__serious_dishonest', ['decision_no', 'action']) }}
