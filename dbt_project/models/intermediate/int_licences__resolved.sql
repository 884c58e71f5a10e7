-- Latest version of each licence decision (key authority_uscc, decision_no) with its resolved entity.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='_record_key', on_schema_change='fail') }}
{{ resolved_latest_incremental('stg_samr__licences', ['authority_uscc', 'decision_no']) }}
