"""Strata with a single PSU, against R survey ``tests/lonely.psu.Rout.save``.

Source: cran/survey ``tests/lonely.psu.Rout.save``; the design is
``svydesign(id = ~1, weights = ~pw, strata = ~dnum, data = apiclus1)`` in which
district 413 has one school.  R prints SEs to 5 significant digits; matched to that.
"""


import numpy as np
import pytest

from analysis import Design
from analysis import estimate as est
from tests.analysis.reference import load, printed


def test_fail_names_the_stratum():
    """options(survey.lonely.psu="fail"): 'Stratum (413) has only one PSU at stage 1'."""
    d = Design(load("apiclus1"), strata="dnum", weights="pw", singleton="fail")
    with pytest.raises(ValueError, match=r"Stratum \(413\) has only one PSU at stage 1"):
        est.mean(d, "api00")


def test_certainty_gives_zero_variance_to_the_lonely_psu():
    """options(survey.lonely.psu="certainty"): svymean(~api00, ds) 644.17 SE 5.8058."""
    d = Design(load("apiclus1"), strata="dnum", weights="pw", singleton="certainty")
    row = est.mean(d, "api00").iloc[0]
    assert printed(row["estimate"], "644.17") and printed(row["se"], "5.8058")


def test_centre_matches_r_adjust():
    """options(survey.lonely.psu="adjust"): svymean(~api00, ds) 644.17 SE 5.8281."""
    d = Design(load("apiclus1"), strata="dnum", weights="pw", singleton="centre")
    row = est.mean(d, "api00").iloc[0]
    assert printed(row["estimate"], "644.17") and printed(row["se"], "5.8281")


def test_adjust_is_accepted_as_an_alias_of_centre():
    """singleton='adjust' (R's name) behaves as 'centre'."""
    data = load("apiclus1")
    a = est.mean(Design(data, strata="dnum", weights="pw", singleton="adjust"), "api00")
    c = est.mean(Design(data, strata="dnum", weights="pw", singleton="centre"), "api00")
    assert a["se"].iloc[0] == c["se"].iloc[0]


def test_self_representing_singleton_needs_no_option():
    """fpc = 1 for the lonely stratum makes it certain: SE 5.7344 even with 'fail'."""
    data = load("apiclus1")
    data["f"] = np.where(data["dnum"] == 413, 1, 1000)
    # svydesign(id=~1, weights=~pw, strata=~dnum, data=apiclus1, fpc=fpc)
    row = est.mean(Design(data, strata="dnum", weights="pw", fpc="f"), "api00").iloc[0]
    assert printed(row["se"], "5.7344")


def test_singleton_inside_a_domain_uses_design_psu_count():
    """A domain leaving one PSU in a stratum is not lonely by design: 645.14 SE 5.8909."""
    data = load("apiclus1")
    data = data[data["dnum"] != 413].reset_index(drop=True)
    data["keep"] = np.arange(len(data)) != 30  # ds1 <- ds[-31, ]
    d = Design(data, strata="dnum", weights="pw", singleton="fail")
    row = est.mean(d, "api00", by="keep").set_index("keep").loc[True]
    assert printed(row["estimate"], "645.14") and printed(row["se"], "5.8909")


def test_unknown_singleton_option_is_rejected():
    """Only fail, certainty and centre (or R's adjust) are accepted."""
    with pytest.raises(ValueError, match="singleton"):
        Design(load("apiclus1"), strata="dnum", weights="pw", singleton="remove")
