-- Latest version of each 守合同重信用 recognition (key uscc, honour_type, recognition_year) with its resolved entity.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='_record_key', on_schema_change='fail') }}
{{ resolved_latest_incremental('stg_honours__contract_credit', ['uscc', 'honour_type', 'recognition_year']) }}
