-- Latest version of each wage-arrears dishonest-list decision (key decision_no, action) with its resolved entity.
{{ resolved_latest('stg_hrss__wage_arrears_dishonest', ['decision_no', 'action']) }}
