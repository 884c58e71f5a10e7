"""Build the warehouse with dbt, and open it for reading.

`build()` is the only writer of a warehouse file: it runs `dbt build` on `dbt_project/` as a subprocess (the dbt of
this Python environment), pointed at a landing directory and a DuckDB file through CREDITWH_LANDING /
CREDITWH_WAREHOUSE, with the as-of date of the credit index as a dbt var. dbt's target/ and logs/ go beside the
DuckDB file, so the repository stays clean and two builds of two homes never share state. Every node's outcome is
read back from dbt's run_results.json; a failed build raises WarehouseBuildError naming the failing nodes and what
dbt said, without a traceback.

Everyone else opens the file with `open_read_only()`.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from creditwh.errors import StageFailed
from creditwh.settings import DBT_PROJECT_DIR, REPO_ROOT

ENGINES = ("duckdb", "spark")
# The Spark extra lives in an environment of its own (`make spark-setup`), so the default one never carries Spark.
SPARK_VENV = REPO_ROOT / ".venv-spark"

PASSED = {"success", "pass"}
FAILED = {"error", "fail", "runtime error"}
_TIMESTAMP = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?\s{1,2}")
_MAX_MESSAGE_LINES = 12


class WarehouseBuildError(StageFailed):
    """`dbt build` failed. The message names the failing nodes and quotes dbt; `.result` holds what was parsed."""

    def __init__(self, message: str, result: BuildResult | None = None):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class NodeResult:
    """The outcome of one dbt node (model, seed, data test, unit test)."""

    name: str
    unique_id: str
    resource_type: str  # model | seed | test | unit_test | snapshot
    status: str         # success | pass | warn | fail | error | skipped
    seconds: float
    failures: int | None
    message: str | None

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def to_json(self) -> dict:
        return {"name": self.name, "unique_id": self.unique_id, "resource_type": self.resource_type,
                "status": self.status, "seconds": round(self.seconds, 3), "failures": self.failures,
                "message": self.message}


@dataclass(frozen=True)
class BuildResult:
    warehouse: Path
    as_of: date
    select: str | None
    returncode: int
    seconds: float       # wall-clock of the dbt process
    dbt_seconds: float   # dbt's own elapsed time (run_results.json)
    nodes: tuple[NodeResult, ...]
    target_dir: Path
    log_dir: Path
    catalog: Path | None = None  # a Spark session build: the DuckDB file of views over its tables that readers open

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not any(n.failed for n in self.nodes)

    @property
    def failed_nodes(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.failed]

    @property
    def totals(self) -> dict:
        by_type: dict[str, int] = {}
        for n in self.nodes:
            by_type[n.resource_type] = by_type.get(n.resource_type, 0) + 1
        return {
            "nodes": len(self.nodes),
            "passed": sum(n.status in PASSED for n in self.nodes),
            "warned": sum(n.status == "warn" for n in self.nodes),
            "failed": sum(n.failed for n in self.nodes),
            "skipped": sum(n.status == "skipped" for n in self.nodes),
            "models": by_type.get("model", 0),
            "seeds": by_type.get("seed", 0),
            "data_tests": by_type.get("test", 0),
            "unit_tests": by_type.get("unit_test", 0),
            "seconds": round(self.seconds, 2),
        }

    def node(self, name: str) -> NodeResult:
        return next(n for n in self.nodes if n.name == name)

    def to_json(self) -> dict:
        return {
            "warehouse": str(self.warehouse),
            "as_of": self.as_of.isoformat(),
            "select": self.select,
            "returncode": self.returncode,
            "seconds": round(self.seconds, 2),
            "dbt_seconds": round(self.dbt_seconds, 2),
            "totals": self.totals,
            "nodes": [n.to_json() for n in self.nodes],
            "target_dir": str(self.target_dir),
            "log_dir": str(self.log_dir),
        } | ({"catalog": str(self.catalog)} if self.catalog else {})


def dbt_executable(engine: str = "duckdb") -> str:
    """The dbt of this Python environment (beside sys.executable), so the build uses the locked dbt-core.

    For Spark: this environment's dbt when it has dbt-spark, else the one of .venv-spark (`make spark-setup`).
    """
    if engine == "spark":
        import importlib.util

        if importlib.util.find_spec("dbt.adapters.spark") is None or importlib.util.find_spec("pyspark") is None:
            spark_dbt = SPARK_VENV / "bin" / "dbt"
            if spark_dbt.exists():
                return str(spark_dbt)
            raise WarehouseBuildError("the Spark engine needs pyspark and dbt-spark, which this environment does not "
                                      f"have and {SPARK_VENV} does not exist: run `make spark-setup`")
    beside = Path(sys.executable).parent / ("dbt.exe" if os.name == "nt" else "dbt")
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if found:
        return found
    raise WarehouseBuildError(f"dbt is not installed in this environment (looked for {beside}); run `make setup`")


def build(landing_dir: Path, warehouse_path: Path, as_of: date | None = None,
          select: str | None = None, indirect_selection: str | None = None, engine: str = "duckdb",
          full_refresh: bool = False) -> BuildResult:
    """Run `dbt build` of dbt_project/ on `landing_dir` into the DuckDB file `warehouse_path`.

    as_of: the date of the credit index (default: today). select: a dbt selection (`--select`), e.g.
    "+fct_penalty". indirect_selection: dbt's --indirect-selection ("cautious" keeps out tests that also read
    unselected models). Returns the per-node results; raises WarehouseBuildError if any node fails.
    engine "spark": `warehouse_path` is a directory holding the Spark warehouse and its metastore; the profile
    target is CREDITWH_SPARK_TARGET (default `spark`, a local session; docs/scale-out.md).
    full_refresh: rebuild the incremental models from every landed row (dbt --full-refresh), as needed after a
    change of a contract or of the latest-version / resolution code (docs/warehouse.md, "Incremental builds").
    """
    if engine not in ENGINES:
        raise WarehouseBuildError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    landing_dir = Path(landing_dir).expanduser().resolve()
    warehouse_path = Path(warehouse_path).expanduser().resolve()
    as_of = as_of or date.today()
    if not landing_dir.is_dir():
        raise WarehouseBuildError(f"no landing directory at {landing_dir}: run `creditwh ingest` first")
    # A feed whose contract is newer than the landing (a department added since) gets its empty typed file, so
    # its staging model reads zero rows instead of failing on an empty glob.
    from ingestion.contracts import load_contracts
    from ingestion.landing import ensure_schema_files
    from ingestion.linkage import ensure_decisions_file

    ensure_schema_files(landing_dir, load_contracts())
    ensure_decisions_file(landing_dir)
    work_dir = (warehouse_path if engine == "spark" else warehouse_path.parent) / "dbt"
    target_dir, log_dir = work_dir / "target", work_dir / "logs"
    for d in (warehouse_path.parent, target_dir, log_dir):
        d.mkdir(parents=True, exist_ok=True)
    run_results = target_dir / "run_results.json"
    run_results.unlink(missing_ok=True)  # never read a previous build's results

    command = [
        dbt_executable(engine), "build",
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target_dir),
        "--log-path", str(log_dir),
        "--no-use-colors",
    ]
    spark_target = os.environ.get("CREDITWH_SPARK_TARGET") or "spark"
    if engine == "spark":
        command += ["--target", spark_target]
    if select:
        command += ["--select", *shlex.split(select)]
    if indirect_selection:
        command += ["--indirect-selection", indirect_selection]
    if full_refresh:
        command.append("--full-refresh")
    env = {
        **os.environ,
        "CREDITWH_LANDING": str(landing_dir),
        **({"CREDITWH_SPARK_DIR": str(warehouse_path)} if engine == "spark" else
           {"CREDITWH_WAREHOUSE": str(warehouse_path)}),
        # the as-of date as an environment variable, not --vars: dbt parses the whole project again whenever
        # --vars change, which with a date that moves every day was every build (macros/as_of.sql)
        "CREDITWH_AS_OF": as_of.isoformat(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started

    nodes: tuple[NodeResult, ...] = ()
    dbt_seconds = 0.0
    if run_results.exists():
        parsed = json.loads(run_results.read_text(encoding="utf-8"))
        nodes = tuple(_node(r) for r in parsed.get("results", []))
        dbt_seconds = float(parsed.get("elapsed_time") or 0.0)
    result = BuildResult(warehouse=warehouse_path, as_of=as_of, select=select, returncode=proc.returncode,
                         seconds=seconds, dbt_seconds=dbt_seconds, nodes=nodes, target_dir=target_dir,
                         log_dir=log_dir)
    if not result.ok:
        raise WarehouseBuildError(_failure_message(result, proc.stdout + "\n" + proc.stderr), result)
    if select and not nodes:
        raise WarehouseBuildError(f"the selection {select!r} matched no model, seed or test of dbt_project/", result)
    if engine == "spark" and spark_target == "spark":
        # Every later stage opens a DuckDB file: give it one whose views read the tables this build just wrote.
        # (A Thrift cluster's warehouse is not a local directory: docs/scale-out.md.)
        import dataclasses

        from creditwh.spark_catalog import catalog_path, write_catalog

        written = write_catalog(warehouse_path / "warehouse", catalog_path(warehouse_path),
                                schema=os.environ.get("CREDITWH_SPARK_SCHEMA") or "credit_warehouse")
        result = dataclasses.replace(result, catalog=written.catalog)
    return result


def open_read_only(warehouse_path: Path):
    """A DuckDB connection to a built warehouse that cannot write (and never blocks another reader)."""
    import duckdb

    path = Path(warehouse_path)
    if not path.is_file():
        raise StageFailed(f"no warehouse at {path}: run `creditwh build` first")
    return duckdb.connect(str(path), read_only=True)


# ------------------------------------------------------------------------------------------------ internals
def _node(raw: dict) -> NodeResult:
    unique_id = raw.get("unique_id", "")
    parts = unique_id.split(".")
    resource_type = parts[0] if parts else ""
    if resource_type == "unit_test" and len(parts) >= 4:
        name = f"{parts[2]}::{parts[3]}"  # model::test, as dbt prints it
    elif len(parts) >= 3:
        name = parts[2]
    else:
        name = unique_id
    return NodeResult(
        name=name, unique_id=unique_id, resource_type=resource_type, status=str(raw.get("status", "")),
        seconds=float(raw.get("execution_time") or 0.0), failures=raw.get("failures"),
        message=(raw.get("message") or None),
    )


def _clean(text: str) -> list[str]:
    """dbt output lines without timestamps, carriage returns or blank runs."""
    out: list[str] = []
    for line in text.replace("\r", "").splitlines():
        line = _TIMESTAMP.sub("", line).rstrip()
        if line or (out and out[-1]):
            out.append(line)
    return out


def _dbt_error_lines(output: str) -> list[str]:
    """The part of dbt's output that explains a failure: its summary after 'Completed with …', else error lines."""
    lines = _clean(output)
    for i, line in enumerate(lines):
        if line.startswith("Completed with") or line.startswith("Encountered an error"):
            return [ln for ln in lines[i:] if not ln.startswith("Done. PASS=")][:60]
    keep = [ln for ln in lines if re.search(r"error|exception|not found|could not|failed", ln, re.IGNORECASE)]
    return (keep or lines[-20:])[:60]


def _failure_message(result: BuildResult, output: str) -> str:
    failed = result.failed_nodes
    head = f"dbt build of {result.warehouse} (as of {result.as_of}) failed"
    if failed:
        head += f": {len(failed)} of {len(result.nodes)} nodes failed"
    else:
        head += f" before running any node (exit code {result.returncode})"
    parts = [head + "."]
    for n in failed:
        message = "\n".join(_clean(n.message or ""))
        lines = message.strip().splitlines()
        if len(lines) > _MAX_MESSAGE_LINES:
            lines = lines[:_MAX_MESSAGE_LINES] + ["…"]
        detail = ("\n      " + "\n      ".join(lines)) if lines else ""
        parts.append(f"  - {n.resource_type} {n.name} [{n.status}]{detail}")
    if not any(n.message for n in failed):  # nothing ran (parse/compile error) or no message: quote dbt
        dbt_lines = _dbt_error_lines(output)
        if dbt_lines:
            parts.append("dbt said:\n  " + "\n  ".join(dbt_lines))
    said = output + "".join(n.message or "" for n in failed)
    # on_schema_change='fail', or a build file from before the models became incremental (no _record_key, or no
    # _inputs_hash in the event ledger, yet)
    if "out of sync" in said or "_record_key" in said or "_inputs_hash" in said:
        parts.append("An incremental model's columns changed (a feed contract, the model's SQL, or a build file older "
                     "than incremental builds): rebuild from every landed row with `creditwh build --full-refresh` "
                     "(docs/warehouse.md, Incremental builds).")
    parts.append(f"Full log: {result.log_dir / 'dbt.log'}")
    return "\n".join(parts)
