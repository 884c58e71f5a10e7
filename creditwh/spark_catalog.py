"""The DuckDB catalog of a Spark build: one view per table Spark wrote, so the readers of the DuckDB warehouse read it.

Everything after the build (the quality gate, publication, `creditwh entity` / `sql` / `report`) opens a DuckDB
file read-only and reads `main.<table>`. A Spark build leaves Parquet files of managed tables instead
(<spark warehouse dir>/<schema>.db/<table>/, found as creditwh.parity finds them). `write_catalog` writes a small
DuckDB file holding, for each of those tables, a view `main.<table>` over its Parquet files: the same names a DuckDB
build gives them, so no reader changes. Staging models are views in Spark's metastore with no files of their own;
no reader uses them, and they are not in the catalog.

- **A fixed set of files.** Each view names the Parquet files the table had when the catalog was written, not a
  glob: a reader of a catalog whose tables a later Spark build replaced fails on the missing files instead of
  mixing two builds (the gate's verdict is about one catalog file; publication checks it is the same file).
  Every Spark build ends by writing a new catalog, so readers see the new build from then on.
- **Types.** Spark writes timestamps as instants (Parquet `isAdjustedToUTC`, read by DuckDB as TIMESTAMP WITH TIME
  ZONE) where the DuckDB build has naive TIMESTAMP columns; the view gives them back as the UTC wall-clock
  TIMESTAMP (the profile pins Spark's session time zone to UTC), independent of the reader's TimeZone setting, so
  the gate's date rules and publication's comparisons with the as-of date see what a DuckDB build gives. Nothing
  else is converted: integer widths (BIGINT where DuckDB sums to HUGEINT) read the same to every reader.
- **Atomic.** The file is written beside its final name and renamed over it: a reader opens the previous catalog
  or the new one, never a half-written one.
- **Object storage.** A location may be `s3://…` (or any scheme DuckDB's httpfs reads): the views are the same,
  DuckDB lists the files through httpfs, and each reader needs httpfs (autoloaded) and credentials (a DuckDB
  secret). Discovery of the tables walks a local directory; for object storage pass `tables` (name -> location).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from creditwh.errors import StageFailed
from creditwh.parity import spark_table_dirs
from creditwh.settings import WAREHOUSE_FILE_NAME

# The schema the DuckDB build writes to (dbt_project/profiles.yml, target dev), where every reader looks.
READER_SCHEMA = "main"


class SparkCatalogError(StageFailed):
    """The catalog could not be written (no tables, a table without files, an unreadable file)."""


@dataclass(frozen=True)
class CatalogResult:
    catalog: Path
    spark_warehouse: str
    schema: str
    views: dict[str, int] = field(default_factory=dict)           # view -> rows
    files: dict[str, int] = field(default_factory=dict)           # view -> Parquet files it reads
    utc_timestamp_columns: dict[str, list[str]] = field(default_factory=dict)  # view -> instants given as UTC

    def to_json(self) -> dict:
        return {"catalog": str(self.catalog), "spark_warehouse": self.spark_warehouse, "schema": self.schema,
                "views": len(self.views), "rows": sum(self.views.values()), "files": sum(self.files.values()),
                "utc_timestamp_columns": self.utc_timestamp_columns}


def catalog_path(spark_dir: Path) -> Path:
    """Where `build --engine spark` writes the catalog: beside the Spark directory, under the published warehouse's
    name (<home>/warehouse/spark -> <home>/warehouse/warehouse.duckdb, settings.Home.warehouse), so every reader
    finds the last build where it always looks, whichever engine built it."""
    return Path(spark_dir).parent / WAREHOUSE_FILE_NAME


def spark_tables(spark_warehouse: Path, schema: str) -> dict[str, str]:
    """The tables of `schema` a Spark build wrote under a local warehouse directory: name -> folder."""
    return {name: str(folder) for name, folder in spark_table_dirs(Path(spark_warehouse), schema).items()}


def write_catalog(spark_warehouse: Path | str, catalog: Path, schema: str = "credit_warehouse",
                  tables: dict[str, str] | None = None) -> CatalogResult:
    """Write (atomically) the DuckDB file `catalog` holding one view `main.<table>` per table Spark wrote.

    spark_warehouse: Spark's `spark.sql.warehouse.dir`; schema: the Spark schema the build wrote (the profile's
    CREDITWH_SPARK_SCHEMA); tables: name -> location, instead of listing <spark_warehouse>/<schema>.db/ (object
    storage). Raises SparkCatalogError naming the table when a location holds no Parquet file or cannot be read.
    """
    import duckdb

    catalog = Path(catalog)
    where = f"{spark_warehouse}/{schema}.db"
    tables = tables if tables is not None else spark_tables(Path(spark_warehouse), schema)
    if not tables:
        raise SparkCatalogError(f"no Spark tables under {where}: did the Spark build write schema {schema!r}?")
    catalog.parent.mkdir(parents=True, exist_ok=True)
    tmp = catalog.with_name(f".{catalog.name}.tmp-{os.getpid()}")
    _remove(tmp)
    views: dict[str, int] = {}
    file_counts: dict[str, int] = {}
    instants: dict[str, list[str]] = {}
    con = duckdb.connect(str(tmp))
    try:
        for name in sorted(tables):
            location = str(tables[name]).rstrip("/")
            try:
                files = [f for (f,) in con.execute("select file from glob(?) order by file",
                                                   [f"{location}/*.parquet"]).fetchall()]
                if not files:
                    raise SparkCatalogError(f"table {name} of {where}: no Parquet file in {location}")
                source = "read_parquet([" + ", ".join(_literal(f) for f in files) + "])"
                columns = con.execute(f"describe select * from {source}").fetchall()
                projection, as_utc = _projection(columns)
                con.execute(f'create view {READER_SCHEMA}."{name}" as select {projection} from {source}')
                # Reads every file's footer (not its data): a truncated or foreign file fails here, not in a reader.
                views[name] = con.execute(f'select count(*) from {READER_SCHEMA}."{name}"').fetchone()[0]
            except duckdb.Error as exc:
                raise SparkCatalogError(f"table {name} of {where}: cannot read its Parquet files in {location}: "
                                        f"{str(exc).splitlines()[0]}") from None
            file_counts[name] = len(files)
            if as_utc:
                instants[name] = as_utc
        con.execute("checkpoint")
    except BaseException:
        con.close()
        _remove(tmp)
        raise
    con.close()
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, catalog)
    return CatalogResult(catalog=catalog, spark_warehouse=str(spark_warehouse), schema=schema, views=views,
                         files=file_counts, utc_timestamp_columns=instants)


# ------------------------------------------------------------------------------------------------ internals
def _projection(columns: list[tuple]) -> tuple[str, list[str]]:
    """The view's select list, and the instant columns it gives back as UTC wall-clock TIMESTAMP.

    timezone('UTC', x) rather than a cast: a cast of TIMESTAMP WITH TIME ZONE uses the reader's TimeZone setting.
    """
    parts, as_utc = [], []
    for name, column_type, *_ in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        if column_type.upper() == "TIMESTAMP WITH TIME ZONE":
            parts.append(f"timezone('UTC', {quoted}) as {quoted}")
            as_utc.append(name)
        else:
            parts.append(quoted)
    return ", ".join(parts), as_utc


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
