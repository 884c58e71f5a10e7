"""The city credit report as one self-contained HTML file: the city composite credit index (trend and indicator
breakdown) and a dashboard per credit park (class mix, score trend, top event types, members and how the registry's
park column agrees). Read from the published warehouse only; charts drawn with matplotlib (Agg) and embedded as
base64 PNG like the quality scorecard (quality/report.py), so the page opens offline and from a mail attachment.

Chart labels are ASCII (park ids, indicator ids): the machines that render the report have no CJK font; the
Chinese names are in the HTML beside each chart.
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError

CLASS_COLOURS = {"A": "#2e8b57", "B": "#4a90d9", "C": "#e0a800", "D": "#c0392b"}
REQUIRED_TABLES = ("agg_credit_index_monthly", "agg_city_credit_index", "agg_city_credit_index_indicator",
                   "dim_credit_park",
                   "fct_park_membership", "agg_park_credit_monthly", "credit_park_zone_rules", "fct_credit_event")


class CityReportError(CreditwhError):
    """The report cannot be made from this warehouse (the message says why and what to run)."""


@dataclass
class CityReportData:
    city_code: str
    months: list[date]
    city_index: pl.DataFrame           # month_end, index_version, composite_index, indicators_measured, ...
    indicators: pl.DataFrame           # the latest month's breakdown
    parks: pl.DataFrame                # dim_credit_park
    park_monthly: pl.DataFrame         # agg_park_credit_monthly over the months
    reconciliation: pl.DataFrame       # park_id, reconciliation, entities (active)
    zone_rules: pl.DataFrame           # credit_park_zone_rules in force on the as-of date
    top_events: pl.DataFrame           # park_id, event_type, polarity, events (dated in the window)
    unmapped_registry_parks: pl.DataFrame = field(default_factory=pl.DataFrame)


@dataclass(frozen=True)
class CityReport:
    path: Path
    city_code: str
    latest_month: date
    composite_index: float | None
    parks: list[str]


def _frame(con, sql: str, params: list | None = None) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql, params=params or None).to_arrow_table())


def load(con, months: int = 12, city_code: str | None = None) -> CityReportData:
    present = {r[0] for r in con.sql("select table_name from information_schema.tables").fetchall()}
    missing = [t for t in REQUIRED_TABLES if t not in present]
    if missing:
        raise CityReportError(f"the published warehouse has no {', '.join(missing)}: it was built before the parks "
                              "and city index models; run `creditwh build`")
    if city_code is None:
        # the city of the installation: the prefecture with most graded entities in the latest month
        rows = con.sql("""
            select city_code from agg_city_credit_index
            where month_end = (select max(month_end) from agg_city_credit_index)
            order by active_entities desc, city_code limit 1""").fetchall()
        if not rows:
            raise CityReportError("the warehouse has no city credit index yet (no graded entity in any month-end)")
        city_code = rows[0][0]
    city_index = _frame(con, """
        select city.month_end, city.index_version, city.composite_index, city.indicators, city.indicators_measured,
               city.active_entities, versions.methodology_version
        from agg_city_credit_index as city
        left join (select distinct month_end, methodology_version from agg_credit_index_monthly
                   where level = 'city' and area_code = ?) as versions
            on versions.month_end = city.month_end
        where city.city_code = ? order by city.month_end""", [city_code, city_code])
    if city_index.is_empty():
        raise CityReportError(f"no city credit index for city {city_code}")
    all_months = city_index["month_end"].to_list()
    window = all_months[-months:]
    city_index = city_index.filter(pl.col("month_end").is_in(window))
    latest = window[-1]
    indicators = _frame(con, """
        select indicator, label_zh, ndrc_dimension, value, worst_value, best_value, weight_pct, normalised_score,
               contribution
        from agg_city_credit_index_indicator where city_code = ? and month_end = ?
        order by weight_pct desc, indicator""", [city_code, latest])
    parks = _frame(con, "select * from dim_credit_park order by display_order, park_id")
    park_monthly = _frame(con, "select * from agg_park_credit_monthly where month_end >= ? and month_end <= ? "
                               "order by park_id, month_end", [window[0], latest])
    reconciliation = _frame(con, """
        select park_id, reconciliation, count(*) as entities from fct_park_membership
        where is_active group by all order by park_id, reconciliation""")
    zone_rules = _frame(con, """
        select park_id, rule_id, rule_kind, division_code, industry_prefix, uscc, registry_name,
               effective_from, effective_to
        from credit_park_zone_rules
        where (effective_from is null or effective_from <= ?) and (effective_to is null or ? <= effective_to)
        order by park_id, rule_kind desc, rule_id, division_code, industry_prefix""", [latest, latest])
    window_start = window[0].replace(day=1)
    top_events = _frame(con, """
        select members.park_id, events.event_type, events.polarity, count(*) as events
        from fct_credit_event as events
        inner join fct_park_membership as members
            on members.entity_uscc = events.entity_uscc and members.is_member and members.is_active
        where events.event_date >= ? and events.event_date <= ?
        group by all
        order by members.park_id, events desc, events.event_type""", [window_start, latest])
    unmapped = _frame(con, """
        select park as registry_park, count(*) as entities from dim_entity
        where is_active and park is not null
            and park not in (select registry_name from credit_park_zone_rules where rule_kind = 'registry_name')
        group by all order by entities desc""")
    return CityReportData(city_code, window, city_index, indicators, parks, park_monthly, reconciliation,
                          zone_rules, top_events, unmapped)


# ------------------------------------------------------------------------------------------------ charts
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return buffer.getvalue()


def _month_labels(months: list[date]) -> list[str]:
    return [m.strftime("%Y-%m") for m in months]


def _mark_methodology_changes(ax, versions: list[str | None]) -> None:
    """A dotted line where the credit index methodology changes: a jump there is the method, not the city."""
    for i in range(1, len(versions)):
        if versions[i] and versions[i - 1] and versions[i] != versions[i - 1]:
            ax.axvline(i - 0.5, color="#888", linestyle=":", linewidth=1)
            ax.text(i - 0.45, 0.02, f"methodology {versions[i - 1]} -> {versions[i]}",
                    transform=ax.get_xaxis_transform(),
                    fontsize=7, color="#555", rotation=90, va="bottom")


def city_trend_chart(city_index: pl.DataFrame) -> bytes:
    plt = _plt()
    months = city_index["month_end"].to_list()
    values = city_index["composite_index"].to_list()
    fig, ax = plt.subplots(figsize=(10, 3.6))
    x = list(range(len(months)))
    ax.plot(x, values, marker="o", linewidth=2, color="#1f5f99")
    for xi, v in zip(x, values):
        if v is not None:
            ax.annotate(f"{v:.1f}", (xi, v), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
    ax.set_xticks(x, _month_labels(months), rotation=30, ha="right")
    measured = [v for v in values if v is not None]
    low = min(measured, default=0)
    ax.set_ylim(max(0, low - 10), min(100, max(measured, default=100) + 8))
    ax.set_ylabel("composite index (0-100)")
    _mark_methodology_changes(ax, city_index["methodology_version"].to_list())
    ax.grid(alpha=0.3)
    ax.set_title("City composite credit index by month-end")
    return _png(fig)


def indicator_chart(indicators: pl.DataFrame) -> bytes:
    plt = _plt()
    rows = indicators.reverse()  # largest weight on top
    names = rows["indicator"].to_list()
    weights = rows["weight_pct"].to_list()
    contributions = [c or 0.0 for c in rows["contribution"].to_list()]
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(names) + 1.3))
    y = list(range(len(names)))
    ax.barh(y, weights, color="#dde6f0", label="weight (maximum contribution)")
    ax.barh(y, contributions, color="#1f5f99", label="contribution")
    for yi, c, w, s in zip(y, contributions, weights, rows["normalised_score"].to_list()):
        label = "not measured" if s is None else f"{c:.1f} of {w:g}  (score {s:.0f})"
        ax.text(w + 0.4, yi, label, va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.set_xlim(0, max(weights, default=1) * 1.45)
    ax.set_xlabel("points of the composite")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Indicator breakdown, latest month")
    return _png(fig)


def park_chart(park_id: str, monthly: pl.DataFrame, top_events: pl.DataFrame) -> bytes:
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    fig, (mix, trend, events) = plt.subplots(1, 3, figsize=(14, 3.8), gridspec_kw={"width_ratios": [1.1, 1, 1.1]})
    months = monthly["month_end"].to_list()
    x = list(range(len(months)))
    labels = _month_labels(months)
    step = max(1, len(months) // 6)
    bottom = [0] * len(months)
    for cls in "ABCD":
        values = monthly[f"class_{cls.lower()}"].to_list()
        mix.bar(x, values, bottom=bottom, color=CLASS_COLOURS[cls], label=cls, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values)]
    mix.set_xticks(x[::step], labels[::step], rotation=30, ha="right", fontsize=8)
    mix.set_ylabel("entities")
    mix.yaxis.set_major_locator(MaxNLocator(integer=True))
    mix.legend(title="class", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    latest = {cls: monthly[f"class_{cls.lower()}"].to_list()[-1] for cls in "ABCD"} if months else {}
    mix.text(1.02, 0.0, "latest:\n" + "\n".join(f"{c} {n:,}" for c, n in latest.items()),
             transform=mix.transAxes, fontsize=8, va="bottom")
    mix.set_title(f"{park_id}: class mix of members", fontsize=10)

    for column, style, label in (("mean_score", "-o", "mean"), ("median_score", "--s", "median")):
        values = monthly[column].to_list()
        trend.plot(x, [float("nan") if v is None else v for v in values], style, markersize=3, label=label)
    trend.set_xticks(x[::step], labels[::step], rotation=30, ha="right", fontsize=8)
    trend.set_ylabel("credit index score")
    _mark_methodology_changes(trend, monthly["methodology_version"].to_list())
    trend.grid(alpha=0.3)
    trend.legend(fontsize=8)
    trend.set_title(f"{park_id}: score trend", fontsize=10)

    top = top_events.head(6).reverse()
    if top.is_empty():
        events.text(0.5, 0.5, "no events in the period", ha="center", va="center", transform=events.transAxes)
        events.set_axis_off()
    else:
        colours = {"negative": "#c0392b", "positive": "#2e8b57"}
        y = list(range(top.height))
        events.barh(y, top["events"].to_list(), color=[colours.get(p, "#8c8c8c") for p in top["polarity"].to_list()])
        signs = {"negative": " (-)", "positive": " (+)"}
        events.set_yticks(y, [t + signs.get(p, "") for t, p in zip(top["event_type"].to_list(),
                                                                  top["polarity"].to_list())], fontsize=8)
        for yi, n in zip(y, top["events"].to_list()):
            events.text(n, yi, f" {n}", va="center", fontsize=8)
        events.set_xlabel("events dated in the period (red negative, green positive, grey neutral)", fontsize=8)
        events.set_xlim(0, max(top["events"].to_list()) * 1.2)
    events.set_title(f"{park_id}: top event types", fontsize=10)
    fig.tight_layout()
    return _png(fig)


# ------------------------------------------------------------------------------------------------ HTML
def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f}%"


def _table(header: list[str], rows: list[list], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="{"num" if i >= numeric_from else ""}">{html.escape(str(c))}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _zone_text(rules: pl.DataFrame) -> str:
    parts = []
    zones = rules.filter(pl.col("rule_kind") == "zone")
    for rule_id in dict.fromkeys(zones["rule_id"].to_list()):
        rule = zones.filter(pl.col("rule_id") == rule_id)
        divisions = sorted({d for d in rule["division_code"].to_list() if d}) or ["any division"]
        industries = sorted({p for p in rule["industry_prefix"].to_list() if p}) or ["any industry"]
        parts.append(f"<code>{html.escape(rule_id)}</code>: division {', '.join(divisions)} × GB/T 4754 "
                     f"{', '.join(industries)}")
    listed = rules.filter(pl.col("rule_kind") == "entity").height
    if listed:
        parts.append(f"{listed} entities on the explicit list")
    names = rules.filter(pl.col("rule_kind") == "registry_name")["registry_name"].to_list()
    if names:
        parts.append("registry spelling " + " / ".join(html.escape(n) for n in names))
    return "; ".join(parts) or "no zone rule in force"


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;
color:#222;max-width:1250px}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}h3{margin:1.4em 0 .3em}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}td,th{border:1px solid #ddd;padding:3px 6px;
vertical-align:top}th{background:#f3f3f3;text-align:left}td.num{text-align:right}img{max-width:100%}
.note{color:#555;font-size:.9em}.big{font-size:2.2em;font-weight:bold;color:#1f5f99}.park{border-top:2px solid #1f5f99;
margin-top:2em}.kpi{display:inline-block;margin-right:2em}.kpi b{font-size:1.3em}
"""


def _city_section(data: CityReportData) -> str:
    latest = data.city_index.tail(1).row(0, named=True)
    previous = data.city_index.tail(2).head(1).row(0, named=True) if data.city_index.height > 1 else None
    change = ""
    if previous and previous["composite_index"] is not None and latest["composite_index"] is not None:
        delta = latest["composite_index"] - previous["composite_index"]
        change = f" ({delta:+.1f} on {previous['month_end'].isoformat()})"
    rows = [[f"{r['indicator']} {r['label_zh'] or ''}", r["ndrc_dimension"] or "", _fmt(r["value"], 3),
             f"{_fmt(r['worst_value'], 2)} → {_fmt(r['best_value'], 2)}", _fmt(r["normalised_score"]),
             _fmt(r["weight_pct"], 0), _fmt(r["contribution"], 2)] for r in data.indicators.iter_rows(named=True)]
    rows.append(["composite (rescaled to the measured weights)", "", "", "", "", "",
                 _fmt(latest["composite_index"], 2)])
    return f"""
<h2 id="city-index">City composite credit index 城市信用指数 ({html.escape(data.city_code)})</h2>
<p><span class="big">{_fmt(latest['composite_index'])}</span> on {latest['month_end'].isoformat()}{change};
city index version {html.escape(latest['index_version'])}, {latest['indicators_measured']} of
{latest['indicators']}
indicators measured, {_fmt(latest['active_entities'])} graded entities.</p>
<p class="note">Each indicator (agg_city_credit_indicators_monthly, the enterprise side of the NDRC city credit
monitoring, domain.md §6) is normalised to 0–100 between its worst and best value and weighted (seed
city_credit_index_weights, dated; ranges and weights are assumptions [U]); the composite is the sum of the
contributions. docs/parks-and-city-index.md.</p>
{_img(city_trend_chart(data.city_index), "city composite credit index by month-end")}
<h3>Indicator breakdown, {latest['month_end'].isoformat()}</h3>
{_img(indicator_chart(data.indicators), "indicator contributions to the composite")}
{_table(["indicator", "NDRC dimension", "value", "worst → best", "score 0–100", "weight %", "contribution"], rows,
        numeric_from=2)}
"""


def _park_section(data: CityReportData, park: dict) -> str:
    park_id = park["park_id"]
    monthly = data.park_monthly.filter(pl.col("park_id") == park_id).sort("month_end")
    events = data.top_events.filter(pl.col("park_id") == park_id)
    recon = {r["reconciliation"]: r["entities"]
             for r in data.reconciliation.filter(pl.col("park_id") == park_id).iter_rows(named=True)}
    members = recon.get("agree", 0) + recon.get("zone_only", 0)
    declared = recon.get("agree", 0) + recon.get("registry_only", 0)
    header = f"""
<div class="park" id="park-{html.escape(park_id)}">
<h3>{html.escape(park['park_name'])} <span class="note">({html.escape(park_id)}, theme {html.escape(park['theme'])}
{html.escape(park['theme_zh'] or '')}){'' if park['is_in_force'] else ' — not in force on the as-of date'}</span></h3>
<p class="note">Zone: {_zone_text(data.zone_rules.filter(pl.col('park_id') == park_id))}.</p>"""
    if monthly.is_empty():
        return header + "<p>No month-end of the report period falls in the park's dates.</p></div>"
    latest = monthly.tail(1).row(0, named=True)
    kpis = (f'<p><span class="kpi">graded members <b>{_fmt(latest["entities"])}</b></span>'
            f'<span class="kpi">mean score <b>{_fmt(latest["mean_score"])}</b></span>'
            f'<span class="kpi">median <b>{_fmt(latest["median_score"])}</b></span>'
            f'<span class="kpi">class A <b>{_percent(latest["share_a"])}</b></span>'
            f'<span class="kpi">class C or D <b>{_percent(latest["share_c_or_d"])}</b></span>'
            f'<span class="kpi">negative events in force <b>{_fmt(latest["negative_events"])}</b></span>'
            f'<span class="kpi">positive <b>{_fmt(latest["positive_events"])}</b></span></p>')
    recon_text = (f'<p class="note">Members by the zone definition (active entities, as-of date): {members:,}; the '
                  f'registry\'s park column puts {declared:,} in this park; both agree on {recon.get("agree", 0):,} '
                  f'(zone only {recon.get("zone_only", 0):,}, registry only {recon.get("registry_only", 0):,}). '
                  '`creditwh parks` lists the disagreeing entities.</p>')
    rows = [[r["month_end"].isoformat(), _fmt(r["entities"]), _fmt(r["class_a"]), _fmt(r["class_b"]),
             _fmt(r["class_c"]), _fmt(r["class_d"]), _fmt(r["mean_score"]), _fmt(r["median_score"]),
             _fmt(r["negative_events"]), _fmt(r["positive_events"]), _fmt(r["new_events"])]
            for r in monthly.tail(6).iter_rows(named=True)]
    return (header + kpis + recon_text
            + _img(park_chart(park_id, monthly, events), f"{park_id}: class mix, score trend and top event types")
            + _table(["month-end", "members", "A", "B", "C", "D", "mean", "median", "negative in force",
                      "positive in force", "new events"], rows) + "</div>")


def render_html(data: CityReportData) -> str:
    parks = list(data.parks.iter_rows(named=True))
    latest = data.months[-1]
    overview = []
    for park in parks:
        row = data.park_monthly.filter((pl.col("park_id") == park["park_id"]) & (pl.col("month_end") == latest))
        r = row.row(0, named=True) if row.height else {}
        overview.append([f"{park['park_name']} ({park['park_id']})", _fmt(r.get("entities")),
                         _fmt(r.get("class_a")), _fmt(r.get("class_b")), _fmt(r.get("class_c")),
                         _fmt(r.get("class_d")), _fmt(r.get("mean_score")), _fmt(r.get("negative_events")),
                         _fmt(r.get("new_events"))])
    unmapped = ""
    if not data.unmapped_registry_parks.is_empty():
        names = ", ".join(f"{html.escape(r['registry_park'])} ({r['entities']:,})"
                          for r in data.unmapped_registry_parks.iter_rows(named=True))
        unmapped = (f"<p class=\"note\">Registry park names that name no configured park (active entities): {names}. "
                    "Add the spelling to the park's registry_names in supervision/rules/credit_parks.yaml.</p>")
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>City credit report {html.escape(data.city_code)}</title>
<style>{STYLE}</style></head><body>
<h1>City credit report 城市信用报告</h1>
<p class="note">Built {datetime.now(timezone.utc).isoformat(timespec="seconds")} from the published warehouse;
month-ends
{data.months[0].isoformat()} to {latest.isoformat()}. Contents: <a href="#city-index">city composite index</a>,
<a href="#parks">credit parks</a>.</p>
{_city_section(data)}
<h2 id="parks">Credit parks 信用园区</h2>
<p class="note">Members are computed from each park's zone definition (supervision/rules/credit_parks.yaml: division ×
industry, or an explicit entity list), with the registry attributes of each month-end; only active graded entities
count. The registry's own park column is shown beside it for reconciliation.</p>
{_table(["park", "members", "A", "B", "C", "D", "mean score", "negative events in force", "new events in month"],
        overview)}
{unmapped}
{"".join(_park_section(data, park) for park in parks)}
</body></html>
"""


def render(warehouse: Path, out: Path, months: int = 12, city_code: str | None = None) -> CityReport:
    """Write the report to `out` (a temporary name, then renamed, so a reader never sees half a page)."""
    from creditwh.warehouse import open_read_only

    if months < 1:
        raise CityReportError(f"--months must be at least 1, got {months}")
    import duckdb

    with open_read_only(warehouse) as con:
        try:
            data = load(con, months=months, city_code=city_code)
        except duckdb.Error as exc:  # a warehouse built by an older version of the models
            raise CityReportError(f"cannot read the report's tables from {warehouse} ({str(exc).splitlines()[0]}): "
                                  "run `creditwh build`") from None
    page = render_html(data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    latest = data.city_index.tail(1).row(0, named=True)
    return CityReport(out, data.city_code, latest["month_end"], latest["composite_index"],
                      data.parks["park_id"].to_list())
