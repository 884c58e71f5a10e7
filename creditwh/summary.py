"""What a pipeline run did, read back from the home directory: for people (a table) and machines (JSON)."""
from __future__ import annotations

import json

from creditwh.settings import Home


def _stage(home: Home, name: str) -> dict:
    path = home.root / "stages" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def pipeline_summary(home: Home) -> dict:
    ingest, build, validate, publish, report = (
        _stage(home, s) for s in ("ingest", "build", "validate", "publish", "report"))
    feeds = [
        {k: f[k] for k in ("feed", "rows_in", "loaded", "quarantined", "rejected_files")}
        for f in ingest.get("result", {}).get("feeds", [])
    ]
    entities, grades = None, {}
    if home.warehouse.exists():
        from creditwh.warehouse import open_read_only

        with open_read_only(home.warehouse) as con:
            entities = con.execute("select count(*) from dim_entity").fetchone()[0]
            grades = dict(con.execute(
                "select risk_class, count(*) from fct_entity_credit_index group by 1 order by 1").fetchall())
    gate = validate.get("result", {})
    published = publish.get("result", {})
    return {
        "feeds": feeds,
        "entities": entities,
        "grades": grades,
        "expectations": {"passed": gate.get("expectations_passed"), "failed": gate.get("expectations_failed")},
        "gate": {"blocked": gate.get("blocked"), "reason": gate.get("reason"),
                 "held_back_records": gate.get("held_back_records")},
        "exported_records": published.get("records"),
        "batch_id": published.get("batch_id"),
        "publication": published.get("message"),
        "stages": {s: {"status": r.get("status"), "seconds": r.get("seconds"), "error": r.get("error")}
                   for s, r in (("ingest", ingest), ("build", build), ("validate", validate), ("publish", publish),
                                ("report", report))
                   if r},
        "paths": {
            "warehouse": str(home.warehouse),
            "exports": str(home.exports),
            "data_docs": str(home.data_docs / "index.html"),
            "city_report": report.get("result", {}).get("report"),
            "airflow_home": str(home.airflow_home),
        },
    }


def render(summary: dict, console) -> None:
    from rich.table import Table

    table = Table(title="Feeds (rows in = loaded + quarantined)")
    for col in ("feed", "rows in", "loaded", "quarantined", "rejected files"):
        table.add_column(col, justify="left" if col == "feed" else "right")
    for f in summary["feeds"]:
        table.add_row(f["feed"], f"{f['rows_in']:,}", f"{f['loaded']:,}", f"{f['quarantined']:,}",
                      str(f["rejected_files"]))
    console.print(table)
    ent = summary["entities"]
    console.print(f"Entities in the warehouse: {ent:,}" if ent is not None else "Entities: (no warehouse)")
    grades = summary["grades"]
    total = sum(grades.values()) or 1
    console.print("Risk classes: " + ", ".join(f"{k} {v:,} ({v / total:.1%})" for k, v in grades.items()))
    exp, gate = summary["expectations"], summary["gate"]
    console.print(f"Quality gate: {exp['passed']} expectations passed, {exp['failed']} failed; "
                  f"{gate['held_back_records']} records held back; "
                  + ("[red]BLOCKED[/red]: " + str(gate["reason"]) if gate["blocked"] else "batch passed"))
    console.print(f"Exported records: {summary['exported_records']} ({summary.get('publication') or 'batch ' + str(summary['batch_id'])})")
    for stage, s in summary["stages"].items():
        line = f"  {stage:<9} {s['status']:<8} {s['seconds']} s"
        console.print(line + (f"  [red]{s['error']}[/red]" if s["error"] else ""))
    for name, path in summary["paths"].items():
        console.print(f"{name:>13}: {path}")
