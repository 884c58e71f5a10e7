"""The market entities of the city: one polars frame, the registry rows first, then a small phantom pool.

Phantoms are complete, valid entities that never reach the registry file; the unknown_entity defect swaps one of
them in as the subject of a feed record. Generating them together with the real ones keeps USCCs and names unique
across both.

Every entity also carries a latent `risk` weight (log-normal). Feed builders draw their subjects in proportion to it,
so penalties, list entries, court records and bad grades cluster on the same entities, as they do in real data,
and the credit index downstream has a signal to find.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from . import vocab
from .common import chars, date_str, days, pick, weighted_index, amount_str
from .identifiers import USCC_ALPHABET, build_uscc, mod_11_10_check_bytes, random_chars, rows_to_str

ENTERPRISE, SOLE_TRADER, COOPERATIVE = 0, 1, 2
ENTITY_TYPE_NAMES = ["企业", "个体工商户", "农民专业合作社"]
KIND_SHARES = [0.35, 0.60, 0.05]
USCC_PREFIX = [b"91", b"92", b"93"]

# Old-style 15-digit registration numbers stopped being issued when USCCs became universal.
REGNO_CUTOFF = date(2016, 10, 1)
# Before the USCC reform organisation codes were 8 digits; MA-prefixed bodies are the market-regulation range.
LEGACY_ORG_CODE_CUTOFF = date(2015, 10, 1)


def phantom_pool_size(n: int) -> int:
    return max(50, n // 50)


def _unique_fill(make, n: int, rng: np.random.Generator, max_rounds: int = 40) -> pl.Series:
    """Draw n values with make(rng, idx, round) and redraw the repeats until all are distinct.

    make receives the positions to (re)draw and the round number, so later rounds can widen the space
    (e.g. three-char trade names instead of two).
    """
    values = make(rng, np.arange(n), 0)
    for rnd in range(1, max_rounds):
        dup = (~values.is_first_distinct()).to_numpy()
        if not dup.any():
            return values
        pos = np.flatnonzero(dup)
        values = values.scatter(pos, make(rng, pos, rnd))
    raise RuntimeError("could not make values unique; name space too small for this scale")


def _person_names(rng: np.random.Generator, n: int) -> pl.Series:
    surnames = [s for s, _ in vocab.SURNAMES]
    sur = pick(surnames, weighted_index(rng, [w for _, w in vocab.SURNAMES], n))
    g1, g2 = chars(vocab.GIVEN_CHARS, rng, n), chars(vocab.GIVEN_CHARS, rng, n)
    two = pl.Series(rng.random(n) < 0.7)
    return pl.DataFrame({"s": sur, "a": g1, "b": g2, "two": two}).select(
        pl.when("two").then(pl.col("s") + pl.col("a") + pl.col("b")).otherwise(pl.col("s") + pl.col("a"))
    ).to_series()


def _brand(rng: np.random.Generator, n: int, three: np.ndarray) -> pl.Series:
    a, b, c = (chars(vocab.BRAND_CHARS, rng, n) for _ in range(3))
    return pl.DataFrame({"a": a, "b": b, "c": c, "t": pl.Series(three)}).select(
        pl.when("t").then(pl.col("a") + pl.col("b") + pl.col("c")).otherwise(pl.col("a") + pl.col("b"))
    ).to_series()


def _names(rng, kind, district, ent_word, shop_word, coop_word) -> pl.Series:
    """Unique entity names by type: 泰安市<字号><行业>有限公司 / <区县><字号><店> / <区县><字号><产品>专业合作社."""
    district_names = [d[1] for d in vocab.DISTRICTS]
    suffixes = [s for s, _ in vocab.ENTERPRISE_SUFFIXES]
    suffix_w = [w for _, w in vocab.ENTERPRISE_SUFFIXES]
    surnames = [s for s, _ in vocab.SURNAMES]

    def make(r: np.random.Generator, idx: np.ndarray, rnd: int) -> pl.Series:
        m = len(idx)
        three = r.random(m) < (0.35 if rnd == 0 else 1.0)  # repeats get the bigger three-char space
        brand = _brand(r, m, three)
        # sole traders: a trade name, 张记 / 老王 style, or the owner's full name
        style = r.random(m) if rnd == 0 else np.zeros(m)
        sur = pick(surnames, r.integers(0, len(surnames), m))
        person = _person_names(r, m)
        trade = pl.DataFrame({"b": brand, "s": sur, "p": person, "y": pl.Series(style)}).select(
            pl.when(pl.col("y") < 0.55).then(pl.col("b"))
            .when(pl.col("y") < 0.70).then(pl.col("s") + "记")
            .when(pl.col("y") < 0.80).then("老" + pl.col("s"))
            .otherwise(pl.col("p"))
        ).to_series()
        frame = pl.DataFrame({
            "k": pl.Series(kind[idx]),
            "d": pick(district_names, district[idx]),
            "brand": brand, "trade": trade,
            "ew": ent_word.gather(idx), "sw": shop_word.gather(idx), "cw": coop_word.gather(idx),
            "suf": pick(suffixes, weighted_index(r, suffix_w, m)),
        })
        return frame.select(
            pl.when(pl.col("k") == ENTERPRISE).then(vocab.CITY_NAME + pl.col("brand") + pl.col("ew") + pl.col("suf"))
            .when(pl.col("k") == SOLE_TRADER).then(pl.col("d") + pl.col("trade") + pl.col("sw"))
            .otherwise(pl.col("d") + pl.col("brand") + pl.col("cw") + "专业合作社")
        ).to_series()

    return _unique_fill(make, len(kind), rng)


def _industries(rng, kind):
    """Industry code and the word used in the name, by entity type."""
    n = len(kind)
    code = np.empty(n, dtype=object)
    ent_word = pl.Series([""] * n)
    shop_word = pl.Series([""] * n)
    coop_word = pl.Series([""] * n)
    for k, table in ((ENTERPRISE, vocab.ENTERPRISE_INDUSTRIES), (SOLE_TRADER, vocab.SOLE_TRADER_INDUSTRIES)):
        pos = np.flatnonzero(kind == k)
        ind = weighted_index(rng, [w for _, w, _ in table], len(pos))
        code[pos] = np.array([c for c, _, _ in table], dtype=object)[ind]
        # flatten (industry, word) pairs so one gather picks a word of the right industry
        flat = [(i, w) for i, (_, _, words) in enumerate(table) for w in words]
        starts = np.cumsum([0] + [len(words) for _, _, words in table])[:-1]
        counts = np.array([len(words) for _, _, words in table])
        word_idx = starts[ind] + (rng.random(len(pos)) * counts[ind]).astype(int)
        words = pick([w for _, w in flat], word_idx)
        target = ent_word if k == ENTERPRISE else shop_word
        target.scatter(pos, words)
    pos = np.flatnonzero(kind == COOPERATIVE)
    ind = weighted_index(rng, [w for _, _, w in vocab.COOPERATIVE_PRODUCTS], len(pos))
    code[pos] = np.array([c for _, c, _ in vocab.COOPERATIVE_PRODUCTS], dtype=object)[ind]
    coop_word.scatter(pos, pick([p for p, _, _ in vocab.COOPERATIVE_PRODUCTS], ind))
    return pl.Series(code.tolist(), dtype=pl.String), ent_word, shop_word, coop_word


def _established(rng, kind, ref_day: int) -> np.ndarray:
    """Establishment dates 1995 .. reference, skewed to recent years (sole traders most of all)."""
    n = len(kind)
    start = np.where(kind == COOPERATIVE, days(date(2007, 7, 1)), days(date(1995, 1, 1)))
    skew = np.choose(kind, [0.75, 0.5, 0.9])  # u**skew with skew < 1 pushes dates towards the reference date
    u = rng.random(n) ** skew
    return (start + np.floor(u * (ref_day - start))).astype(np.int64)


def _status(rng, kind, est, ref_day) -> pl.Series:
    n = len(kind)
    age_years = (ref_day - est) / 365.25
    u = rng.random(n)
    p_dereg = np.minimum(0.02 + 0.005 * age_years, 0.2) * np.where(kind == SOLE_TRADER, 1.3, 1.0)
    p_revoked = np.where(age_years > 3, 0.03, 0.0)
    p_moved = np.where(kind == ENTERPRISE, 0.005, 0.0)
    status = np.where(u < p_dereg, "注销",
             np.where(u < p_dereg + p_revoked, "吊销",
             np.where(u < p_dereg + p_revoked + p_moved, "迁出",
             np.where(rng.random(n) < 0.05, "在业", "存续"))))
    return pl.Series(status.tolist(), dtype=pl.String)


def _capital(rng, kind) -> pl.Series:
    """Registered capital in 万元: enterprises 10-5000 (round figures), sole traders small or empty."""
    n = len(kind)
    ent = np.exp(rng.uniform(np.log(10), np.log(5000), n))
    ent = np.where(ent < 100, np.round(ent), np.round(ent / 10) * 10)
    sole_choices = np.array([0.5, 1, 2, 3, 5, 8, 10, 20, 30, 50])
    sole = np.where(rng.random(n) < 0.6, np.nan, sole_choices[rng.integers(0, len(sole_choices), n)])
    coop = np.round(np.exp(rng.uniform(np.log(10), np.log(500), n)))
    return amount_str(np.choose(kind, [ent, sole, coop]))


def _usccs(rng, kind, reg_div, est, legacy_org_day) -> pl.Series:
    n = len(kind)
    prefix = np.frombuffer(b"".join(USCC_PREFIX), dtype=np.uint8).reshape(3, 2)[kind]
    div = np.frombuffer("".join(reg_div).encode(), dtype=np.uint8).reshape(n, 6)

    def make(r: np.random.Generator, idx: np.ndarray, rnd: int) -> pl.Series:
        m = len(idx)
        body = np.empty((m, 8), dtype=np.uint8)
        legacy = est[idx] < legacy_org_day
        # post-reform market-regulation bodies: MA + 6 chars of the USCC alphabet
        body[:, 0:2] = np.frombuffer(b"MA", dtype=np.uint8)
        body[:, 2:] = random_chars(r, m, 6, USCC_ALPHABET.encode())
        # pre-reform: 8-digit organisation codes; sole traders got L-prefixed bodies when codes were assigned
        old = random_chars(r, m, 8, b"0123456789")
        old[:, 0] = np.where(kind[idx] == SOLE_TRADER, ord("L"), old[:, 0])
        body[legacy] = old[legacy]
        return pl.Series(rows_to_str(build_uscc(prefix[idx], div[idx], body)))

    return _unique_fill(make, n, rng)


def _regnos(rng, kind, reg_div, has_regno) -> pl.Series:
    """15-digit registration numbers: division + type digit (0 companies, 6 individuals) + 7 digits + check."""
    n = len(kind)
    div = np.frombuffer("".join(reg_div).encode(), dtype=np.uint8).reshape(n, 6)

    def make(r: np.random.Generator, idx: np.ndarray, rnd: int) -> pl.Series:
        m = len(idx)
        digits = np.empty((m, 14), dtype=np.uint8)
        digits[:, :6] = div[idx]
        digits[:, 6] = np.where(kind[idx] == SOLE_TRADER, ord("6"), ord("0"))
        digits[:, 7:] = random_chars(r, m, 7, b"0123456789")
        full = np.column_stack([digits, mod_11_10_check_bytes(digits)])
        return pl.Series(rows_to_str(full))

    values = _unique_fill(make, n, rng)
    return pl.Series(np.where(has_regno, values.to_numpy(), None).tolist(), dtype=pl.String)


def build_entities(rng: np.random.Generator, n_registry: int, reference_date: date) -> pl.DataFrame:
    """All entities: rows [0, n_registry) go to the registry, the rest form the phantom pool."""
    n = n_registry + phantom_pool_size(n_registry)
    ref_day = days(reference_date)
    kind = weighted_index(rng, KIND_SHARES, n).astype(np.int64)
    district = weighted_index(rng, [w for _, _, w in vocab.DISTRICTS], n)
    district_codes = np.array([c for c, _, _ in vocab.DISTRICTS], dtype=object)
    # enterprises are often registered by the city bureau, the rest by their district's bureau
    city_registered = (kind == ENTERPRISE) & (rng.random(n) < 0.3)
    reg_div = np.where(city_registered, vocab.CITY_CODE, district_codes[district]).tolist()

    est = _established(rng, kind, ref_day)
    industry, ent_word, shop_word, coop_word = _industries(rng, kind)
    names = _names(rng, kind, district, ent_word, shop_word, coop_word)
    uscc = _usccs(rng, kind, reg_div, est, days(LEGACY_ORG_CODE_CUTOFF))
    regno = _regnos(rng, kind, reg_div, est < days(REGNO_CUTOFF))
    status = _status(rng, kind, est, ref_day)

    roads = pick(vocab.ROADS, rng.integers(0, len(vocab.ROADS), n))
    number = pl.Series(rng.integers(1, 999, n)).cast(pl.String)
    room = pl.Series(rng.integers(101, 2400, n)).cast(pl.String)
    has_room = pl.Series((kind == ENTERPRISE) & (rng.random(n) < 0.4))
    district_names = pick([d[1] for d in vocab.DISTRICTS], district)
    address = pl.DataFrame({"d": district_names, "r": roads, "n": number, "m": room, "h": has_room}).select(
        pl.concat_str([pl.lit(vocab.PROVINCE_NAME + vocab.CITY_NAME), "d", "r", "n", pl.lit("号"),
                       pl.when("h").then(pl.lit("") + pl.col("m") + "室").otherwise(pl.lit(""))])
    ).to_series()

    in_park = rng.random(n) < 0.10
    park_idx = rng.integers(0, len(vocab.PARKS), n)
    park = pl.Series(np.where(in_park, np.array(vocab.PARKS, dtype=object)[park_idx], None).tolist(),
                     dtype=pl.String)

    risk = rng.lognormal(0.0, 0.9, n) * np.where(kind == SOLE_TRADER, 0.8, 1.0)
    risk = risk * np.where(status.is_in(["注销", "吊销"]).to_numpy(), 1.6, 1.0)

    return pl.DataFrame({
        "kind": pl.Series(kind, dtype=pl.Int8),
        "entity_type": pick(ENTITY_TYPE_NAMES, kind),
        "uscc": uscc,
        "registration_no": regno,
        "entity_name": names,
        "legal_rep_name": _person_names(rng, n),
        "registered_capital_wan": _capital(rng, kind),
        "est_day": pl.Series(est, dtype=pl.Int64),
        "established_date": date_str(est),
        "status": status,
        "industry_code": industry,
        "district": pl.Series(district, dtype=pl.Int8),
        "division_code": pl.Series(district_codes[district].tolist(), dtype=pl.String),
        "address": address,
        "park": park,
        "risk": pl.Series(risk),
        "phantom": pl.Series(np.arange(n) >= n_registry),
    })
