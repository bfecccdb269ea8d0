"""Design construction: fpc forms, derived weights, nesting and validation.

Source of R output: cran/survey ``tests/fpc.Rout.save`` (``example(fpc)``), in which
every equivalent fpc specification prints ``svymean(~x, withfpc)`` as 5.4481 SE 0.616
and the design without fpc as 5.4481 SE 0.7413 (printed digits; matched to them).
"""


import numpy as np
import pandas as pd
import pytest

from analysis import Design
from analysis import estimate as est
from tests.analysis.reference import load, printed


def fpc_data() -> pd.DataFrame:
    """R's data(fpc) with the sampling fraction nh/Nh added."""
    data = load("fpc")
    data["frac"] = data["nh"] / data["Nh"]
    return data


def test_without_fpc_matches_r():
    """svydesign(weights=~weight, ids=~psuid, strata=~stratid, nest=TRUE): 5.4481 SE 0.7413."""
    d = Design(fpc_data(), ids="psuid", strata="stratid", weights="weight", nest=True)
    row = est.mean(d, "x").iloc[0]
    assert printed(row["estimate"], "5.4481") and printed(row["se"], "0.7413")


@pytest.mark.parametrize("kwargs", [
    {"weights": "weight", "fpc": "Nh"},  # fpc=~Nh with weights
    {"weights": "weight", "fpc": "frac"},  # fpc=~I(nh/Nh)
    {"fpc": "Nh"},  # weights derived from fpc=~Nh
    {"fpc": "frac"},  # weights derived from fpc=~I(nh/Nh)
])
def test_every_fpc_form_matches_r(kwargs):
    """Population sizes and sampling fractions are equivalent fpc forms: 5.4481 SE 0.616."""
    d = Design(fpc_data(), ids="psuid", strata="stratid", nest=True, **kwargs)
    row = est.mean(d, "x").iloc[0]
    assert printed(row["estimate"], "5.4481") and printed(row["se"], "0.616")


def test_weights_derived_from_two_stage_fpc():
    """Without weights, w = (N1/n1) (N2/n2) per row, as svydesign computes from fpc."""
    data = load("apiclus2")
    d = Design(data, ids=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    m = data.groupby("dnum")["snum"].transform("nunique")
    expected = (757 / 40) * data["fpc2"] / m
    assert d.weights == pytest.approx(expected.to_numpy(), rel=1e-12)
    # apiclus2's pw column holds the same weights, rounded
    assert d.weights == pytest.approx(data["pw"].to_numpy(), rel=1e-3)


def test_clusters_shared_across_strata_need_nest():
    """Re-used PSU ids in different strata are an error unless nest=True (NHANES)."""
    data = load("nhanes")
    with pytest.raises(ValueError, match="nest=True"):
        Design(data, ids="SDMVPSU", strata="SDMVSTRA", weights="WTMEC2YR")
    nested = Design(data, ids="SDMVPSU", strata="SDMVSTRA", weights="WTMEC2YR", nest=True)
    # 31 PSUs in 15 strata: R's degf(design) is 16 (Survey.jl r_reference/degf.csv)
    assert nested.stages[0].n_clusters == 31 and nested.degf() == 16


def test_mixed_fpc_forms_are_rejected():
    """fpc must be all population sizes or all fractions, as R's as.fpc requires."""
    data = fpc_data()
    data["mixed"] = np.where(data["stratid"] == 1, data["Nh"], data["frac"])
    with pytest.raises(ValueError, match="all fpc"):
        Design(data, ids="psuid", strata="stratid", nest=True, fpc="mixed")


def test_fpc_varying_within_stratum_is_rejected():
    """The population size must be constant within a stratum."""
    data = fpc_data()
    data.loc[0, "Nh"] = 16
    with pytest.raises(ValueError, match="varies within stratum"):
        Design(data, ids="psuid", strata="stratid", nest=True, fpc="Nh")


def test_missing_weights_are_rejected():
    """Missing design weights are an error, not silently dropped."""
    data = load("apisrs")
    data.loc[3, "pw"] = np.nan
    with pytest.raises(ValueError, match="weights"):
        Design(data, weights="pw")
