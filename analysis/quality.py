"""Response quality: speeders, straight-lining, item non-response, and an explicit policy.

Definitions (recorded with every report):

* **Speeder**: total time (sum of the ``seconds__<section>`` columns) below
  ``speeder_ratio`` x the median total time of the same questionnaire
  (Greszki, Meyer & Schoen 2015 use 30-50% of the median).  Responses without
  any timing are never flagged.
* **Straight-liner**: the same answer on every row of a likert matrix with at
  least ``straightline_min_rows`` rows, all rows answered (Kim et al. 2019).
* **Item non-response**: the export cannot tell a shown-but-unanswered item
  from one hidden by a ``relevant`` condition.  The rate of an item is
  therefore computed among the respondents of its questionnaire who answered
  *anything* in the same likert matrix (for matrix rows) or in the same
  section (other items): the share of them with no value for the item.
* **Weights**: Kish's design effect from unequal weighting, ``deff_w = n sum(w^2) / (sum w)^2``
  (1 + the squared coefficient of variation; Kish 1965, sec. 11.7), the effective sample size
  ``n / deff_w`` and the largest single weight's share of the total, per unit and overall; a unit is
  flagged when ``deff_w`` passes ``max_weighting_deff`` or one response carries more than
  ``max_weight_share`` of the unit's weight (with at least ``min_rows_for_share`` respondents).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .instruments import Instrument


@dataclass(frozen=True)
class QualityPolicy:
    """Which flagged responses the estimates exclude, and the thresholds that flag them."""

    exclude_speeders: bool = False
    exclude_straightliners: bool = False
    speeder_ratio: float = 0.3
    straightline_min_rows: int = 4
    # Disclosure control: an estimate for a unit resting on fewer valid answers is not published,
    # so that no table can reveal how one or two identifiable people answered.
    min_responses: int = 3
    # Weight diagnostics: flag a unit whose weighting design effect or largest weight share is above these.
    max_weighting_deff: float = 2.0
    max_weight_share: float = 0.2
    min_rows_for_share: int = 10

    def to_dict(self) -> dict:
        """The policy as a plain dict (for policy.json and the HTML summary)."""
        return asdict(self)

    def write(self, path) -> None:
        """Write the policy to a JSON file."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, ensure_ascii=False, indent=2)


def _answered(series: pd.Series) -> np.ndarray:
    """True where a cell holds a value (not missing, not empty text)."""
    blank = series.isna()
    if not pd.api.types.is_numeric_dtype(series):
        blank = blank | (series.astype("string").str.strip() == "").fillna(True)
    return ~blank.to_numpy(dtype=bool)


def _rows_of(data: pd.DataFrame, inst: Instrument) -> np.ndarray:
    """Rows belonging to a questionnaire (all rows when there is no questionnaire column)."""
    if "questionnaire" not in data.columns:
        return np.ones(len(data), dtype=bool)
    return (data["questionnaire"].astype("string") == inst.id).to_numpy(dtype=bool, na_value=False)


def flag_responses(data: pd.DataFrame, instruments: list[Instrument],
                   policy: QualityPolicy | None = None) -> pd.DataFrame:
    """Per-response quality flags.

    Parameters
    ----------
    data : pandas.DataFrame
        Export rows.
    instruments : list of Instrument
    policy : QualityPolicy, optional

    Returns
    -------
    pandas.DataFrame
        ``response_id, questionnaire, total_seconds, median_seconds, speeder,
        straightlined_matrices, straightliner, excluded``.
    """
    policy = policy or QualityPolicy()
    seconds = [c for c in data.columns if c.startswith("seconds__")]
    out = pd.DataFrame({"response_id": data.get("response_id", pd.Series(data.index, index=data.index)),
                        "questionnaire": data.get("questionnaire", "")})
    total = data[seconds].apply(pd.to_numeric, errors="coerce") if seconds else pd.DataFrame(index=data.index)
    timed = total.notna().any(axis=1).to_numpy() if seconds else np.zeros(len(data), dtype=bool)
    out["total_seconds"] = np.where(timed, total.sum(axis=1, min_count=1), np.nan) if seconds else np.nan
    out["median_seconds"] = out.groupby("questionnaire")["total_seconds"].transform("median")
    out["speeder"] = (out["total_seconds"] < policy.speeder_ratio * out["median_seconds"]).fillna(False)
    straight = np.zeros(len(data), dtype=np.int64)
    for inst in instruments:
        rows = _rows_of(data, inst)
        matrices: dict[str, list[str]] = {}
        for item in inst.items:
            if item.matrix and item.matrix_rows >= policy.straightline_min_rows and item.id in data:
                matrices.setdefault(item.matrix, []).append(item.id)
        for cols in matrices.values():
            if len(cols) < policy.straightline_min_rows:
                continue
            block = data[cols].astype("string")
            full = block.notna().all(axis=1) & (block.apply(lambda s: s.str.strip() != "").all(axis=1))
            same = block.nunique(axis=1, dropna=True) == 1
            straight += (rows & (full & same).to_numpy(dtype=bool, na_value=False)).astype(np.int64)
    out["straightlined_matrices"] = straight
    out["straightliner"] = straight > 0
    out["excluded"] = ((out["speeder"] & policy.exclude_speeders)
                       | (out["straightliner"] & policy.exclude_straightliners))
    return out


def item_nonresponse(data: pd.DataFrame, instruments: list[Instrument]) -> pd.DataFrame:
    """Item non-response rates among respondents who answered something in the item's matrix or section.

    Parameters
    ----------
    data : pandas.DataFrame
    instruments : list of Instrument

    Returns
    -------
    pandas.DataFrame
        ``questionnaire, item, label_vi, section, matrix, eligible, missing, rate`` (rate in percent).
    """
    records = []
    for inst in instruments:
        rows = _rows_of(data, inst)
        present = {it.id: _answered(data[it.id]) & rows if it.id in data else np.zeros(len(data), bool)
                   for it in inst.items}
        groups: dict[tuple, list[str]] = {}
        for it in inst.items:
            groups.setdefault(("m", it.matrix) if it.matrix else ("s", it.section), []).append(it.id)
        for it in inst.items:
            key = ("m", it.matrix) if it.matrix else ("s", it.section)
            eligible = np.logical_or.reduce([present[i] for i in groups[key]])
            n_elig = int(eligible.sum())
            missing = int((eligible & ~present[it.id]).sum())
            records.append({"questionnaire": inst.id, "item": it.id, "label_vi": it.label_vi,
                            "section": it.section, "matrix": it.matrix or "", "eligible": n_elig,
                            "missing": missing, "rate": 100 * missing / n_elig if n_elig else np.nan})
    return pd.DataFrame(records)


def apply_policy(data: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """The responses kept under the policy used to compute ``flags``."""
    keep = ~flags["excluded"].to_numpy(dtype=bool)
    return data.loc[keep].reset_index(drop=True)


def weight_diagnostics(weights, groups=None, policy: QualityPolicy | None = None) -> pd.DataFrame:
    """Kish's design effect from weighting and the largest weight's share, per group and overall.

    Parameters
    ----------
    weights : array-like
        Final weights (rows with weight 0 are not counted).
    groups : array-like, optional
        A group (unit) per row; the last row of the result is always ``ALL``.
    policy : QualityPolicy, optional
        Thresholds of the flags.

    Returns
    -------
    pandas.DataFrame
        ``group, n, weight_total, deff_weighting, effective_n, largest_weight_share, flagged``.
    """
    policy = policy or QualityPolicy()
    w = np.asarray(weights, dtype=float)
    keys = np.full(len(w), "ALL", dtype=object) if groups is None else np.asarray(groups, dtype=object)
    frame = pd.DataFrame({"group": keys, "w": w})
    frame = frame[frame["w"] > 0]
    parts = [] if groups is None else list(frame.groupby("group", sort=True, dropna=True))
    parts.append(("ALL", frame))
    records = []
    for name, part in parts:
        x = part["w"].to_numpy()
        n, total = len(x), float(x.sum())
        deff = n * float((x * x).sum()) / total**2 if total > 0 else np.nan
        share = float(x.max()) / total if total > 0 else np.nan
        flagged = bool(deff > policy.max_weighting_deff
                       or (n >= policy.min_rows_for_share and share > policy.max_weight_share))
        records.append({"group": name, "n": n, "weight_total": total, "deff_weighting": deff,
                        "effective_n": n / deff if deff else np.nan, "largest_weight_share": share,
                        "flagged": flagged})
    return pd.DataFrame(records)
