-- Entity-linkage decisions for landed rows whose identifier does not resolve (rename/cast only).
with

source as (
    select * from {{ source('linkage', 'entity_links') }}
),

renamed as (
    select
        cast(_feed as {{ dbt.type_string() }}) as _feed,
        cast(_file_sha256 as {{ dbt.type_string() }}) as _file_sha256,
        cast(_source_row as bigint) as _source_row,
        cast(link_key as {{ dbt.type_string() }}) as link_key,
        cast(code_sent as {{ dbt.type_string() }}) as code_sent,
        cast(name_sent as {{ dbt.type_string() }}) as name_sent,
        cast(candidate_uscc as {{ dbt.type_string() }}) as candidate_uscc,
        cast(candidate_name as {{ dbt.type_string() }}) as candidate_name,
        cast(match_probability as double) as match_probability,
        cast(match_weight as double) as match_weight,
        cast(runner_up_weight as double) as runner_up_weight,
        cast(decision as {{ dbt.type_string() }}) as decision,
        cast(decided_by as {{ dbt.type_string() }}) as decided_by,
        cast(rules_version as {{ dbt.type_string() }}) as rules_version,
        cast(_run_id as {{ dbt.type_string() }}) as _run_id
    from source
)

select * from renamed
