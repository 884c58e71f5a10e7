-- Every administrative penalty decision of every department that sends the canonical 双公示 penalty record (the
-- columns of samr_penalties): market regulation, housing and construction, medical devices. One row per
-- (_feed, authority_uscc, decision_no), latest version, resolved entity. _feed tells the departments apart.
select * from {{ ref('int_penalties__resolved') }}
union all
select * from {{ ref('int_housing_penalties__resolved') }}
union all
select * from {{ ref('int_medical_device_penalties__resolved') }}
