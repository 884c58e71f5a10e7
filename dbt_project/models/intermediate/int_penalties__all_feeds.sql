-- Every administrative penalty decision of every department that sends the canonical 双公示 penalty record (the
-- columns of samr_penalties): market regulation, housing and construction, medical devices. One row per
-- (_feed, authority_uscc, decision_no), latest version, resolved entity. _feed tells the departments apart.
-- A view: its two readers (int_penalties__classified, int_credit_repair__decisions) scan it once each, and writing
-- its 3 M rows cost 3-4 s on every build.
{{ config(materialized='view') }}
select * from {{ ref('int_penalties__resolved') }}
union all
select * from {{ ref('int_housing_penalties__resolved') }}
union all
select * from {{ ref('int_medical_device_penalties__resolved') }}
