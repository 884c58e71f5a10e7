-- One row per administrative penalty decision (grain: penalty_id = md5(authority_uscc|decision_no)), latest
-- version across ingestion runs: the input of the quality gate and of publication (docs/interfaces.md §3).
-- Every decision is here, resolved or not and whatever its check digit: the gate decides what is held back.
-- Market regulation's decisions only: the gate and publication are SAMR's (its publicity orders, its 信用中国
-- export); other departments' penalties are credit events (fct_credit_event) but not published from here.
-- Incremental on DuckDB: computed in full, only new and changed rows written (macro changed_rows, as fct_licence).
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='penalty_id', on_schema_change='fail') }}
with

penalties as (
    select * from {{ ref('int_penalties__classified') }}
    where _feed = 'samr_penalties'
),

computed as (
    select
        penalty_id,
        ---------- canonical columns of samr_penalties
        subject_name,
        subject_category,
        uscc,
        registration_no,
        legal_rep_name,
        decision_no,
        violation_type,
        violation_facts,
        legal_basis,
        penalty_categories,
        penalty_content,
        fine_amount_wan,
        confiscated_amount_wan,
        decision_date,
        valid_until,
        authority_name,
        authority_uscc,
        source_unit_name,
        source_unit_uscc,
        ---------- resolved entity
        entity_uscc,
        entity_known,
        entity_resolved_by,
        uscc_check_ok,
        ---------- classification and publicity
        severity,
        publicity_rule_id,
        publicity_months,
        publicity_start,
        publicity_end,
        publicity_end_by_rule,
        repair_eligible_from,
        repair_granted_on,
        is_published_type,
        ---------- lineage
        _issues,
        _feed,
        _run_id,
        _file_name,
        _file_sha256,
        _source_row,
        _loaded_at
    from penalties
)

{{ changed_rows('penalty_id') }}
