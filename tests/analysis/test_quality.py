"""Quality flags: speeders, straight-liners, item non-response, and the policy record."""

import json

import pandas as pd

from analysis.instruments import parse_questionnaire
from analysis.quality import QualityPolicy, apply_policy, flag_responses, item_nonresponse

SCALE = [{"code": str(c), "label": {"vi": f"Mức {c}", "en": f"Level {c}"}} for c in range(1, 6)]
DOC = {"id": "q", "version": "1", "scales": {"s": SCALE}, "sections": [
    {"id": "p1", "items": [{"id": "m", "type": "likert", "scale": "s", "label": {"vi": "M", "en": "M"},
                            "rows": [{"id": f"r{i}", "label": {"vi": f"Dòng {i}", "en": f"Row {i}"}}
                                     for i in range(1, 5)]}]},
    {"id": "p2", "items": [{"id": "t", "type": "text", "label": {"vi": "Ý kiến", "en": "Comment"}},
                           {"id": "n", "type": "integer", "label": {"vi": "Tuổi", "en": "Age"}}]}]}
INST = parse_questionnaire(DOC)


def frame():
    """Four responses: r3 is fast, r2 straight-lines, r4 skips matrix row r4."""
    return pd.DataFrame({
        "response_id": ["a", "b", "c", "d"], "questionnaire": "q",
        "seconds__p1": [60.0, 50.0, 5.0, 40.0], "seconds__p2": [30.0, 40.0, 5.0, None],
        "r1": ["1", "3", "2", "4"], "r2": ["2", "3", "2", "4"], "r3": ["3", "3", "5", "5"],
        "r4": ["4", "3", "1", ""], "t": ["ok", "", None, ""], "n": [30, None, 40, None]})


def test_speeder_is_below_ratio_of_median_total_time():
    """Totals 90, 90, 10, 40; median 65; 10 < 0.3 x 65 flags only c."""
    flags = flag_responses(frame(), [INST])
    assert flags["speeder"].tolist() == [False, False, True, False]


def test_straightliner_has_one_answer_on_all_rows_of_a_4_row_matrix():
    """Response b answers 3 on all four rows."""
    flags = flag_responses(frame(), [INST])
    assert flags["straightliner"].tolist() == [False, True, False, False]


def test_policy_excludes_only_what_it_says():
    """exclude_speeders drops c and keeps the straight-liner b."""
    policy = QualityPolicy(exclude_speeders=True)
    kept = apply_policy(frame(), flag_responses(frame(), [INST], policy))
    assert kept["response_id"].tolist() == ["a", "b", "d"]


def test_item_nonresponse_counts_within_matrix_or_section_respondents():
    """Row r4: 1 of 4 matrix respondents blank; t: page p2 answered by a and c, c left t blank."""
    rates = item_nonresponse(frame(), [INST]).set_index("item")
    assert (rates.loc["r4", "eligible"], rates.loc["r4", "missing"]) == (4, 1)
    assert (rates.loc["t", "eligible"], rates.loc["t", "missing"]) == (2, 1)


def test_policy_is_written_as_json(tmp_path):
    """policy.json records every switch and threshold."""
    QualityPolicy(exclude_straightliners=True).write(tmp_path / "policy.json")
    saved = json.loads((tmp_path / "policy.json").read_text(encoding="utf-8"))
    assert saved == {"exclude_speeders": False, "exclude_straightliners": True, "speeder_ratio": 0.3,
                     "straightline_min_rows": 4, "min_responses": 3, "max_weighting_deff": 2.0,
                     "max_weight_share": 0.2, "min_rows_for_share": 10}
