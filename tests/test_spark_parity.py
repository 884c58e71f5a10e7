"""The same dbt project on DuckDB and on Spark gives the same warehouse (issue #9, docs/scale-out.md).

The tiny synthetic city is generated and ingested once; dbt builds it on both engines from the same landed Parquet
(DuckDB into its file, Spark into a local session's warehouse directory) and every table of both builds — seeds,
intermediate and marts — is compared row by row with creditwh.parity (full-row EXCEPT ALL both ways, types
normalised explicitly, a relative tolerance on doubles only). A second test proves, on a real Spark session with
dbt-spark's settings, that the comparison reports each known silent difference between the engines instead of
passing by luck. Downstream of the build, the quality gate and publication run on the DuckDB catalog the Spark build
writes (creditwh/spark_catalog.py) and on the DuckDB build, and must decide, hold back and publish the same.

Marked `spark` and left out of the default run: it needs the spark extra (`make test-spark` installs it into
.venv-spark and runs this module there).
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from creditwh.parity import ENGINE_SPECIFIC_COLUMNS, compare_relations, compare_warehouses, normalised_type
from creditwh.settings import Home
from creditwh.warehouse import build

pytestmark = pytest.mark.spark

AS_OF = date(2026, 11, 25)   # the end-to-end test's date: the tiny city's feeds run up to 2026-11-20
SEED = 7


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict:
    pytest.importorskip("pyspark", reason="the spark extra is not installed: run `make test-spark`")
    from creditwh import stages
    from synthetic import generate

    home = Home(tmp_path_factory.mktemp("parity"))
    generate("tiny", SEED, home.inbox)
    stages.ingest(home)
    duckdb_file = home.warehouse_build
    spark_dir = stages.spark_warehouse(home)
    # The two dbt processes share nothing but the read-only landing: run them side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        on_duckdb = pool.submit(build, home.landing, duckdb_file, AS_OF)
        on_spark = pool.submit(build, home.landing, spark_dir, AS_OF, engine="spark")
        duckdb_result, spark_result = on_duckdb.result(), on_spark.result()
    diffs = compare_warehouses(duckdb_file, spark_dir / "warehouse")
    return {"home": home, "duckdb": duckdb_result, "spark": spark_result, "diffs": diffs, "spark_dir": spark_dir}


def test_both_builds_pass_every_node(builds):
    duck, spark = builds["duckdb"], builds["spark"]
    assert duck.ok and spark.ok
    # The same nodes ran: the Spark build skipped nothing and no model is DuckDB-only.
    assert {n.unique_id for n in duck.nodes} == {n.unique_id for n in spark.nodes}
    assert spark.totals["failed"] == spark.totals["skipped"] == 0


def test_every_table_is_identical_on_both_engines(builds):
    different = [d.describe() for d in builds["diffs"] if not d.identical]
    assert not different, "\n".join(different)


def test_the_comparison_covers_every_seed_intermediate_and_mart(builds):
    manifest = json.loads((builds["duckdb"].target_dir / "manifest.json").read_text(encoding="utf-8"))
    expected = {
        node["name"] for node in manifest["nodes"].values()
        if node["resource_type"] == "seed"
        or (node["resource_type"] == "model" and node["config"]["materialized"] in ("table", "incremental"))
    }
    compared = {d.table for d in builds["diffs"]}
    assert expected <= compared, sorted(expected - compared)
    assert all(d.rows_duckdb == d.rows_spark for d in builds["diffs"])
    # Not an empty proof: the tiny city fills the event ledger and the index.
    rows = {d.table: d.rows_duckdb for d in builds["diffs"]}
    assert rows["fct_credit_event"] > 1000 and rows["fct_entity_credit_index"] > 100


def test_engine_specific_columns_are_only_the_documented_ones(builds):
    # meta_credit_index_query stores each engine's own SQL text: it must differ, and only in that column.
    for table, columns in ENGINE_SPECIFIC_COLUMNS.items():
        diff = next(d for d in builds["diffs"] if d.table == table)
        assert diff.identical and set(columns) <= set(diff.ignored_columns)


# ------------------------------------------------------------------- downstream of the build: gate and publication
# What legitimately differs between two publication runs: the batch's id and time (and what names them).
RUN_SPECIFIC = {"batch_id", "batch_dir", "created_at", "message"}


@pytest.fixture(scope="module")
def downstream(builds, tmp_path_factory) -> dict:
    """The gate and publication as of AS_OF on each build: the DuckDB file, and the catalog the Spark build wrote
    where every reader looks (<home>/warehouse/warehouse.duckdb). Same run id, separate quality and export folders."""
    from publication import publish
    from quality import validate_penalties

    home = builds["home"]
    out = {}
    for engine, warehouse in (("duckdb", home.warehouse_build), ("spark", builds["spark"].catalog)):
        quality_dir = tmp_path_factory.mktemp(f"quality-{engine}")
        exports = tmp_path_factory.mktemp(f"exports-{engine}")
        gate = validate_penalties(warehouse, quality_dir, run_id="parity", as_of=AS_OF)
        published = publish(warehouse, quality_dir, exports, as_of=AS_OF)
        out[engine] = {"gate": gate.to_json(), "held_back": quality_dir / "held_back.parquet",
                       "publish": published.to_json(), "batch": Path(published.batch_dir)}
    return out


def test_the_spark_build_writes_a_catalog_of_every_table_where_readers_look(builds):
    import duckdb

    home = builds["home"]
    assert builds["spark"].catalog == home.warehouse
    with duckdb.connect(str(home.warehouse_build), read_only=True) as duck, \
            duckdb.connect(str(home.warehouse), read_only=True) as catalog:
        catalog.execute("set TimeZone = 'Asia/Shanghai'")   # a reader's zone: instants must not move with it
        query = ("select table_name, column_name, data_type from information_schema.columns where table_schema = "
                 "'main' and table_name in (select table_name from information_schema.tables where table_type = ?) "
                 "order by table_name, ordinal_position")
        built = duck.execute(query, ["BASE TABLE"]).fetchall()
        viewed = catalog.execute(query, ["VIEW"]).fetchall()
    # The same tables, the same column names (case included) in the same order; the same type family, and every
    # timestamp a naive TIMESTAMP as the DuckDB build has it (Spark's instants are given back as UTC wall-clock).
    assert [(t, c) for t, c, _ in viewed] == [(t, c) for t, c, _ in built]
    assert [normalised_type(x) for *_, x in viewed] == [normalised_type(x) for *_, x in built]
    assert not [row for row in viewed if row[2] == "TIMESTAMP WITH TIME ZONE"]
    assert [row for row in viewed if row[2] == "TIMESTAMP"] == [row for row in built if row[2] == "TIMESTAMP"]


def test_the_gate_decides_the_same_and_holds_back_the_same_records_on_both_builds(downstream):
    import polars as pl

    duck, spark = downstream["duckdb"]["gate"], downstream["spark"]["gate"]
    same = ("decision", "blocked", "reason", "records", "critical_failure_rate", "held_back_records",
            "expectations_passed", "expectations_failed", "rules", "held_back_sha256")
    assert {k: spark[k] for k in same} == {k: duck[k] for k in same}
    held = pl.read_parquet(downstream["duckdb"]["held_back"])
    assert pl.read_parquet(downstream["spark"]["held_back"]).equals(held)
    # Not an empty proof: the tiny city's injected defects are held back and the rest passes.
    assert duck["decision"] == "passed" and duck["held_back_records"] > 0 and duck["records"] > 100


def test_publication_writes_the_same_records_from_both_builds(downstream):
    duck, spark = downstream["duckdb"], downstream["spark"]
    assert ({k: v for k, v in spark["publish"].items() if k not in RUN_SPECIFIC}
            == {k: v for k, v in duck["publish"].items() if k not in RUN_SPECIFIC})
    manifest = {e: json.loads((downstream[e]["batch"] / "manifest.json").read_text(encoding="utf-8"))
                for e in ("duckdb", "spark")}
    # Every record file (JSON Lines, the receiver's CSV, schemas, provenance) byte for byte: the manifest lists
    # each file's SHA-256; the rest of the manifest too, but the batch's own id and time.
    assert ({k: v for k, v in manifest["spark"].items() if k not in RUN_SPECIFIC}
            == {k: v for k, v in manifest["duckdb"].items() if k not in RUN_SPECIFIC})
    for entry in manifest["duckdb"]["files"]:
        assert ((spark["batch"] / entry["name"]).read_bytes() == (duck["batch"] / entry["name"]).read_bytes()), \
            entry["name"]
    assert duck["publish"]["records"] > 100 and len(manifest["duckdb"]["files"]) > 5


@pytest.fixture(scope="module")
def spark_session(builds, tmp_path_factory):
    """A Spark session configured as dbt-spark configures its own (ANSI off, UTC), after the builds have ended."""
    from pyspark.sql import SparkSession

    scratch = tmp_path_factory.mktemp("spark-probe")
    session = (SparkSession.builder.master("local[1]").appName("parity-probe")
               .config("spark.sql.ansi.enabled", "false")   # what dbt-spark 1.11 forces (connections.py)
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
               .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
               .config("spark.ui.enabled", "false")
               .getOrCreate())
    yield session, scratch
    session.stop()


# Each probe: what a model could say, as each engine's build would run it (DuckDB through the safe_cast it would
# need, Spark as dbt-spark runs it), and what the comparison must then report.
SILENT_DIFFERENCES = {
    # x / 365.0 is DECIMAL(11, 6) on Spark, DOUBLE on DuckDB: a type difference, not a tolerance question
    "decimal_vs_double_division": ("select 1000 / 365.0 as daily", "select 1000 / 365.0 as daily", "columns"),
    # halves: round(2.675, 2) is 2.68 on Spark, 2.67 on DuckDB (both doubles)
    "rounding_of_halves": ("select round(cast(2.675 as double), 2) as fine",
                           "select round(cast(2.675 as double), 2) as fine", "rows"),
    # a decimal cast to an integer truncates on Spark (12) and rounds on DuckDB (13)
    "decimal_to_integer": ("select cast(12.7 as int) as units", "select cast(12.7 as int) as units", "rows"),
    # ANSI off: a string Spark cannot read as a number becomes NULL silently (DuckDB reads 1e3 as 1000)
    "ansi_off_bad_cast_is_null": ("select cast('1e3' as int) as units", "select cast('1e3' as int) as units", "rows"),
    # ANSI off: a date spelled with slashes is NULL on Spark, a date on DuckDB
    "ansi_off_bad_date_is_null": ("select cast('2026/11/25' as date) as on_day",
                                  "select cast('2026/11/25' as date) as on_day", "rows"),
    # ANSI off: an out-of-range cast wraps on Spark (-1294967296); DuckDB's safe cast gives NULL
    "ansi_off_overflow_wraps": ("select cast(3000000000 as int) as units",
                                "select try_cast(3000000000 as integer) as units", "rows"),
}


@pytest.mark.parametrize("probe", sorted(SILENT_DIFFERENCES))
def test_the_comparison_catches_each_silent_difference(spark_session, probe):
    import duckdb

    session, scratch = spark_session
    spark_sql, duckdb_sql, expected = SILENT_DIFFERENCES[probe]
    out = scratch / probe
    session.sql(spark_sql).write.mode("overwrite").parquet(str(out))
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"create table probe as {duckdb_sql}")
    diff = compare_relations(con, probe, "probe", f"read_parquet('{out}/*.parquet')")
    assert not diff.identical, f"{probe}: the comparison did not see the difference"
    if expected == "columns":
        assert diff.column_differences, diff.describe()
    else:
        assert diff.unmatched_duckdb == diff.unmatched_spark == 1, diff.describe()


def test_identical_results_pass_and_last_bit_double_noise_is_tolerated(spark_session):
    import duckdb

    session, scratch = spark_session
    out = scratch / "same"
    # 0.1 + 0.2 summed in another order differs in the last bit: within the documented tolerance
    session.sql("select 'a' as k, cast(0.1 as double) + cast(0.2 as double) as x, cast(null as string) as note, "
                "date'2026-11-25' as d, timestamp'2026-11-25 02:00:05' as t").write.mode("overwrite").parquet(str(out))
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("create table same as select 'a' as k, cast(0.3 as double) as x, cast(null as varchar) as note, "
                "date '2026-11-25' as d, timestamp '2026-11-25 02:00:05' as t")
    diff = compare_relations(con, "same", "same", f"read_parquet('{out}/*.parquet')")
    assert diff.identical, diff.describe()
