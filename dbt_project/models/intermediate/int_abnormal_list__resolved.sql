-- Latest version of each abnormal-operations-list decision (key decision_no, action) with its resolved entity.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='_record_key', on_schema_change='fail') }}
{{ resolved_latest_incremental('stg_samr__abnormal_list', ['decision_no', 'action']) }}
