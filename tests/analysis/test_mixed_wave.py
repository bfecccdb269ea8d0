"""Mixed waves: sampled responses weighted, walk-ins (no stratum) reported apart, unweighted."""

import pandas as pd
import pytest

from analysis.report import write_report
from analysis.weights import wave_design

from .test_indices import FRAMEWORK, hand_data, questionnaire


def mixed():
    """The six sampled responses of the hand data plus four walk-ins (two without a unit's stratum)."""
    resp, strata = hand_data()
    resp["submitted_on"] = "2025-05-01"
    walk = pd.DataFrame({"response_id": ["w1", "w2", "w3", "w4"], "stratum": ["", None, " ", ""],
                         "i1": ["5", "5", "1", "4"], "i2": ["4", "4", "4", "4"], "i3": ["5", "2", "4", "4"],
                         "i4": ["4", "4", "4", "4"], "questionnaire": "mini-q",
                         "unit": ["u1", "u1", "u1", "u3"], "submitted_on": "2025-05-02",
                         "cluster": ""})
    return pd.concat([resp, walk], ignore_index=True), strata


def test_walk_ins_are_set_apart_and_do_not_change_the_weights():
    """The weighted design holds the sampled responses only, with the weights they had alone."""
    data, strata = mixed()
    alone = wave_design(hand_data()[0], strata)
    wd = wave_design(data, strata)
    assert wd.weighted and len(wd.data) == 6
    assert wd.data["weight"].tolist() == pytest.approx(alone.data["weight"].tolist())
    assert wd.walk_ins["response_id"].tolist() == ["w1", "w2", "w3", "w4"]
    assert any("4 responses outside every sampled stratum" in n["en"] for n in wd.notices)


def test_sampled_wave_without_walk_ins_has_none():
    """No walk-ins: an empty frame, no notice."""
    resp, strata = hand_data()
    wd = wave_design(resp, strata)
    assert wd.walk_ins.empty and not any("outside every sampled" in n["en"] for n in wd.notices)


def test_report_of_a_mixed_wave_has_a_separate_unweighted_part(tmp_path):
    """The report is written (no ValueError): weighted tables as before and a labelled walk-in table."""
    data, strata = mixed()
    files = write_report(data, strata, [questionnaire()], [FRAMEWORK], tmp_path)
    walk = pd.read_csv(files["sipas_mini_walk_in.csv"], encoding="utf-8-sig")
    assert set(walk["part"]) == {"walk_in_unweighted"}
    top = walk[(walk["code"] == "x") & (walk["unit"] == "u1")].iloc[0]
    assert top["n_valid"] == 3
    # unweighted: the plain share satisfied of u1's walk-ins, item i2 = 3 of 3
    assert walk[(walk["code"] == "x.c1.i2") & (walk["unit"] == "u1")]["estimate"].iloc[0] == 100.0
    main = pd.read_csv(files["sipas_mini.csv"], encoding="utf-8-sig")
    assert "u3" not in set(main["unit"].astype(str))
    ranking = pd.read_csv(files["ranking_mini.csv"], encoding="utf-8-sig")
    assert set(ranking["unit"]) <= {"u1", "u2"}
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Walk-in responses — unweighted, not ranked" in page
