-- Latest version of each proactive credit repair notice sent (key notice_no) with its resolved entity.
{{ resolved_latest('stg_samr__credit_repair_notices', ['notice_no']) }}
