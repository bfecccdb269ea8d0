"""Rankings: Holm-adjusted pairwise tests, joint confidence sets for ranks, units that cannot be ranked."""

import numpy as np
import pandas as pd
import pytest

from analysis.ranking import CANNOT_RANK, rank_ranges, rank_units


def test_a_unit_never_counts_against_itself_and_ranges_are_ordered():
    """One unit alone: rank 1, range 1–1 (not '2–0'); a unit at 100% with SE 0 included."""
    one = rank_units(pd.DataFrame({"unit": ["u1"], "estimate": [100.0], "se": [0.0], "df": [5],
                                   "ci_low": [90.0]})).iloc[0]
    assert (one["rank"], one["rank_best"], one["rank_worst"]) == (1, 1, 1)
    assert (one["joint_rank_best"], one["joint_rank_worst"]) == (1, 1)
    t = pd.DataFrame({"unit": list("abcd"), "estimate": [100.0, 90.0, 90.0, 50.0], "se": [0.0, 3.0, 3.0, 5.0],
                      "df": [10, 10, 10, 10], "ci_low": [95.0, 80.0, 80.0, 40.0]})
    ranked = rank_units(t)
    assert (ranked["rank_best"] <= ranked["rank"]).all() and (ranked["rank"] <= ranked["rank_worst"]).all()
    assert (ranked["joint_rank_best"] <= ranked["rank"]).all()
    assert (ranked["rank"] <= ranked["joint_rank_worst"]).all()
    assert ranked.set_index("unit").loc["b", "rank"] == 2 and ranked.set_index("unit").loc["c", "rank"] == 2


def test_unit_without_an_interval_cannot_be_ranked():
    """No SE, no interval or no df: listed last as 'cannot be ranked', not as 'overlaps nobody'."""
    t = pd.DataFrame({"unit": ["a", "b", "c", "d"], "estimate": [70.0, 95.0, 80.0, 60.0],
                      "se": [3.0, np.nan, 2.0, 4.0], "df": [12, 0, 0, 12],
                      "ci_low": [64.0, np.nan, 75.0, 52.0]})
    ranked = rank_units(t)
    assert ranked["unit"].tolist()[:2] == ["a", "d"]
    blocked = ranked.set_index("unit").loc[["b", "c"]]
    assert not blocked["rankable"].any() and (blocked["ranking_note"] == CANNOT_RANK).all()
    assert blocked["rank"].isna().all() and blocked["rank_best"].isna().all()
    assert ranked.set_index("unit").loc["a", "rank_worst"] == 2  # only rankable units count


def test_holm_finds_more_than_disjoint_intervals_and_rank_sets_are_joint():
    """Overlapping 95% intervals can still differ at 5%; the joint rank sets are wider than Holm's."""
    est = {"a": 90.0, "b": 85.0, "c": 80.0}
    se = {"a": 1.5, "b": 1.5, "c": 1.5}
    got = rank_ranges(est, se)
    # a: 87.1–92.9 and b: 82.1–87.9 overlap, yet z = 5 / 2.12 = 2.36 (p = 0.018 < 0.05 / 2 under Holm)
    assert (got["a"]["rank_best"], got["a"]["rank_worst"]) == (1, 1)
    assert got["b"]["not_different_from"] == [] and (got["b"]["rank_best"], got["b"]["rank_worst"]) == (2, 2)
    for code in est:
        assert got[code]["joint_rank_best"] <= got[code]["rank_best"]
        assert got[code]["joint_rank_worst"] >= got[code]["rank_worst"]


def test_rank_sets_cover_jointly_in_simulation():
    """Ten units, estimates drawn around true values: all true ranks inside the joint sets >= 95%."""
    rng = np.random.default_rng(3)
    truth = np.linspace(70, 90, 10)
    true_rank = {f"u{i}": int((truth > truth[i]).sum()) + 1 for i in range(10)}
    hits = 0
    reps = 300
    for _ in range(reps):
        draw = truth + rng.normal(0, 2.0, 10)
        got = rank_ranges({f"u{i}": draw[i] for i in range(10)}, {f"u{i}": 2.0 for i in range(10)})
        hits += all(got[u]["joint_rank_best"] <= true_rank[u] <= got[u]["joint_rank_worst"] for u in got)
    assert hits / reps >= 0.93


def test_one_row_per_unit_required():
    """Duplicate units are refused."""
    with pytest.raises(ValueError, match="one row per unit"):
        rank_units(pd.DataFrame({"unit": ["a", "a"], "estimate": [1.0, 2.0], "se": [1.0, 1.0]}))
