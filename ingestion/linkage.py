"""Entity linkage: landed records whose identifier does not resolve are matched to a registry entity.

The warehouse resolves a record by its USCC (check digit holds and the registry knows it) or through the registry's
crosswalk of legacy registration numbers (dbt macro `resolved_latest`). What is left — a USCC typed with a wrong
character, a valid USCC the registry does not know, an unknown registration number — is compared here with every
registry entity that shares a blocking key (the first 17 characters of the code, its embedded organisation code, or
the exact name) by splink's Fellegi–Sunter model on DuckDB: name (exact / Jaro–Winkler bands), code (edit distance),
legal representative. Each distinct (code sent, name sent) pair gets one decision — match / unsure / non_match —
under the dated rules of linkage_rules.yaml; a person's review (`creditwh linkage review`) overrides the model for
that pair. The decisions, one row per landed row, are landing/_entity_links/decisions.parquet, which dbt reads like
a feed; every run that changed them is kept under $CREDITWH_HOME/linkage/runs/. A run reads only the landed files
the current decisions have not examined when nothing else they depend on changed (landing/_entity_links/state.json;
docs/linkage.md, "Incremental runs").
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import yaml

from creditwh.errors import CreditwhError
from ingestion.contracts import Contract

RULES_FILE = Path(__file__).with_name("linkage_rules.yaml")
LINKS_FEED = "_entity_links"            # landing folder; the leading underscore marks it as derived, not a feed
REGISTRY_FEED = "samr_entity_registry"
REVIEWS_FILE = "reviews.jsonl"          # under $CREDITWH_HOME/linkage/
DECISIONS = ("match", "unsure", "non_match")
STATE_FILE = "state.json"               # landing/_entity_links/: what the current decisions were computed from
STATE_FORMAT = 1
DECISION_COLUMNS = ("candidate_uscc", "candidate_name", "match_probability", "match_weight", "runner_up_weight",
                    "decision", "decided_by", "rules_version")
log = logging.getLogger(__name__)

LINKS_SCHEMA = {
    "_feed": pl.String, "_file_sha256": pl.String, "_source_row": pl.Int64,
    "link_key": pl.String, "code_sent": pl.String, "name_sent": pl.String,
    "candidate_uscc": pl.String, "candidate_name": pl.String,
    "match_probability": pl.Float64, "match_weight": pl.Float64, "runner_up_weight": pl.Float64,
    "decision": pl.String, "decided_by": pl.String, "rules_version": pl.String, "_run_id": pl.String,
}


class LinkageError(CreditwhError):
    """Linkage rules, model or review input is unusable (the message says which file and field)."""


@dataclass(frozen=True)
class LinkageRules:
    version: str
    model_file: Path
    match_probability: float
    review_probability: float
    min_weight_margin: float
    min_name_level: int
    name_columns: tuple[str, ...]
    legal_rep_columns: tuple[str, ...]


def rules_for(on: date, rules_file: Path = RULES_FILE) -> LinkageRules:
    raw = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    for v in raw["versions"]:
        start, end = v["effective_from"], v.get("effective_to")
        if start <= on and (end is None or on <= end):
            return LinkageRules(
                version=v["version"], model_file=rules_file.parent / v["model"],
                match_probability=float(v["match_probability"]), review_probability=float(v["review_probability"]),
                min_weight_margin=float(v["min_weight_margin"]), min_name_level=int(v["min_name_level"]),
                name_columns=tuple(v["name_columns"]), legal_rep_columns=tuple(v["legal_rep_columns"]))
    raise LinkageError(f"{rules_file}: no linkage rule version is in force on {on}")


def link_key(code: pl.Expr, name: pl.Expr) -> pl.Expr:
    """A stable id of what was sent: the same code and name in any feed or file is one decision.

    SHA-256 rather than polars' hash, which is not stable across versions; per value in Python, which is fine for
    the few thousand unresolved rows of a city (10,026 at city scale)."""
    return pl.concat_str([code.fill_null(""), name.fill_null("")], separator="|").map_batches(
        lambda s: pl.Series([hashlib.sha256(v.encode("utf-8")).hexdigest()[:16] for v in s], dtype=pl.String),
        return_dtype=pl.String)


def _comparable(frame: pl.DataFrame, code: str, name: str, legal_rep: str | None) -> pl.DataFrame:
    rep = pl.col(legal_rep) if legal_rep else pl.lit(None, dtype=pl.String)
    return frame.select(
        pl.col(code).alias("code"), pl.col(name).alias("name"), rep.alias("legal_rep"),
        # an 18-character USCC embeds the 9-character organisation code (GB 11714) at positions 9-17
        pl.when(pl.col(code).str.len_chars() == 18).then(pl.col(code).str.slice(0, 17)).alias("code17"),
        pl.when(pl.col(code).str.len_chars() == 18).then(pl.col(code).str.slice(8, 9)).alias("org_code"),
    )


def registry_entities(landing: Path) -> pl.DataFrame:
    """The registry's entities with a valid USCC, latest version of each (as dbt's int_registry__entities)."""
    files = sorted((landing / REGISTRY_FEED).glob("run=*/*.parquet"))
    if not files:
        return pl.DataFrame(schema={"uscc": pl.String, "registration_no": pl.String, "entity_name": pl.String,
                                    "legal_rep_name": pl.String})
    reg = pl.scan_parquet(files, missing_columns="insert", extra_columns="ignore")
    return (reg.filter(pl.col("uscc_check_ok") & pl.col("uscc").is_not_null())
            .sort(["_run_id", "_source_row"]).unique("uscc", keep="last", maintain_order=False)
            .select("uscc", "registration_no", "entity_name", "legal_rep_name").collect())


def examined_columns(contracts: dict[str, Contract], rules: LinkageRules) -> dict[str, tuple[str, str | None]]:
    """The feeds linkage reads, each with its name column and legal-representative column (None if it has none)."""
    columns = {}
    for contract in contracts.values():
        if contract.id == REGISTRY_FEED or not contract.has_uscc:
            continue
        names = contract.canonical_names
        name_col = next((c for c in rules.name_columns if c in names), None)
        if name_col is not None:
            columns[contract.id] = (name_col, next((c for c in rules.legal_rep_columns if c in names), None))
    return columns


def landed_files(landing: Path, contracts: dict[str, Contract], rules: LinkageRules) -> list[str]:
    """The landed files linkage reads, as paths relative to the landing (`<feed>/run=<run_id>/<part>.parquet`)."""
    return [path.relative_to(landing).as_posix()
            for feed in examined_columns(contracts, rules)
            for path in sorted((landing / feed).glob("run=*/*.parquet"))]


def unresolved_records(landing: Path, contracts: dict[str, Contract], rules: LinkageRules,
                       registry: pl.DataFrame, only: list[str] | None = None) -> pl.DataFrame:
    """Every landed row (all runs, or the files `only` names) whose identifier the warehouse cannot resolve."""
    # joins, not is_in: is_in builds its set of the registry's ~10^6 codes again for every feed, 0.4 s each even
    # when the feed's new files hold a dozen rows; a join hashes the smaller side
    known = registry.select("uscc", pl.lit(True).alias("_uscc_known")).unique("uscc").lazy()
    crosswalk = (registry.filter(pl.col("registration_no").is_not_null())
                 .select("registration_no", pl.lit(True).alias("_regno_known")).unique("registration_no").lazy())
    by_feed: dict[str, list[Path]] = {}
    for relative in sorted(set(landed_files(landing, contracts, rules) if only is None else only)):
        by_feed.setdefault(relative.split("/", 1)[0], []).append(landing / relative)
    parts = []
    for feed, (name_col, rep_col) in examined_columns(contracts, rules).items():
        files = by_feed.get(feed)
        if not files:
            continue
        cols = ["uscc", "registration_no", "uscc_check_ok", name_col, "_feed", "_file_sha256", "_source_row"]
        rows = pl.scan_parquet(files, missing_columns="insert", extra_columns="ignore").select(
            *cols, *([rep_col] if rep_col else []))
        resolved_by_uscc = pl.col("uscc_check_ok").fill_null(False) & pl.col("_uscc_known").fill_null(False)
        resolved_by_regno = pl.col("_regno_known").fill_null(False)
        rows = (rows.join(known, on="uscc", how="left").join(crosswalk, on="registration_no", how="left")
                .filter(~resolved_by_uscc & ~resolved_by_regno)).with_columns(
            pl.coalesce("uscc", "registration_no").alias("code_sent"),
            pl.col(name_col).alias("name_sent"),
            (pl.col(rep_col) if rep_col else pl.lit(None, dtype=pl.String)).alias("legal_rep_sent"),
        ).select("_feed", "_file_sha256", "_source_row", "code_sent", "name_sent", "legal_rep_sent")
        parts.append(rows.collect())
    if not parts:
        return pl.DataFrame(schema={"_feed": pl.String, "_file_sha256": pl.String, "_source_row": pl.Int64,
                                    "code_sent": pl.String, "name_sent": pl.String, "legal_rep_sent": pl.String,
                                    "link_key": pl.String})
    rows = pl.concat(parts, how="vertical_relaxed")
    return rows.with_columns(link_key(pl.col("code_sent"), pl.col("name_sent")).alias("link_key"))


def key_inputs(records: pl.DataFrame) -> pl.DataFrame:
    """What the model compares for each link_key, one row per key, whatever the order the rows were read in.

    Rows of one key always agree on the code and the name (the key is their hash) but not on the legal
    representative: one file names it, another leaves it empty. The smallest non-empty value of all the key's rows
    is taken, so a key's decision does not depend on which row came first, and a later row changes it only by
    bringing a smaller value (which an incremental run can see without rereading the earlier rows)."""
    return (records.group_by("link_key")
            .agg(pl.col("code_sent", "name_sent", "legal_rep_sent").min())
            .sort("link_key"))


def load_model(path: Path) -> dict:
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LinkageError(f"{path}: cannot read the linkage model ({exc})") from exc
    for comp in model["comparisons"]:
        levels = len(comp["m"])
        if len(comp["u"]) != levels or not all(0 < p <= 1 for p in comp["m"] + comp["u"]):
            raise LinkageError(f"{path}: comparison {comp['column']}: m and u need one probability in (0, 1] "
                               f"per level ({levels} levels)")
    return model


def _quiet_splink() -> None:
    # splink logs its timings at INFO on import-time handlers; the build's own output is what a user reads
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _settings(model: dict, registry_size: int, with_parameters: bool = True):
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons = []
    for comp in model["comparisons"]:
        if comp["kind"] == "jaro_winkler":
            c = cl.JaroWinklerAtThresholds(comp["column"], comp["thresholds"])
        elif comp["kind"] == "levenshtein":
            c = cl.LevenshteinAtThresholds(comp["column"], comp["thresholds"])
        elif comp["kind"] == "exact":
            c = cl.ExactMatch(comp["column"])
        else:
            raise LinkageError(f"linkage model: comparison {comp['column']}: unknown kind {comp['kind']!r}")
        if with_parameters:
            c = c.configure(m_probabilities=comp["m"], u_probabilities=comp["u"])
        comparisons.append(c)
    return SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in model["blocking"]],
        # prior: a record with an unresolved identifier is about one of the registry's entities, or none of them
        probability_two_random_records_match=1.0 / max(registry_size, 2),
        retain_intermediate_calculation_columns=True,  # the name level is part of the decision rule
    )


def score(records: pl.DataFrame, registry: pl.DataFrame, model: dict) -> pl.DataFrame:
    """Scored candidate pairs: one row per (link_key, registry USCC) that shares a blocking key."""
    empty = pl.DataFrame(schema={"link_key": pl.String, "candidate_uscc": pl.String, "match_probability": pl.Float64,
                                 "match_weight": pl.Float64, "name_level": pl.Int32})
    keys = key_inputs(records)
    if keys.is_empty() or registry.is_empty():
        return empty
    from splink import DuckDBAPI, Linker

    _quiet_splink()
    left = _comparable(registry, "uscc", "entity_name", "legal_rep_name").with_columns(
        pl.col("code").alias("unique_id"))
    right = _comparable(keys, "code_sent", "name_sent", "legal_rep_sent").with_columns(keys["link_key"].alias(
        "unique_id"))
    api = DuckDBAPI()
    linker = Linker([api.register(left.to_arrow(), dataset_display_name="registry"),
                     api.register(right.to_arrow(), dataset_display_name="records")],
                    _settings(model, registry.height))
    pairs = linker.inference.predict().as_duckdbpyrelation().pl()
    if pairs.is_empty():
        return empty
    # splink orders each pair's sides by dataset name; "records" < "registry"
    left_is_registry = pl.col("source_dataset_l") == "registry"
    return pairs.select(
        pl.when(left_is_registry).then("unique_id_r").otherwise("unique_id_l").alias("link_key"),
        pl.when(left_is_registry).then("unique_id_l").otherwise("unique_id_r").alias("candidate_uscc"),
        pl.col("match_probability").cast(pl.Float64), pl.col("match_weight").cast(pl.Float64),
        pl.col("gamma_name").cast(pl.Int32).alias("name_level"),
    )


def decide(records: pl.DataFrame, pairs: pl.DataFrame, registry: pl.DataFrame, rules: LinkageRules,
           reviews: pl.DataFrame) -> pl.DataFrame:
    """One decision per link_key: the best candidate judged by the rules, then a person's review over it."""
    ranked = pairs.sort(["link_key", "match_weight", "candidate_uscc"], descending=[False, True, False]).with_columns(
        pl.col("match_weight").shift(-1).over("link_key").alias("runner_up_weight"),
        pl.int_range(pl.len()).over("link_key").alias("_rank"),
    ).filter(pl.col("_rank") == 0).drop("_rank")
    keys = key_inputs(records).select("link_key", "code_sent", "name_sent")
    best = keys.join(ranked, on="link_key", how="left")
    margin_ok = (pl.col("runner_up_weight").is_null()
                 | (pl.col("match_weight") - pl.col("runner_up_weight") >= rules.min_weight_margin))
    p = pl.col("match_probability").fill_null(0.0)
    names_agree = pl.col("name_level").fill_null(-1) >= rules.min_name_level
    model_decision = (pl.when((p >= rules.match_probability) & margin_ok & names_agree).then(pl.lit("match"))
                      .when(p >= rules.review_probability).then(pl.lit("unsure"))
                      .otherwise(pl.lit("non_match")))
    decided = best.with_columns(model_decision.alias("decision"),
                                pl.lit(f"model:{rules.version}").alias("decided_by"))
    if not reviews.is_empty():
        latest = reviews.sort("decided_at").unique("link_key", keep="last").select(
            "link_key", pl.col("decision").alias("_review_decision"), pl.col("entity_uscc").alias("_review_uscc"),
            pl.format("reviewer:{}", pl.col("reviewer")).alias("_reviewer"))
        decided = decided.join(latest, on="link_key", how="left").with_columns(
            pl.coalesce("_review_decision", "decision").alias("decision"),
            pl.when(pl.col("_review_decision").is_not_null()).then(pl.col("_review_uscc"))
            .otherwise(pl.col("candidate_uscc")).alias("candidate_uscc"),
            pl.coalesce("_reviewer", "decided_by").alias("decided_by"),
        ).drop("_review_decision", "_review_uscc", "_reviewer")
    names = registry.select(pl.col("uscc").alias("candidate_uscc"), pl.col("entity_name").alias("candidate_name"))
    return decided.drop("name_level").join(names, on="candidate_uscc", how="left").with_columns(
        pl.lit(rules.version).alias("rules_version"))


def read_reviews(linkage_dir: Path) -> pl.DataFrame:
    path = linkage_dir / REVIEWS_FILE
    schema = {"link_key": pl.String, "decision": pl.String, "entity_uscc": pl.String, "reviewer": pl.String,
              "note": pl.String, "decided_at": pl.String}
    if not path.exists():
        return pl.DataFrame(schema=schema)
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if row["decision"] not in DECISIONS:
                raise ValueError(f"decision {row['decision']!r} is not one of {', '.join(DECISIONS)}")
        except (ValueError, KeyError, TypeError) as exc:
            raise LinkageError(f"{path}: line {number}: {exc}") from exc
        rows.append({k: row.get(k) for k in schema})
    return pl.DataFrame(rows, schema=schema)


def record_review(linkage_dir: Path, key: str, decision: str, entity_uscc: str | None, reviewer: str,
                  note: str | None = None) -> dict:
    """Append a person's decision for one link key; the next linkage run applies it."""
    if decision not in DECISIONS:
        raise LinkageError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if decision == "match" and not entity_uscc:
        raise LinkageError("a match needs the registry entity's USCC (--uscc)")
    if decision != "match":
        entity_uscc = None
    row = {"link_key": key, "decision": decision, "entity_uscc": entity_uscc, "reviewer": reviewer,
           "note": note, "decided_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    linkage_dir.mkdir(parents=True, exist_ok=True)
    with (linkage_dir / REVIEWS_FILE).open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return row


@dataclass
class LinkageRun:
    run_id: str | None      # None: the decisions equal the current ones, nothing written
    rows: int               # unresolved landed rows
    keys: int               # distinct (code, name) sent
    decisions: dict[str, int]
    path: Path
    incremental: bool = False   # only landed files the current decisions had not examined were read
    files_read: int = 0         # landed files this run read
    keys_scored: int = 0        # link keys the model scored this run; every other key kept its decision


def decisions_path(landing: Path) -> Path:
    return landing / LINKS_FEED / "decisions.parquet"


def state_path(landing: Path) -> Path:
    # beside the decisions it describes; not *.parquet, so neither engine reads it as decisions
    return landing / LINKS_FEED / STATE_FILE


def _content_hash(frame: pl.DataFrame) -> str:
    body = frame.drop("_run_id").sort(["_file_sha256", "_source_row"]).write_csv()
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def _write_atomically(target: Path, write) -> str:
    """Write through a temporary name and rename; the SHA-256 returned is of the bytes this call wrote."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # a temporary name of its own: two builds of one landing (DuckDB and Spark side by side) may both write it
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    write(tmp)
    digest = _sha256_of(tmp)
    os.replace(tmp, target)
    return digest


def _replace(frame: pl.DataFrame, target: Path) -> str:
    return _write_atomically(target, frame.write_parquet)


def ensure_decisions_file(landing: Path) -> None:
    """The warehouse reads the decisions like a feed: before any linkage run it reads an empty, typed file."""
    if not decisions_path(landing).exists():
        _replace(pl.DataFrame(schema=LINKS_SCHEMA), decisions_path(landing))


def registry_fingerprint(registry: pl.DataFrame) -> str:
    """Equal for equal registry frames, whatever their row order (0.08 s for a province's 995,000 entities).

    polars' row hash is not promised stable across polars versions, so the version is part of the fingerprint:
    an upgrade costs one full run, never a wrong reuse."""
    row_hashes = registry.hash_rows(seed=20161001).sort().to_numpy().tobytes()
    return f"polars-{pl.__version__}:{registry.height}:{hashlib.sha256(row_hashes).hexdigest()}"


def decision_inputs(contracts: dict[str, Contract], linkage_dir: Path, rules: LinkageRules,
                    registry: pl.DataFrame) -> dict:
    """Everything a link_key's decision depends on besides what was sent (JSON-able, compared as a whole)."""
    return {
        "format": STATE_FORMAT,
        "registry": registry_fingerprint(registry),
        "rules": {"version": rules.version, "model": rules.model_file.name,
                  "match_probability": rules.match_probability, "review_probability": rules.review_probability,
                  "min_weight_margin": rules.min_weight_margin, "min_name_level": rules.min_name_level,
                  "name_columns": list(rules.name_columns), "legal_rep_columns": list(rules.legal_rep_columns)},
        "model_sha256": _sha256_of(rules.model_file),
        "reviews_sha256": _sha256_of(linkage_dir / REVIEWS_FILE),
        "feeds": {feed: list(cols) for feed, cols in examined_columns(contracts, rules).items()},
    }


def _reusable_state(landing: Path, inputs: dict, files: list[str]) -> tuple[dict, pl.DataFrame] | None:
    """The state and the current decisions, if those decisions can be extended by the files not examined yet."""
    try:
        state = json.loads(state_path(landing).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        log.warning("%s: unreadable linkage state, running in full", state_path(landing))
        return None
    if not isinstance(state, dict) or state.get("inputs") != inputs:
        return None
    if not set(state.get("files", ())) <= set(files):  # a landed file went away: this is not an append
        return None
    current = _read_current(landing)
    # written after the decisions: a crash between the two, or another build's write, leaves them apart
    if current is None or current[1] != state.get("decisions_sha256"):
        return None
    return state, current[0]


def _read_current(landing: Path) -> tuple[pl.DataFrame, str] | None:
    """The current decisions and the SHA-256 of the very bytes they were read from (another build may replace
    the file at any moment)."""
    try:
        data = decisions_path(landing).read_bytes()
    except FileNotFoundError:
        return None
    return pl.read_parquet(io.BytesIO(data)), hashlib.sha256(data).hexdigest()


def _write_state(landing: Path, inputs: dict, files: list[str], decisions_sha256: str, keys: pl.DataFrame) -> None:
    reps = keys.filter(pl.col("legal_rep_sent").is_not_null())
    state = {"inputs": inputs, "decisions_sha256": decisions_sha256, "files": files,
             # the one key input the decisions file does not carry (code and name it does, on every row)
             "legal_rep_sent": dict(zip(reps["link_key"].to_list(), reps["legal_rep_sent"].to_list()))}
    body = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
    _write_atomically(state_path(landing), lambda tmp: tmp.write_text(body, encoding="utf-8"))


def _with_decisions(rows: pl.DataFrame, keys: pl.DataFrame, registry: pl.DataFrame, rules: LinkageRules,
                    reviews: pl.DataFrame) -> pl.DataFrame:
    """`rows` (lineage, link_key, what was sent) with the decision of their key, scoring the `keys` given."""
    pairs = score(keys, registry, load_model(rules.model_file))
    decided = decide(keys, pairs, registry, rules, reviews)
    return rows.join(decided.drop("code_sent", "name_sent"), on="link_key", how="left")


def _extend(landing: Path, contracts: dict[str, Contract], rules: LinkageRules, registry: pl.DataFrame,
            reviews: pl.DataFrame, state: dict, current: pl.DataFrame, new_files: list[str]
            ) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The current decisions plus the rows of `new_files`: only keys whose inputs are new or changed are scored."""
    new = unresolved_records(landing, contracts, rules, registry, only=new_files)
    prior_reps = pl.DataFrame({"link_key": list(state["legal_rep_sent"]),
                               "legal_rep_sent": list(state["legal_rep_sent"].values())},
                              schema={"link_key": pl.String, "legal_rep_sent": pl.String})
    prior = key_inputs(current.select("link_key", "code_sent", "name_sent")
                       .join(prior_reps, on="link_key", how="left"))
    keys = key_inputs(pl.concat([prior, new.select(prior.columns)], how="vertical_relaxed"))
    changed = keys.join(prior, on=list(keys.columns), how="anti", nulls_equal=True)
    sent = ["_feed", "_file_sha256", "_source_row", "link_key", "code_sent", "name_sent"]
    rows = pl.concat([current.select(sent), new.select(sent)], how="vertical_relaxed")
    kept = (current.unique("link_key").select("link_key", *DECISION_COLUMNS)
            .join(changed, on="link_key", how="anti"))
    rescored = _with_decisions(changed.select("link_key"), changed, registry, rules, reviews)
    per_key = pl.concat([kept, rescored.select("link_key", *DECISION_COLUMNS)], how="vertical_relaxed")
    return rows.join(per_key, on="link_key", how="left"), keys, changed.height


def run_linkage(landing: Path, contracts: dict[str, Contract], linkage_dir: Path,
                on: date | None = None, full: bool = False) -> LinkageRun:
    """Decide every unresolved landed row; replace the current decisions if they changed, keeping each run's.

    The current decisions are one file the warehouse reads (a new run replaces it atomically, so the warehouse
    sees all of one run or all of the previous); every run that changed something is also kept, unchanged, as
    $CREDITWH_HOME/linkage/runs/<run_id>.parquet, the audit trail of who was linked to whom and when.

    Incremental unless `full`: when the registry, rules, model and reviews are those the current decisions were
    taken with (landing/_entity_links/state.json) and landed files were only added, only the new files are read
    and only their new or changed link keys are scored; the outcome equals a full run's (docs/linkage.md).
    """
    on = on or date.today()
    rules = rules_for(on)
    registry = registry_entities(landing)
    reviews = read_reviews(linkage_dir)
    inputs = decision_inputs(contracts, linkage_dir, rules, registry)
    files = landed_files(landing, contracts, rules)
    reusable = None if full else _reusable_state(landing, inputs, files)
    current = decisions_path(landing)
    if reusable is None:
        records = unresolved_records(landing, contracts, rules, registry, only=files)
        keys = key_inputs(records)
        rows = _with_decisions(records, keys, registry, rules, reviews)
        files_read, keys_scored = len(files), keys.height
    else:
        state, previous = reusable
        examined = set(state["files"])
        new_files = [f for f in files if f not in examined]
        rows, keys, keys_scored = _extend(landing, contracts, rules, registry, reviews, state, previous, new_files)
        files_read = len(new_files)
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    out = rows.with_columns(pl.lit(run_id).alias("_run_id")).select(
        [pl.col(c).cast(t) for c, t in LINKS_SCHEMA.items()])
    counts = {d: int(out.filter(pl.col("decision") == d)["link_key"].n_unique()) for d in DECISIONS}
    run = LinkageRun(None, out.height, keys.height, counts, current, incremental=reusable is not None,
                     files_read=files_read, keys_scored=keys_scored)
    if reusable is not None:
        # no new unresolved row: no key gained a row, none changed
        still_current = (previous, state["decisions_sha256"]) if out.height == previous.height else None
    else:
        still_current = _read_current(landing)
        if still_current is not None and _content_hash(still_current[0]) != _content_hash(out):
            still_current = None
    if still_current is not None:
        if reusable is None or files_read:  # the files examined grew, or the state is missing or stale
            _write_state(landing, inputs, files, still_current[1], keys)
        return run
    _replace(out, linkage_dir / "runs" / f"{run_id}.parquet")
    _write_state(landing, inputs, files, _replace(out, current), keys)
    run.run_id = run_id
    return run


def current_decisions(landing: Path) -> pl.DataFrame:
    path = decisions_path(landing)
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=LINKS_SCHEMA)


def estimate_u(registry: pl.DataFrame, model: dict, seed: int = 42, max_pairs: int = 2_000_000) -> dict:
    """A new model whose u probabilities are measured on the registry (chance agreement of two random entities).

    m probabilities — how often a true match agrees at each level — cannot be learned from the registry alone
    (its entities are all different); they are kept from `model`, where they are set by judgement
    (docs/linkage.md). Random pairs of a registry are almost all non-matches, which is what u describes.
    """
    from splink import DuckDBAPI, Linker

    _quiet_splink()
    frame = _comparable(registry, "uscc", "entity_name", "legal_rep_name").with_columns(
        pl.col("code").alias("unique_id"))
    settings = _settings(model, registry.height, with_parameters=False)
    settings.link_type = "dedupe_only"
    api = DuckDBAPI()
    linker = Linker(api.register(frame.to_arrow(), dataset_display_name="registry"), settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    trained = linker.misc.save_model_to_json()
    new = json.loads(json.dumps(model))
    for comp, fitted in zip(new["comparisons"], trained["comparisons"]):
        levels = [lvl for lvl in fitted["comparison_levels"] if not lvl.get("is_null_level")]
        # a level no random pair reached has no u estimate: keep the floor of one chance in max_pairs
        comp["u"] = [round(float(lvl.get("u_probability") or 1.0 / max_pairs), 8) for lvl in levels]
    new["u_estimated"] = {"entities": registry.height, "max_pairs": max_pairs, "seed": seed,
                          "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return new
