"""Synthetic department feeds of a fictional prefecture-level city (泰安市, 370900), with planted defects.

    from synthetic import generate, SCALES, DEFAULT_DEFECT_RATES
    manifest = generate("tiny", seed=1, out_dir=Path("inbox"))

Writes out_dir/<feed_id>/<files> exactly in each ingestion contract's format, out_dir/_ground_truth.parquet
(one row per planted defect) and out_dir/_manifest.json. Scales: synthetic/scales.yaml; default defect rates:
synthetic/defects.yaml.
"""
from .config import DEFAULT_DEFECT_RATES, DEFECTS, SCALES
from .generator import GROUND_TRUTH, MANIFEST, generate

__all__ = ["generate", "SCALES", "DEFAULT_DEFECT_RATES", "DEFECTS", "GROUND_TRUTH", "MANIFEST"]
