"""The warehouse's lineage site: dbt docs of every model, source, seed and test, with the published warehouse's catalog.

`dbt docs generate --static` writes one self-contained HTML page (the lineage graph, each model's SQL, YAML
descriptions and the columns as built), so an analyst opens it from disk with no server. It runs on the dbt
profile target `docs`, which opens the published warehouse read-only: it never waits for, or blocks, a build.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from creditwh.errors import StageFailed
from creditwh.settings import DBT_PROJECT_DIR, Home


class LineageDocsError(StageFailed):
    """dbt could not generate the docs; the message quotes what dbt said."""


@dataclass(frozen=True)
class LineageSite:
    page: Path                 # the self-contained HTML page (open it in a browser)
    models: int                # models in the project's manifest
    documented_tables: int     # relations of the warehouse that dbt's catalog describes (columns and types)
    seconds: float

    def to_json(self) -> dict:
        return {"page": str(self.page), "models": self.models, "documented_tables": self.documented_tables,
                "seconds": round(self.seconds, 1)}


def generate(home: Home, as_of: date | None = None) -> LineageSite:
    """Write `<home>/docs/lineage.html` from the published warehouse (built by `creditwh build`)."""
    import time

    from creditwh.warehouse import _dbt_error_lines, dbt_executable

    if not home.warehouse.is_file():
        raise LineageDocsError(f"no published warehouse at {home.warehouse}: run `creditwh build` first")
    work = home.root / "docs" / "dbt"
    target, logs = work / "target", work / "logs"
    for folder in (target, logs):
        folder.mkdir(parents=True, exist_ok=True)
    command = [
        dbt_executable("duckdb"), "docs", "generate", "--static", "--target", "docs",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target), "--log-path", str(logs), "--no-use-colors",
    ]
    # Rendering needs the build's as-of date (passed as the build passes it, macros/as_of.sql); it changes no
    # model's lineage or columns.
    env = {**os.environ, "CREDITWH_WAREHOUSE": str(home.warehouse), "CREDITWH_LANDING": str(home.landing),
           "CREDITWH_AS_OF": (as_of or date.today()).isoformat(),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    static_page = target / "static_index.html"
    if proc.returncode != 0 or not static_page.is_file():
        said = _dbt_error_lines(proc.stdout + "\n" + proc.stderr) or ["no error line in dbt's output"]
        raise LineageDocsError("dbt docs generate failed:\n  " + "\n  ".join(said)
                               + f"\nFull log: {logs / 'dbt.log'}")
    page = home.root / "docs" / "lineage.html"
    tmp = page.with_name(f".{page.name}.tmp")
    shutil.copyfile(static_page, tmp)
    os.replace(tmp, page)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    models = sum(1 for n in manifest["nodes"].values() if n["resource_type"] == "model")
    return LineageSite(page=page, models=models, documented_tables=len(catalog["nodes"]), seconds=seconds)
