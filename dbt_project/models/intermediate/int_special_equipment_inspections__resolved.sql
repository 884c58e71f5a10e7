-- Latest version of each special-equipment inspection report (key report_no) with its resolved entity.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='_record_key', on_schema_change='fail') }}
{{ resolved_latest_incremental('stg_special_equipment__inspections', ['report_no']) }}
