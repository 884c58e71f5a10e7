-- Latest version of each 守合同重信用 recognition (key uscc, honour_type, recognition_year) with its resolved entity.
{{ resolved_latest('stg_honours__contract_credit', ['uscc', 'honour_type', 'recognition_year']) }}
