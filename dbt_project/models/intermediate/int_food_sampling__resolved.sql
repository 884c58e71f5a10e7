-- Latest version of each food-safety sampling result (key sample_no) with its resolved entity.
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='_record_key', on_schema_change='fail') }}
{{ resolved_latest_incremental('stg_food_safety__sampling_results', ['sample_no']) }}
