-- Severity and publicity window of every penalty decision of every penalty feed (int_penalties__all_feeds), from the
-- dated rule seeds in force on its decision date. The rules are SAMR's (Orders 45 and 107); other departments'
-- penalties get the same classification and publicity [U: no rule of their own found; docs/warehouse.md].
--   severity: see docs/warehouse.md and the doc block col_severity;
--   publicity: the publicity_rules row of that severity in force on decision_date;
--   publicity_start = decision_date, publicity_end = publicity_start + publicity_months (exclusive: the first day
--   the record is no longer shown; a warning-only penalty has 0 months, so an empty window);
--   a valid granted credit repair (int_credit_repair__decisions) ends publicity on its decision date when that
--   comes first: publicity_end_by_rule keeps the rule's end, repair_granted_on the grant (docs/credit-repair.md).
-- Incremental on DuckDB like fct_licence: every build classifies every penalty and writes only the new and changed
-- rows (macro changed_rows); a penalty never leaves (resolved records are never deleted).
{{ config(materialized=history_materialization(), incremental_strategy=history_incremental_strategy(),
          unique_key='penalty_id', on_schema_change='fail') }}
with

penalties as (
    select * from {{ ref('int_penalties__all_feeds') }}
),

severity_rules as (
    select * from {{ ref('penalty_severity_rules') }}
),

publicity_rules as (
    select * from {{ ref('publicity_rules') }}
),

repair_grants as (
    select record_id as penalty_id, min(decided_on) as repair_granted_on
    from {{ ref('int_credit_repair__decisions') }}
    where record_type = 'penalty' and decision = 'granted' and is_valid
    group by record_id
),

penalty_ids as (
    select
        {{ stable_id(['authority_uscc', 'decision_no']) }} as penalty_id,
        penalties.*
    from penalties
),

-- one row per (penalty, category): '警告;罚款' -> 警告, 罚款
category_parts as (
    select
        penalty_ids.penalty_id,
        penalty_ids.decision_date,
        {{ split_to_rows('penalty_ids.penalty_categories', '[;；,，、/]') }} as penalty_category
    from penalty_ids
),

categories as (
    select
        category_parts.penalty_id,
        trim(category_parts.penalty_category) as penalty_category,
        category_parts.decision_date
    from category_parts
    where trim(category_parts.penalty_category) <> ''
),

classed_categories as (
    select
        categories.penalty_id,
        categories.penalty_category,
        -- a category the rules do not know counts as 'other' (never minor, never serious)
        coalesce(category_rules.category_class, 'other') as category_class
    from categories
    left join severity_rules as category_rules
        on category_rules.rule_kind = 'category_class'
        and category_rules.penalty_category = categories.penalty_category
        and {{ rule_applies('category_rules', 'categories.decision_date') }}
),

category_counts as (
    select
        penalty_id,
        count(*) as n_categories,
        sum(case when category_class = 'warning' then 1 else 0 end) as n_warning,
        sum(case when category_class = 'reprimand' then 1 else 0 end) as n_reprimand,
        sum(case when category_class = 'fine' then 1 else 0 end) as n_fine,
        sum(case when category_class = 'serious' then 1 else 0 end) as n_serious,
        sum(case when category_class = 'other' then 1 else 0 end) as n_other
    from classed_categories
    group by penalty_id
),

with_threshold as (
    select
        penalty_ids.*,
        coalesce(category_counts.n_categories, 0) as n_categories,
        coalesce(category_counts.n_warning, 0) as n_warning,
        coalesce(category_counts.n_reprimand, 0) as n_reprimand,
        coalesce(category_counts.n_fine, 0) as n_fine,
        coalesce(category_counts.n_serious, 0) as n_serious,
        coalesce(category_counts.n_other, 0) as n_other,
        threshold_rules.lower_fine_threshold_wan
    from penalty_ids
    left join category_counts
        on category_counts.penalty_id = penalty_ids.penalty_id
    left join severity_rules as threshold_rules
        on threshold_rules.rule_kind = 'lower_fine_threshold'
        and threshold_rules.subject_category = penalty_ids.subject_category
        and {{ rule_applies('threshold_rules', 'penalty_ids.decision_date') }}
),

classified as (
    select
        with_threshold.*,
        case
            when n_serious > 0 then 'serious'
            when n_categories > 0 and n_warning = n_categories then 'warning_only'
            when n_categories > 0
                and n_other = 0
                and (n_reprimand > 0 or n_fine > 0)
                and (
                    n_fine = 0
                    or (fine_amount_wan is not null
                        and lower_fine_threshold_wan is not null
                        and fine_amount_wan < lower_fine_threshold_wan)
                )
                then 'minor'
            else 'moderate'
        end as severity
    from with_threshold
),

with_publicity as (
    select
        classified.*,
        publicity.rule_id as publicity_rule_id,
        publicity.publicity_months,
        publicity.repair_after_months,
        publicity.is_published_type
    from classified
    left join publicity_rules as publicity
        on publicity.severity = classified.severity
        and {{ rule_applies('publicity', 'classified.decision_date') }}
),

with_rule_end as (
    select
        with_publicity.*,
        {{ add_months('decision_date', 'publicity_months') }} as publicity_end_by_rule,
        repair_grants.repair_granted_on
    from with_publicity
    left join repair_grants
        on repair_grants.penalty_id = with_publicity.penalty_id
),

computed as (
    select
        with_rule_end.*,
        decision_date as publicity_start,
        case
            when repair_granted_on is not null and repair_granted_on < publicity_end_by_rule
                then greatest(repair_granted_on, decision_date)
            else publicity_end_by_rule
        end as publicity_end,
        case
            when repair_after_months is not null then {{ add_months('decision_date', 'repair_after_months') }}
        end as repair_eligible_from
    from with_rule_end
)

{{ changed_rows('penalty_id') }}
