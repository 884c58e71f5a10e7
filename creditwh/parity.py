"""Compare the warehouse built by DuckDB with the one built by Spark from the same landing, table by table.

Both sides are read with DuckDB: the DuckDB file's tables, and the Parquet files Spark wrote for its managed tables
(<spark warehouse dir>/<schema>.db/<table>/). What counts as equal (docs/scale-out.md, "Proof of identical results"):

- the same tables, and per table the same column names;
- per column the same type family after explicit normalisation: every integer width is `integer` (DuckDB sums
  to HUGEINT where Spark sums to BIGINT; the values are compared exactly); TIMESTAMP and TIMESTAMP WITH TIME ZONE
  are `timestamp` compared as UTC wall-clock (Spark writes instants, the profile pins its session to UTC);
  `double` and `float` are `double`; a DECIMAL keeps its precision and scale, so a division that is a decimal on
  one engine and a double on the other is a difference, not something a tolerance hides;
- the rows as multisets, leaving out only ENGINE_SPECIFIC_COLUMNS (full-row `EXCEPT ALL` both ways, NULL equal
  to NULL, so a value that became NULL on one side is a difference), where a `double` may differ by at most
  DOUBLE_RELATIVE_TOLERANCE of its magnitude (sums of doubles in another order differ in the last bits); every
  other type must be identical. A half rounded
  differently at two places (2.675 -> 2.68 vs 2.67) is 0.01 apart: far outside the tolerance.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Columns that differ between the engines by design, left out of the row comparison (the table's other columns
# are compared): meta_credit_index_query.sql_text is the what-if query rendered for the engine that built it; the
# inputs fingerprints are each engine's own 64-bit hash (macro row_hash), used only to notice change within one.
ENGINE_SPECIFIC_COLUMNS = {"meta_credit_index_query": ("sql_text",),
                           "int_credit_index__entity_inputs": ("inputs_fingerprint",),
                           "fct_entity_credit_index_monthly": ("_inputs_fingerprint",),
                           "fct_credit_event": ("_inputs_hash",)}
# |a - b| <= DOUBLE_RELATIVE_TOLERANCE * max(1, |a|, |b|): about 2^20 ulps, far below any rounding the models do.
DOUBLE_RELATIVE_TOLERANCE = 1e-9
_INTEGER = re.compile(r"^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|INT\d*)$")


@dataclass
class TableDiff:
    """How one table differs between the engines (empty lists and zero counts: identical)."""

    table: str
    missing_on: str | None = None                                   # 'duckdb' | 'spark'
    column_differences: list[str] = field(default_factory=list)     # names or normalised types that differ
    rows_duckdb: int = 0
    rows_spark: int = 0
    only_in_duckdb: list[tuple] = field(default_factory=list)       # a sample of the rows without a partner
    only_in_spark: list[tuple] = field(default_factory=list)
    unmatched_duckdb: int = 0
    unmatched_spark: int = 0
    ignored_columns: list[str] = field(default_factory=list)        # ENGINE_SPECIFIC_COLUMNS of this table

    @property
    def identical(self) -> bool:
        return (self.missing_on is None and not self.column_differences
                and self.unmatched_duckdb == 0 and self.unmatched_spark == 0)

    def describe(self) -> str:
        if self.missing_on:
            return f"{self.table}: no such table on {self.missing_on}"
        if self.column_differences:
            return f"{self.table}: columns differ: " + "; ".join(self.column_differences)
        return (f"{self.table}: {self.unmatched_duckdb} of {self.rows_duckdb} DuckDB rows and {self.unmatched_spark} "
                f"of {self.rows_spark} Spark rows have no equal row on the other engine; DuckDB only e.g. "
                f"{self.only_in_duckdb[:3]}; Spark only e.g. {self.only_in_spark[:3]}")


def normalised_type(duckdb_type: str) -> str:
    """The type family a column is compared as (see the module docstring)."""
    t = duckdb_type.upper().strip()
    if _INTEGER.match(t):
        return "integer"
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return "double"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t.startswith("DECIMAL"):
        return t.lower()
    if t in ("VARCHAR", "STRING", "TEXT"):
        return "string"
    return t.lower()


def spark_table_dirs(spark_warehouse: Path, schema: str) -> dict[str, Path]:
    """Spark's managed tables of a schema: the folders under <warehouse>/<schema>.db/."""
    root = Path(spark_warehouse) / f"{schema}.db"
    return {p.name.lower(): p for p in sorted(root.iterdir()) if p.is_dir()} if root.is_dir() else {}


def compare_warehouses(duckdb_file: Path, spark_warehouse: Path, schema: str = "credit_warehouse",
                       duckdb_schema: str = "main", sample: int = 5) -> list[TableDiff]:
    """One TableDiff per table of either build (tables only: staging views have no data of their own)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{duckdb_file}' as built_by_duckdb (read_only)")
        duck_tables = {name.lower(): name for (name,) in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'built_by_duckdb' "
            "and table_schema = ? and table_type = 'BASE TABLE'", [duckdb_schema]).fetchall()}
        spark_dirs = spark_table_dirs(spark_warehouse, schema)
        diffs = []
        for table in sorted(set(duck_tables) | set(spark_dirs)):
            if table not in spark_dirs:
                diffs.append(TableDiff(table, missing_on="spark"))
            elif table not in duck_tables:
                diffs.append(TableDiff(table, missing_on="duckdb"))
            else:
                duck_rel = f'built_by_duckdb."{duckdb_schema}"."{duck_tables[table]}"'
                spark_rel = f"read_parquet('{spark_dirs[table]}/*.parquet')"
                diffs.append(_compare_table(con, table, duck_rel, spark_rel, sample))
        return diffs
    finally:
        con.close()


def compare_relations(con, table: str, duck_rel: str, spark_rel: str, sample: int = 5) -> TableDiff:
    """Compare two relations readable on one DuckDB connection (what compare_warehouses does per table)."""
    return _compare_table(con, table, duck_rel, spark_rel, sample)


# ------------------------------------------------------------------------------------------------ internals
def _columns(con, relation: str) -> dict[str, str]:
    return {name.lower(): ctype for name, ctype, *_ in con.execute(f"describe select * from {relation}").fetchall()}


def _canonical(column: str, family: str) -> str:
    quoted = f'"{column}"'
    if family == "integer":
        return f"cast({quoted} as hugeint) as {quoted}"
    if family == "timestamp":
        return f"cast({quoted} as timestamp) as {quoted}"   # TIMESTAMPTZ -> UTC wall-clock (TimeZone = UTC)
    if family in ("string", "double", "boolean", "date") or family.startswith("decimal"):
        return quoted
    return f"cast({quoted} as varchar) as {quoted}"        # nested types: compared by their text


def _compare_table(con, table: str, duck_rel: str, spark_rel: str, sample: int) -> TableDiff:
    diff = TableDiff(table)
    duck_cols, spark_cols = _columns(con, duck_rel), _columns(con, spark_rel)
    for name in ENGINE_SPECIFIC_COLUMNS.get(table, ()):
        if name in duck_cols and name in spark_cols:
            del duck_cols[name], spark_cols[name]
            diff.ignored_columns.append(name)
    for name in sorted(set(duck_cols) ^ set(spark_cols)):
        diff.column_differences.append(f"{name} only on {'duckdb' if name in duck_cols else 'spark'}")
    families = {}
    for name in sorted(set(duck_cols) & set(spark_cols)):
        d, s = normalised_type(duck_cols[name]), normalised_type(spark_cols[name])
        if d != s:
            diff.column_differences.append(f"{name} is {duck_cols[name]} on duckdb, {spark_cols[name]} on spark")
        families[name] = d
    diff.rows_duckdb = con.execute(f"select count(*) from {duck_rel}").fetchone()[0]
    diff.rows_spark = con.execute(f"select count(*) from {spark_rel}").fetchone()[0]
    if diff.column_differences:
        return diff

    names = sorted(families)
    projection = ", ".join(_canonical(n, families[n]) for n in names)
    con.execute(f"create or replace temp table parity_duckdb as select {projection} from {duck_rel}")
    con.execute(f"create or replace temp table parity_spark as select {projection} from {spark_rel}")
    con.execute("create or replace temp table parity_only_duckdb as "
                "select * from parity_duckdb except all select * from parity_spark")
    con.execute("create or replace temp table parity_only_spark as "
                "select * from parity_spark except all select * from parity_duckdb")
    only_d = con.execute("select count(*) from parity_only_duckdb").fetchone()[0]
    only_s = con.execute("select count(*) from parity_only_spark").fetchone()[0]
    doubles = [n for n in names if families[n] == "double"]
    if (only_d or only_s) and doubles:
        only_d, only_s = _pair_within_tolerance(con, names, doubles)
    diff.unmatched_duckdb, diff.unmatched_spark = only_d, only_s
    if only_d or only_s:
        diff.only_in_duckdb = con.execute(f"select * from parity_only_duckdb limit {sample}").fetchall()
        diff.only_in_spark = con.execute(f"select * from parity_only_spark limit {sample}").fetchall()
    return diff


def _pair_within_tolerance(con, names: list[str], doubles: list[str]) -> tuple[int, int]:
    """Rows left by the exact EXCEPT ALL: pair a DuckDB row with a Spark row equal in every non-double column
    (NULL-safe), n-th with n-th in the order of their doubles, and keep the pair when every double is within the
    tolerance. Returns how many rows of each side stay unpaired."""
    exact = [n for n in names if n not in doubles]
    order = ", ".join(f'"{n}"' for n in doubles)
    part = ", ".join(f'"{n}"' for n in exact) or "1"
    numbered = ("select *, row_number() over (partition by {part} order by {order}) as parity_n from {rel}")
    conditions = [f'd."{n}" is not distinct from s."{n}"' for n in exact] + ["d.parity_n = s.parity_n"]
    conditions += [
        f'((d."{n}" is null and s."{n}" is null) or (d."{n}" is not null and s."{n}" is not null and '
        f'abs(d."{n}" - s."{n}") <= {DOUBLE_RELATIVE_TOLERANCE!r} * greatest(1.0, abs(d."{n}"), abs(s."{n}"))))'
        for n in doubles
    ]
    paired = con.execute(
        f"select count(*) from ({numbered.format(part=part, order=order, rel='parity_only_duckdb')}) d "
        f"join ({numbered.format(part=part, order=order, rel='parity_only_spark')}) s on "
        + " and ".join(conditions)).fetchone()[0]
    only_d = con.execute("select count(*) from parity_only_duckdb").fetchone()[0] - paired
    only_s = con.execute("select count(*) from parity_only_spark").fetchone()[0] - paired
    return only_d, only_s
