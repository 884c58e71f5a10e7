-- Latest version of each credit repair application (key application_no: an application is re-sent as it moves from
-- pending to a decision) with its resolved entity.
{{ resolved_latest('stg_samr__credit_repair_applications', ['application_no']) }}
