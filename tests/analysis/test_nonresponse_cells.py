"""Empty or small non-response adjustment cells are collapsed by the documented rule (#12, item 4)."""

import numpy as np
import pandas as pd
import pytest

from analysis import Design, estimate, weighting


def sample():
    """Two strata, four age cells each; respondents per cell chosen to exercise every branch."""
    resp_counts = {("S1", "a"): 5, ("S1", "b"): 0, ("S1", "c"): 4, ("S1", "d"): 1,
                   ("S2", "a"): 1, ("S2", "b"): 1, ("S2", "c"): 0, ("S2", "d"): 0}
    rows = []
    for (stratum, age), r in resp_counts.items():
        for i in range(6):
            rows.append({"stratum": stratum, "age": age, "resp": i < r, "w": 10.0 + i,
                         "y": float(i + (stratum == "S2"))})
    return pd.DataFrame(rows)


def classes(design):
    table = design.nonresponse_classes
    return {(s, a): int(c) for s, a, c in zip(table["stratum"], table["age"], table["class"], strict=True)}


def test_small_cells_merge_with_the_next_cell_within_the_stratum():
    frame = sample()
    d = Design(frame, strata="stratum", weights="w")
    adj = weighting.nonresponse_adjust(d, "age", "resp", min_respondents=3, within="stratum")
    k = classes(adj)
    # S1: a (5) alone; b (0) + c (4) pooled; d (1) is left over and joins the previous class
    assert k[("S1", "a")] != k[("S1", "b")]
    assert k[("S1", "b")] == k[("S1", "c")] == k[("S1", "d")]
    # S2 holds 2 respondents in all: one class, flagged small, never merged with S1
    assert len({k[("S2", a)] for a in "abcd"}) == 1
    assert k[("S2", "a")] not in {k[("S1", a)] for a in "abcd"}
    table = adj.nonresponse_classes.set_index(["stratum", "age"])
    assert table.loc[("S2", "a"), "small"] and not table.loc[("S1", "a"), "small"]
    assert table.loc[("S1", "b"), "collapsed"] and not table.loc[("S1", "a"), "collapsed"]
    # each class keeps its weight total; non-respondents get zero
    klass = np.array([k[(s, a)] for s, a in zip(frame["stratum"], frame["age"], strict=True)])
    before = np.bincount(klass, weights=d.weights)
    after = np.bincount(klass, weights=adj.weights)
    assert after == pytest.approx(before, rel=1e-13)
    assert (adj.weights[~frame["resp"].to_numpy()] == 0).all()


def test_without_collapsing_an_empty_cell_is_still_an_error():
    d = Design(sample(), strata="stratum", weights="w")
    with pytest.raises(ValueError, match="no respondents"):
        weighting.nonresponse_adjust(d, ["stratum", "age"], "resp")


def test_a_stratum_without_respondents_is_reported_not_covered():
    frame = sample()
    frame.loc[frame["stratum"] == "S2", "resp"] = False
    d = Design(frame, strata="stratum", weights="w")
    adj = weighting.nonresponse_adjust(d, "age", "resp", min_respondents=2, within="stratum")
    table = adj.nonresponse_classes
    assert set(table.loc[~table["covered"], "stratum"]) == {"S2"}
    assert (adj.weights[frame["stratum"].to_numpy() == "S2"] == 0).all()
    # the estimate describes S1 alone: the same as adjusting S1 by itself
    s1 = frame[frame["stratum"] == "S1"]
    alone = weighting.nonresponse_adjust(Design(s1, strata="stratum", weights="w"), "age", "resp",
                                         min_respondents=2, within="stratum")
    assert estimate.mean(adj, "y")["estimate"].iloc[0] == pytest.approx(
        estimate.mean(alone, "y")["estimate"].iloc[0], rel=1e-13)


def test_cells_with_enough_respondents_are_left_alone():
    frame = sample()
    frame["resp"] = True
    d = Design(frame, strata="stratum", weights="w")
    adj = weighting.nonresponse_adjust(d, "age", "resp", min_respondents=3, within="stratum")
    assert not adj.nonresponse_classes["collapsed"].any()
    assert adj.weights == pytest.approx(d.weights, rel=1e-14)
