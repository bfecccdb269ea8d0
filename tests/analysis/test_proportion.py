"""Proportions with logit, t and normal intervals (R's svyciprop).

Source: samplics test suite ``tests/estimation/test_expansion.py``
(samplics-org/samplics commit 15615bae), whose expected values come from R's
survey package (``tests/estimation/expansion.R``: ``svymean(..., na.rm=TRUE)`` and
``svyciprop(~qn8, yrbs_design, method="lo")``) on the YRBS extract with the rows
missing ``qn8`` removed before ``svydesign``; ``qn8`` recoded 1 = yes, 0 = no.
Values are recorded to 7 significant digits and matched to that.
"""

import pathlib

import numpy as np
import pandas as pd
import pytest

from analysis import Design
from analysis import estimate as est

DATA = pathlib.Path(__file__).parent / "data"


def yrbs() -> pd.DataFrame:
    """YRBS complete cases with y = 1 for qn8 == 1 and 0 for qn8 == 2."""
    data = pd.read_csv(DATA / "yrbs.csv").dropna(subset=["qn8"]).reset_index(drop=True)
    data["y"] = (data["qn8"] == 1).astype(float)
    return data


# svydesign(id=~psu, strata=~stratum, weights=~weight, data=yrbs)
STRAT = Design(yrbs(), ids="psu", strata="stratum", weights="weight")
# svydesign(id=~psu, weights=~weight, data=yrbs)
CLUS = Design(yrbs(), ids="psu", weights="weight")


def test_logit_interval_matches_r_svyciprop():
    """svyciprop(method="logit"): expit(logit p +/- t_df se/(p(1-p))), df = degf."""
    out = est.proportion(STRAT, "y", ci="logit").set_index("level")
    # svymean(~y): 0.8136225 SE 0.0198621; svyciprop lo: (0.7700845, 0.8505163)
    assert out.loc[1.0, ["estimate", "se"]].tolist() == pytest.approx([0.8136225, 0.0198621],
                                                                      abs=5e-8)
    assert out.loc[1.0, ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [0.7700845, 0.8505163], abs=5e-8)
    assert out.loc[0.0, ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [0.1494837, 0.2299155], abs=5e-8)


def test_logit_interval_unstratified_matches_r():
    """Cluster-only design: SE 0.0202856, logit interval (0.7694414, 0.850977)."""
    out = est.proportion(CLUS, "y").set_index("level").loc[1.0]
    assert out["se"] == pytest.approx(0.0202856, abs=5e-8)
    assert [out["ci_low"], out["ci_high"]] == pytest.approx([0.7694414, 0.850977], abs=5e-8)


def test_t_interval_matches_r_confint():
    """ci="t" is p +/- t_df se: (0.7734476, 0.8537974) for the stratified design."""
    out = est.proportion(STRAT, "y", ci="t").set_index("level").loc[1.0]
    assert [out["ci_low"], out["ci_high"]] == pytest.approx([0.7734476, 0.8537974], abs=5e-8)


def test_normal_interval_uses_the_normal_quantile():
    """ci="normal" is p +/- 1.959964 se."""
    out = est.proportion(STRAT, "y", ci="normal").set_index("level").loc[1.0]
    half = 1.959963984540054 * out["se"]
    assert out["ci_high"] - out["estimate"] == pytest.approx(half, rel=1e-12)
    assert out["estimate"] - out["ci_low"] == pytest.approx(half, rel=1e-12)


def test_logit_interval_is_asymmetric_and_inside_unit_interval():
    """As svyciprop's own test checks, the logit interval is skewed away from 0 and 1."""
    out = est.proportion(STRAT, "y").set_index("level").loc[0.0]
    assert out["estimate"] - out["ci_low"] < out["ci_high"] - out["estimate"]
    assert 0 < out["ci_low"] < out["ci_high"] < 1


def test_proportions_by_domain_sum_to_one():
    """Within each domain the level proportions add up to one."""
    data = yrbs()
    data["half"] = np.where(np.arange(len(data)) % 2 == 0, "a", "b")
    d = Design(data, ids="psu", strata="stratum", weights="weight")
    out = est.proportion(d, "y", by="half")
    assert out.groupby("half")["estimate"].sum().tolist() == pytest.approx([1.0, 1.0])


def test_unknown_interval_method_is_rejected():
    """Only logit, xlogit, t and normal intervals are offered."""
    with pytest.raises(ValueError, match="ci must be"):
        est.proportion(STRAT, "y", ci="wilson")
