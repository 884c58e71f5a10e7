-- Latest version of each random-inspection follow-up survey (key survey_no) with its resolved entity.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='_record_key', on_schema_change='fail') }}
{{ resolved_latest_incremental('stg_samr__inspection_followups', ['survey_no']) }}
