"""Methodology what-if: a candidate methodology version beside a base one, read-only.

The credit index SQL is not re-implemented here: the build stores it (model `meta_credit_index_query`, rendered from
the same dbt macros as the index tables) with named parameters, and this module runs it on the published copy for
($as_of, base) and ($as_of, candidate). The candidate's weights, dimensions and bands must be rows of the methodology
seeds in that build (a version with `adopted = false` is a candidate nobody uses yet).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from creditwh.errors import CreditwhError
from creditwh.warehouse import open_read_only

CLASSES = ("A", "B", "C", "D")


class WhatIfError(CreditwhError):
    """The what-if cannot run as asked (unknown version, a warehouse without the stored query)."""


@dataclass
class IndustryChange:
    industry_section: str
    entities: int = 0
    better: int = 0    # candidate class better (closer to A) than the base class
    worse: int = 0

    def to_json(self) -> dict:
        return {"industry_section": self.industry_section, "entities": self.entities, "better": self.better,
                "worse": self.worse, "unchanged": self.entities - self.better - self.worse}


@dataclass
class WhatIfResult:
    as_of: date
    base: str
    candidate: str
    entities: int
    better: int
    worse: int
    base_classes: dict[str, int]
    candidate_classes: dict[str, int]
    transitions: dict[tuple[str, str], int]          # (base class, candidate class) -> entities, changes only
    by_industry: list[IndustryChange] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.entities - self.better - self.worse

    def to_json(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(), "base": self.base, "candidate": self.candidate,
            "entities": self.entities, "better": self.better, "worse": self.worse, "unchanged": self.unchanged,
            "base_classes": self.base_classes, "candidate_classes": self.candidate_classes,
            "transitions": [{"from": f, "to": t, "entities": n} for (f, t), n in sorted(self.transitions.items())],
            "by_industry": [c.to_json() for c in self.by_industry],
        }


def versions(con) -> dict[str, dict]:
    rows = con.execute("select methodology_version, adopted, effective_from, effective_to, description "
                       "from methodology_versions order by methodology_version").fetchall()
    return {r[0]: {"adopted": r[1], "effective_from": r[2], "effective_to": r[3], "description": r[4]} for r in rows}


def run(warehouse: Path, candidate: str, base: str | None = None, as_of: date | None = None) -> WhatIfResult:
    """Class changes from `base` (default: the version of the published index) to `candidate`, as of `as_of`
    (default: the published index's as-of date), by GB/T 4754 industry section."""
    with open_read_only(warehouse) as con:
        known = versions(con)
        published = con.execute("select max(as_of_date), max(methodology_version) from fct_entity_credit_index"
                                ).fetchone()
        base = base or published[1]
        as_of = as_of or published[0]
        if as_of is None or base is None:
            raise WhatIfError(f"{warehouse}: fct_entity_credit_index is empty; give --base and --as-of")
        for role, version in (("candidate", candidate), ("base", base)):
            if version not in known:
                raise WhatIfError(f"unknown {role} methodology version {version!r}: the warehouse {warehouse} knows "
                                  f"{', '.join(sorted(known))} (dbt_project/seeds/methodology_versions.csv)")
        stored = con.execute("select sql_text from meta_credit_index_query where query_name = 'credit_index_scores'"
                             ).fetchone()
        if stored is None:
            raise WhatIfError(f"{warehouse} has no stored credit index query (meta_credit_index_query): rebuild it "
                              "with `creditwh build`")
        scores = f"({stored[0]})"
        rows = con.execute(
            f"""
            with scores as {scores},
            base as (select entity_uscc, risk_class from scores where methodology_version = $base_version),
            candidate as (select entity_uscc, risk_class from scores where methodology_version = $candidate_version),
            sections as (
                select uscc, coalesce(substring(industry_code, 1, 1), 'unknown') as industry_section
                from dim_entity_history
                where valid_from <= cast($as_of as date) and (valid_to is null or cast($as_of as date) < valid_to)
            )
            select coalesce(sections.industry_section, 'unknown'), base.risk_class, candidate.risk_class, count(*)
            from base
            inner join candidate on candidate.entity_uscc = base.entity_uscc
            left join sections on sections.uscc = base.entity_uscc
            group by all
            order by all
            """,
            {"as_of": as_of.isoformat(), "base_version": base, "candidate_version": candidate},
        ).fetchall()

    result = WhatIfResult(as_of=as_of, base=base, candidate=candidate, entities=0, better=0, worse=0,
                          base_classes={c: 0 for c in CLASSES}, candidate_classes={c: 0 for c in CLASSES},
                          transitions={})
    industries: dict[str, IndustryChange] = {}
    for section, before, after, n in rows:
        change = industries.setdefault(section, IndustryChange(section))
        change.entities += n
        result.entities += n
        result.base_classes[before] += n
        result.candidate_classes[after] += n
        if after != before:
            result.transitions[(before, after)] = result.transitions.get((before, after), 0) + n
            if after < before:  # A < B < C < D: a smaller letter is a better class
                change.better += n
                result.better += n
            else:
                change.worse += n
                result.worse += n
    result.by_industry = sorted(industries.values(), key=lambda c: (-(c.better + c.worse), c.industry_section))
    return result
