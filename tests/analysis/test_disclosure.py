"""Small cells are not published: estimates resting on too few answers are blanked."""

import math

import pandas as pd

from analysis.outputs import suppress_small_cells
from analysis.quality import QualityPolicy


def table() -> pd.DataFrame:
    """Three units with 2, 3 and 40 valid answers, and the pooled row."""
    return pd.DataFrame({
        "unit": ["A", "B", "C", "ALL"], "n_valid": [2, 3, 40, 45],
        "estimate": [100.0, 66.7, 80.0, 80.5], "se": [0.0, 27.2, 6.3, 5.9],
        "ci_low": [100.0, 0.0, 67.2, 68.6], "ci_high": [100.0, 100.0, 92.8, 92.4]})


def test_units_below_the_threshold_are_blanked_and_flagged():
    """A unit with 2 answers loses its numbers (not its row); 3 answers and the pooled row stay."""
    out = suppress_small_cells(table(), 3)
    assert out["suppressed"].tolist() == [True, False, False, False]
    assert all(math.isnan(out.loc[0, c]) for c in ("estimate", "se", "ci_low", "ci_high"))
    assert out.loc[1, "estimate"] == 66.7 and out.loc[3, "estimate"] == 80.5
    assert out.loc[0, "n_valid"] == 2


def test_threshold_is_part_of_the_recorded_policy():
    """The threshold is recorded with the quality policy (policy.json, the audit log)."""
    assert QualityPolicy().to_dict()["min_responses"] == 3
