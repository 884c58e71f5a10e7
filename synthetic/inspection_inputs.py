"""Inspection tasks and inspector rosters of the synthetic city, as its departments would send them for a
double-random draw (`creditwh inspections plan`). Not a feed: no contract, nothing in the inbox is changed.

Several departments' tasks hit the same industries (catering, construction, training, chemicals, …), so a plan
merges them into joint inspections (一业一查). Some inspectors declare conflicts with entities of the city's
registry (same seed as `creditwh generate`), so recusal has something to do.

    python -m synthetic.inspection_inputs OUT_DIR [--scale city] [--seed 42]   -> OUT_DIR/tasks.csv, rosters.csv
"""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np

from . import vocab
from .config import SCALES

# (task_id, department, items, industry code prefixes, base ratio)
TASKS = [
    ("SJ2026-MR-01", "market_regulation", "食品经营许可条件;食品安全管理制度", "H62;F52", 0.03),
    ("SJ2026-MR-02", "market_regulation", "企业公示信息;登记事项", "C;E47;F51;K70;L72;M75", 0.03),
    ("SJ2026-MR-03", "market_regulation", "特种设备使用登记", "C33;C34", 0.05),
    ("SJ2026-PS-01", "public_security", "旅馆业治安管理;消防安全", "H61;H62", 0.03),
    ("SJ2026-HC-01", "housing_construction", "施工许可;安全生产;农民工工资专户", "E47;K70", 0.05),
    ("SJ2026-EE-01", "ecology_environment", "排污许可;危险废物管理", "C26;C30", 0.05),
    ("SJ2026-ED-01", "education", "办学许可;收费公示", "P83", 0.10),
    ("SJ2026-MP-01", "medical_products", "药品医疗器械经营质量管理", "Q84;F525", 0.05),
    ("SJ2026-SE-01", "special_equipment", "特种设备定期检验", "C33;C34;E47", 0.03),
]
INSPECTORS_PER_DEPARTMENT = {"market_regulation": 24, "public_security": 10, "housing_construction": 8,
                             "ecology_environment": 6, "education": 5, "medical_products": 6, "special_equipment": 6}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def write_inspection_inputs(out_dir: Path, scale: str = "tiny", seed: int = 42,
                            reference_date: date = date(2026, 11, 20)) -> tuple[Path, Path]:
    from .generator import _ENTITIES, _stream
    from .entities import build_entities

    n = int(SCALES[scale]["entities"])
    entities = build_entities(_stream(seed, _ENTITIES), n, reference_date).head(n)
    rng = np.random.default_rng([int(seed), 91])  # its own stream: the feeds' streams are untouched
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    tasks = out_dir / "tasks.csv"
    with open(tasks, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["task_id", "department", "items", "industry_codes", "division_codes", "base_ratio"])
        for task_id, department, items, codes, ratio in TASKS:
            w.writerow([task_id, department, items, codes, "", ratio])

    districts = [d for d, _, _ in vocab.DISTRICTS]
    usccs = entities["uscc"].to_numpy().astype(str)
    rosters = out_dir / "rosters.csv"
    with open(rosters, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["department", "inspector_id", "inspector_name", "division_code", "conflict_usccs"])
        for d_no, (department, size) in enumerate(INSPECTORS_PER_DEPARTMENT.items(), start=1):
            for i in range(1, size + 1):
                name = SURNAMES[rng.integers(len(SURNAMES))] + "".join(
                    GIVEN[k] for k in rng.integers(len(GIVEN), size=rng.integers(1, 3)))
                # about one inspector in five declares one to three entities (former employer, relatives)
                conflicts = rng.choice(usccs, size=rng.integers(1, 4), replace=False) if rng.random() < 0.2 else []
                w.writerow([department, f"ZF{d_no:02d}{i:04d}", name, districts[rng.integers(len(districts))],
                            ";".join(conflicts)])
    return tasks, rosters


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--scale", choices=sorted(SCALES), default="city")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    for path in write_inspection_inputs(args.out_dir, args.scale, args.seed):
        print(path)
