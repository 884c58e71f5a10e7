-- Every credit repair application (grain: application_no) tied to the record it asks to repair, with the first
-- defect that keeps it from taking effect (NULL = valid). Each row is valid on its own (ingestion checked that);
-- these are the defects only the warehouse can see:
--   unknown_record          no record of that type has that decision number from that authority (a penalty is
--                           matched on authority_uscc + decision_no: under 谁认定、谁修复 the authority that decided
--                           the record decides its repair, domain.md §3d; a list entry on its listing decision_no)
--   subject_mismatch        the application's entity is not the record's entity
--   applied_before_record   applied before the record was decided
--   decided_before_applied  decided before it was applied for
--   decision_date_missing   granted or refused without a decision date
-- Only valid granted applications end a record's publicity (int_penalties__classified).
with

applications as (
    select * from {{ ref('int_credit_repair__applications') }}
),

records as (
    select
        {{ stable_id(['authority_uscc', 'decision_no']) }} as record_id,
        'penalty' as record_type,
        decision_no,
        authority_uscc,
        decision_date as record_decision_date,
        entity_uscc as record_entity_uscc
    from {{ ref('int_penalties__all_feeds') }}
    union all
    select
        {{ stable_id(["'samr_abnormal_list'", 'decision_no', 'action']) }} as record_id,
        'abnormal_list' as record_type,
        decision_no,
        cast(null as {{ dbt.type_string() }}) as authority_uscc,
        decision_date as record_decision_date,
        entity_uscc as record_entity_uscc
    from {{ ref('int_abnormal_list__resolved') }}
    where action = 'listing'
    union all
    select
        {{ stable_id(["'samr_serious_dishonest'", 'decision_no', 'action']) }} as record_id,
        'serious_dishonest' as record_type,
        decision_no,
        cast(null as {{ dbt.type_string() }}) as authority_uscc,
        decision_date as record_decision_date,
        entity_uscc as record_entity_uscc
    from {{ ref('int_serious_dishonest__resolved') }}
    where action = 'listing'
),

matched as (
    select
        applications.*,
        records.record_id,
        records.record_decision_date,
        records.record_entity_uscc
    from applications
    left join records
        on records.record_type = applications.record_type
        and records.decision_no = applications.record_decision_no
        and (records.record_type <> 'penalty' or records.authority_uscc = applications.authority_uscc)
),

flagged as (
    select
        matched.*,
        case
            when record_id is null then 'unknown_record'
            when entity_uscc is not null and record_entity_uscc is not null and entity_uscc <> record_entity_uscc
                then 'subject_mismatch'
            when applied_on < record_decision_date then 'applied_before_record'
            when decided_on is not null and decided_on < applied_on then 'decided_before_applied'
            when decision in ('granted', 'refused') and decided_on is null then 'decision_date_missing'
        end as defect
    from matched
)

select
    application_no,
    ---------- entity
    entity_uscc,
    entity_known,
    entity_resolved_by,
    uscc,
    entity_name,
    ---------- the record to repair
    record_type,
    record_decision_no,
    record_id,
    record_decision_date,
    ---------- the application and its decision
    applied_on,
    decision,
    decided_on,
    case when decided_on is not null then {{ days_between('applied_on', 'decided_on') }} end as days_to_decision,
    authority_name,
    authority_uscc,
    reason,
    defect,
    defect is null as is_valid,
    ---------- lineage
    _issues,
    _feed,
    _run_id,
    _file_name,
    _file_sha256,
    _source_row,
    _loaded_at
from flagged
