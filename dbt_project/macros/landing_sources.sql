{#-
  The Parquet landing is the one source of both engines (docs/scale-out.md). dbt-duckdb reads each source through
  its `meta.external_location`; Spark has no such mechanism, so before any model runs this hook (re)creates one
  external table per source over the feed's landing folder. A source names its folder with `meta.feed_id`.
  recursiveFileLookup reads every run=<run_id>/ partition without turning `run` into a column (DuckDB's
  hive_partitioning = false); mergeSchema is DuckDB's union_by_name (a run landed before a contract gained a column).
-#}
{% macro register_landing_sources() -%}
  {{ return(adapter.dispatch('register_landing_sources', 'credit_warehouse')()) }}
{%- endmacro %}

{% macro default__register_landing_sources() -%}
  select 1 as nothing_to_register
{%- endmacro %}

{% macro spark__register_landing_sources() -%}
  {%- if execute -%}
    {%- set landing = env_var('CREDITWH_LANDING') | replace('\\', '/') -%}
    {%- set schemas = [] -%}
    {%- for node in graph.sources.values() if node.package_name == project_name -%}
      {%- set meta = node.config.get('meta') or node.meta or {} -%}
      {%- if not meta.get('feed_id') -%}
        {{ exceptions.raise_compiler_error("source " ~ node.source_name ~ "." ~ node.name ~ " has no meta.feed_id: Spark cannot find its landing folder") }}
      {%- endif -%}
      {%- if node.schema not in schemas -%}
        {%- do run_query("create schema if not exists " ~ node.schema) -%}
        {%- do schemas.append(node.schema) -%}
      {%- endif -%}
      {%- set relation = node.schema ~ "." ~ node.identifier -%}
      {%- do run_query("drop table if exists " ~ relation) -%}
      {%- do run_query("create table " ~ relation ~ " using parquet options (path '" ~ landing ~ "/" ~ meta['feed_id']
          ~ "', recursiveFileLookup 'true', pathGlobFilter '*.parquet', mergeSchema 'true')") -%}
    {%- endfor -%}
  {%- endif -%}
  select 1 as landing_sources_registered
{%- endmacro %}
