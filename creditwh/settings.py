"""Where everything lives. One home directory holds a whole installation's state.

Every path derives from CREDITWH_HOME (default: ./.creditwh under the working directory), so a test,
a demo and a production deployment are the same code pointed at different homes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DAGS_DIR = REPO_ROOT / "dags"
# Overridable so an operator can try a new feed contract (and the DAG it generates) outside the repository.
CONTRACTS_DIR = Path(os.environ.get("CREDITWH_CONTRACTS_DIR") or REPO_ROOT / "ingestion" / "contracts")
QUALITY_RULES_DIR = REPO_ROOT / "quality" / "rules"
PUBLICATION_SCHEMAS_DIR = REPO_ROOT / "publication" / "schemas"
# The name every reader opens: the published DuckDB copy, or the catalog of views a Spark build writes beside its
# directory (creditwh/spark_catalog.py).
WAREHOUSE_FILE_NAME = "warehouse.duckdb"


@dataclass(frozen=True)
class Home:
    """The directory layout of one installation."""

    root: Path

    @classmethod
    def from_env(cls, override: str | os.PathLike | None = None) -> "Home":
        raw = override or os.environ.get("CREDITWH_HOME") or ".creditwh"
        return cls(Path(raw).expanduser().resolve())

    @property
    def inbox(self) -> Path:  # feed files waiting to be ingested: inbox/<feed_id>/<file>
        return self.root / "inbox"

    @property
    def landing(self) -> Path:  # immutable Parquet: landing/<feed_id>/run=<run_id>/part-0.parquet
        return self.root / "landing"

    @property
    def linkage(self) -> Path:  # entity linkage: people's reviews (reviews.jsonl) and every run's decisions (runs/)
        return self.root / "linkage"

    @property
    def quarantine(self) -> Path:  # rejected rows with reasons, same partitioning as landing
        return self.root / "quarantine"

    @property
    def ingest_runs(self) -> Path:  # one accounting JSON per ingestion run + the file registry
        return self.root / "ingest_runs"

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def warehouse(self) -> Path:
        """The published warehouse: a read-only copy of the last successful build (after a Spark build, the
        catalog of views over its tables). Analysts, the gate and publication read this file, so they never wait
        for (or block) the writer."""
        return self.warehouse_dir / WAREHOUSE_FILE_NAME

    @property
    def warehouse_build(self) -> Path:
        """The single writer's file: only `dbt build` opens it read-write."""
        return self.warehouse_dir / "build" / WAREHOUSE_FILE_NAME

    @property
    def quality(self) -> Path:  # gate results and GE Data Docs
        return self.root / "quality"

    @property
    def data_docs(self) -> Path:
        return self.quality / "gx" / "uncommitted" / "data_docs" / "local_site"  # where GE builds them

    @property
    def exports(self) -> Path:  # publication batches: exports/<batch_id>/ + LATEST
        return self.root / "exports"

    @property
    def index_history(self) -> Path:  # the credit index as of each day: index_history/as_of=<date>/*.parquet
        return self.root / "index_history"

    @property
    def alerts(self) -> Path:  # alerts.jsonl: failed tasks, late feeds, missed deadlines
        return self.root / "alerts"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def ground_truth(self) -> Path:  # what the synthetic generator injected (demo and tests only)
        return self.inbox / "_ground_truth.parquet"

    def ensure(self) -> "Home":
        for d in (self.inbox, self.landing, self.quarantine, self.ingest_runs, self.warehouse_dir,
                  self.quality, self.exports):
            d.mkdir(parents=True, exist_ok=True)
        return self
