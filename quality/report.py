"""The department scorecard as one self-contained HTML file: charts drawn with matplotlib (Agg, no display) and
embedded as base64 PNG, styles inline, no script and nothing fetched, so it opens from a mail attachment."""
from __future__ import annotations

import base64
import html
import io
import os
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from creditwh.settings import Home
from quality.landing_rules import DIMENSIONS
from quality.problems import scorecard_settings

COLUMNS = [*DIMENSIONS, "overall"]


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def heatmap(by_department: pl.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    departments = by_department["department"].to_list()
    values = np.array([[np.nan if v is None else v for v in by_department[c].to_list()] for c in COLUMNS]).T
    fig, ax = plt.subplots(figsize=(1.3 * len(COLUMNS) + 2.5, 0.6 * len(departments) + 1.4))
    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#dddddd")  # grey: dimension not measured
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=50, vmax=100, aspect="auto")
    ax.set_xticks(range(len(COLUMNS)), COLUMNS, rotation=20, ha="right")
    ax.set_yticks(range(len(departments)), departments)
    for i in range(len(departments)):
        for j in range(len(COLUMNS)):
            v = values[i, j]
            ax.text(j, i, "n/a" if np.isnan(v) else f"{v:.1f}", ha="center", va="center", fontsize=9,
                    fontweight="bold" if COLUMNS[j] == "overall" else "normal")
    fig.colorbar(image, ax=ax, label="score (0-100; below 50 shown as 50)")
    ax.set_title("Score per department and dimension (all months)")
    data = _png(fig)
    plt.close(fig)
    return data


def trend(by_month: pl.DataFrame, months: int) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recent = sorted(set(by_month["month"].to_list()))[-months:]
    frame = by_month.filter(pl.col("month").is_in(recent))
    fig, ax = plt.subplots(figsize=(10, 4.2))
    for department in sorted(set(frame["department"].to_list())):
        part = frame.filter(pl.col("department") == department).sort("month")
        x = [recent.index(m) for m in part["month"].to_list()]
        ax.plot(x, part["overall"].to_list(), marker="o", markersize=3, linewidth=1.5, label=department)
    step = max(1, len(recent) // 12)
    ax.set_xticks(range(0, len(recent), step), recent[::step], rotation=30, ha="right")
    ax.set_ylabel("overall score")
    ax.set_ylim(bottom=max(0, min([v for v in frame["overall"].to_list() if v is not None] or [0]) - 5), top=101)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(f"Overall score by month of the record (last {len(recent)} months)")
    data = _png(fig)
    plt.close(fig)
    return data


def _table(frame: pl.DataFrame, numeric: set[str] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows():
        cells = []
        for c, v in zip(frame.columns, row):
            text = "" if v is None else (f"{v:,.2f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v))
            cells.append(f'<td class="{"num" if c in numeric else ""}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def worst_rules(problems: pl.DataFrame, top: int, examples: int) -> str:
    if not problems.height:
        return "<p>No problems found.</p>"
    ranked = (problems.group_by("rule", "department", "feed", "severity", "dimension").agg(pl.len().alias("rows"))
              .sort(["rows", "rule"], descending=[True, False]).head(top))
    parts = []
    for r in ranked.iter_rows(named=True):
        sample = (problems.filter((pl.col("rule") == r["rule"]) & (pl.col("feed") == r["feed"]))
                  .sort("run_id", "file_name", "source_row").head(examples)
                  .select("file_name", "source_row", "field", "value", "message"))
        parts.append(f'<h3><code>{html.escape(r["rule"])}</code> — {r["rows"]:,} rows '
                     f'<span class="tag {r["severity"]}">{r["severity"]}</span> '
                     f'<span class="dim">{html.escape(r["department"])} / {html.escape(r["feed"])} / '
                     f'{html.escape(r["dimension"])}</span></h3>' + _table(sample, {"source_row"}))
    return "\n".join(parts)


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;
color:#222;max-width:1200px}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}h3{font-size:1em;margin:1.2em 0 .3em}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}td,th{border:1px solid #ddd;padding:3px 6px;
vertical-align:top}th{background:#f3f3f3;text-align:left}td.num{text-align:right}
.tag{font-size:.8em;padding:1px 6px;border-radius:3px;color:#fff}.critical{background:#c0392b}
.warning{background:#d68910}.dim{color:#666;font-weight:normal}img{max-width:100%}.note{color:#555;font-size:.9em}
"""


def render(home: Home, table: pl.DataFrame, problems: pl.DataFrame, path: Path) -> Path:
    """Write the report to `path` (a temporary name, then renamed) and return it."""
    from quality.scorecard import rollup

    settings = scorecard_settings()["report"]
    by_department = rollup(table, ["department"])
    by_feed = rollup(table, ["department", "feed"])
    by_month = rollup(table, ["department", "month"])
    sent = table.group_by("department").agg(pl.col("rows_sent", "rows_landed", "rows_quarantined",
                                                   "critical_problems", "warning_problems").sum())
    overview = (by_department.select("department", *COLUMNS).join(sent, on="department")
                .select("department", "rows_sent", "rows_landed", "rows_quarantined", "critical_problems",
                        "warning_problems", *COLUMNS).sort("department"))
    docs_index = home.data_docs / "index.html"
    docs = (f'<a href="{html.escape(os.path.relpath(docs_index, path.parent))}">Great Expectations Data Docs</a> '
            "(every validation run, expectation by expectation)" if docs_index.is_file()
            else "Great Expectations Data Docs: not built yet (run a validation with Data Docs on)")
    months = sorted(set(table["month"].to_list()))
    numeric = {"rows_sent", "rows_landed", "rows_quarantined", "critical_problems", "warning_problems", *COLUMNS}
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Department data-quality scorecard</title>
<style>{STYLE}</style></head><body>
<h1>Department data-quality scorecard</h1>
<p class="note">Built {datetime.now(timezone.utc).isoformat(timespec="seconds")} from {home.root}; records of
{html.escape(months[0] if months else "-")} to {html.escape(months[-1] if months else "-")}. {docs}.
Scores are 0–100: the share of rows a department sent without a defect of that dimension (a quarantined row
counts as a defect); timeliness only over records a timeliness rule measures; overall = weighted mean
(quality/rules/scorecard.yaml, docs/quality.md). The table behind it: quality/scorecard/scorecard.duckdb.</p>
<h2>Departments × dimensions</h2>
<img alt="heatmap of scores per department and dimension" src="data:image/png;base64,{heatmap(by_department)}">
{_table(overview, numeric)}
<h2>Trend by month</h2>
<img alt="overall score per department by month" src="data:image/png;base64,{trend(by_month, settings["trend_months"])}">
<h2>Per feed</h2>
{_table(by_feed.select("department", "feed", "rows_sent", *COLUMNS), numeric)}
<h2>Worst offending rules</h2>
<p class="note">The rules that failed on most rows, with example rows a department can look up in its own files.
`creditwh quality issues --department X` exports every open problem of one department.</p>
{worst_rules(problems, settings["worst_rules"], settings["examples_per_rule"])}
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path
