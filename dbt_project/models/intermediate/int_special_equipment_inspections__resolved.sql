-- Latest version of each special-equipment inspection report (key report_no) with its resolved entity.
{{ resolved_latest('stg_special_equipment__inspections', ['report_no']) }}
