-- Latest version of each tax credit grade (key uscc, assessment_year) with its resolved entity.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='_record_key', on_schema_change='fail') }}
{{ resolved_latest_incremental('stg_tax__credit_grades', ['uscc', 'assessment_year']) }}
