"""Design weights of a survey wave from its strata table.

A wave is a stratified sample (strata are usually unit x respondent group)
with, optionally, clusters as primary sampling units.  The base weight of a
respondent in stratum h is ``N_h / n_h`` (population over number sampled or
invited, the inverse inclusion probability of a simple random sample within
the stratum); the weighting-class non-response adjustment within the stratum
scales the respondents' weights to sum to ``N_h``, so the final weight is
``N_h / r_h`` with ``r_h`` respondents (Kalton & Flores-Cervantes 2003;
Valliant, Dever & Kreuter 2018, ch. 13).  Where the draw recorded selection
probabilities (``selection_probability`` of each response's stratum and
village: the product of the village stage, drawn with probability
proportional to size, and the stage within the village), the base weight is
1/p instead and the adjustment scales the respondents' base weights to
``N_h``, so that unequal probabilities (villages taken with certainty) are
followed.  A village the draw took with certainty (``cluster_probability`` 1)
is a stratum of its own whose people are the PSUs, with the village's number of
people in the frame (``cluster_population``) as fpc; villages drawn by PPS are
PSUs treated as drawn with replacement.  A census of villages and of people in
them therefore has standard error 0.  The adjustment cells are the strata and are never collapsed: a
stratum is a unit's own sample (units are reported as domains), so pooling it
with another unit's stratum would move one unit's population onto another's
respondents.  A stratum without respondents is left out: its population is not
represented, ``strata_summary["covered"]`` is False for it and a notice names it
and says the estimates cover the other strata only.  Finer cells within strata
(age, sex) are collapsed by the rule of
:func:`analysis.weighting.nonresponse_adjust` (``min_respondents``, ``within``).
Without clusters the stratum population ``N_h`` is the finite
population correction; with clusters the
first stage is treated as with replacement (no fpc, conservative), since the
strata table gives persons, not clusters.  Only stratum and cluster codes are
used: nothing identifies a respondent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import weighting
from .design import Design

WALK_IN_NOTICE = {
    "vi": "{n} phiếu không thuộc tầng mẫu nào (trả lời qua liên kết mở hoặc phiếu nhập cho đơn vị không có "
          "tầng) không được tính vào các ước lượng có trọng số; chúng được báo cáo riêng, không có trọng số, "
          "và chỉ mô tả những người đã trả lời.",
    "en": "{n} responses outside every sampled stratum (open-link walk-ins, or forms entered for a unit "
          "without a stratum) are not in the weighted estimates; they are reported apart, unweighted, and "
          "describe those respondents only.",
}

UNWEIGHTED_NOTICE = {
    "vi": "Ước lượng không có trọng số: đợt khảo sát dùng liên kết mở, không có khung mẫu phân tầng; "
          "kết quả chỉ mô tả những người đã trả lời.",
    "en": "Estimates are unweighted: the wave used an open link without a stratified sampling frame; "
          "results describe the respondents only.",
}


# strata named in the notice about strata without respondents (the rest are counted)
_LISTED_STRATA = 20


@dataclass
class WaveDesign:
    """A wave's design, its response-level data with weights, and what the outputs must say."""

    design: Design
    weighted: bool
    strata_summary: pd.DataFrame
    notices: list[dict] = field(default_factory=list)
    # responses without a stratum in a sampled wave (open-link walk-ins, clerks' forms for a unit with
    # no stratum): kept out of the weighted design and reported apart, unweighted
    walk_ins: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def data(self) -> pd.DataFrame:
        """Response-level data with ``base_weight`` and ``weight`` columns."""
        return self.design.data


def _clean_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Code of every row's stripped text (-1 when blank) and the distinct texts, by first appearance.

    Only the column's few distinct values are stripped; texts that differ only by
    surrounding spaces share a code.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    text = np.array([str(u).strip() for u in uniques], dtype=object)
    filled = text != ""
    clean, distinct = pd.factorize(pd.Series(text[filled], dtype=object))
    lookup = np.full(len(text) + 1, -1, dtype=np.int64)  # the last entry: code -1 (missing)
    lookup[np.flatnonzero(filled)] = clean
    return lookup[codes], np.asarray(distinct, dtype=object)


def _clean(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Stripped text of a code column (object array) and its blank mask, via its few distinct values."""
    codes, distinct = _clean_codes(series)
    values = np.append(distinct, "").astype(object)[codes]
    return values, codes < 0


def _strata_table(strata: pd.DataFrame) -> pd.DataFrame:
    """Validated strata table indexed by stratum code (text)."""
    table = strata.copy()
    table["stratum"] = table["stratum"].astype("string").str.strip()
    if table["stratum"].duplicated().any():
        dup = table.loc[table["stratum"].duplicated(), "stratum"].iloc[0]
        raise ValueError(f"stratum {dup!r} appears twice in the strata table")
    for col in ("population_size", "sample_size"):
        table[col] = pd.to_numeric(table[col], errors="raise").astype(float)
        if table[col].isna().any() or (table[col] <= 0).any() or np.isinf(table[col]).any():
            raise ValueError(f"strata table: {col} must be a positive number in every row")
    over = table.loc[table["sample_size"] > table["population_size"], "stratum"]
    if len(over):
        raise ValueError(f"stratum {over.iloc[0]!r}: sample size above the population size")
    return table.set_index("stratum")


def wave_design(responses: pd.DataFrame, strata: pd.DataFrame | None = None, wave: str | None = None,
                calibration: dict | None = None, singleton: str = "centre") -> WaveDesign:
    """Build the design of one wave: stratified weights with non-response adjustment.

    Base weight ``N_h / n_h`` (inverse selection probability), final weight
    ``N_h / r_h`` after the weighting-class non-response adjustment within the
    stratum; fpc ``N_h`` when there are no clusters; clusters (``cluster``)
    as PSUs nested in strata when present, rows without a cluster being their
    own PSU.  Variances are then those of the stratified (cluster) estimator of
    R's ``svydesign(ids=~cluster, strata=~stratum, weights=~weight, fpc=~N)``
    (Lumley 2010, ch. 2-3).  Optional calibration rakes (several margins) or
    post-stratifies (one) to known population counts (:mod:`analysis.weighting`).

    Parameters
    ----------
    responses : pandas.DataFrame
        Export rows (``stratum`` and ``cluster`` columns; ``wave`` when several;
        ``selection_probability`` where the draw recorded it).
    strata : pandas.DataFrame, optional
        ``stratum, unit, group, population_size, sample_size``.  ``None``, empty,
        or responses without stratum codes give an unweighted design and a notice.  When only
        some responses lack a stratum (walk-ins in a sampled wave), the others are weighted and
        those are returned apart in ``walk_ins`` with a notice, never mixed into the weights.
    wave : str, optional
        Keep only this wave; required when ``responses`` hold several.
    calibration : dict, optional
        Column -> {level: population count}.
    singleton : str, default "centre"
        Lonely-PSU treatment passed to :class:`Design`.

    Returns
    -------
    WaveDesign
    """
    data = responses
    if "wave" in data.columns:
        waves = data["wave"].dropna().unique()
        if wave is not None:
            data = data[data["wave"].astype("string") == str(wave)]
        elif len(waves) > 1:
            raise ValueError(f"responses hold {len(waves)} waves; pass wave=")
    # a new frame (pandas copies, or copies on write): adding columns leaves `responses` alone
    data = data.reset_index(drop=True)
    if data.empty:
        raise ValueError("no responses in the wave")
    if "stratum" in data.columns:
        stratum_code, stratum_text = _clean_codes(data["stratum"])
        stratum_blank = stratum_code < 0
    else:
        stratum_code, stratum_blank = None, np.ones(len(data), dtype=bool)
    has_stratum = not stratum_blank.all()
    ids = _clusters(data)
    if strata is None or len(strata) == 0 or not has_stratum:
        data["base_weight"] = 1.0
        data["weight"] = 1.0
        design = Design(data, weights="weight", ids=ids, singleton=singleton)
        return WaveDesign(_calibrate(design, calibration), False, pd.DataFrame(), [UNWEIGHTED_NOTICE])
    if stratum_blank.any():
        # a mixed wave: the sampled responses are weighted, the walk-ins are set apart (unweighted)
        sampled = wave_design(data.loc[~stratum_blank], strata, calibration=calibration,
                              singleton=singleton)
        n = int(stratum_blank.sum())
        sampled.walk_ins = data.loc[stratum_blank].reset_index(drop=True)
        sampled.notices.append({k: v.replace("{n}", str(n)) for k, v in WALK_IN_NOTICE.items()})
        return sampled
    table = _strata_table(strata)
    # everything per stratum is worked out on its distinct codes, then spread to the rows
    unknown = sorted(set(stratum_text) - set(table.index))
    if unknown:
        raise ValueError(f"strata not in the strata table: {unknown[:5]}")
    data["stratum"] = pd.Series(stratum_text[stratum_code], index=data.index)
    position = table.index.get_indexer(stratum_text)
    respondents = np.zeros(len(table), dtype=np.int64)
    respondents[position] = np.bincount(stratum_code, minlength=len(stratum_text))
    summary = table.assign(respondents=respondents)
    big = summary.index[summary["respondents"] > summary["population_size"]]
    if len(big):
        raise ValueError(f"stratum {big[0]!r} has more respondents than its population")
    big = summary.index[summary["respondents"] > summary["sample_size"]]
    if len(big):
        raise ValueError(f"stratum {big[0]!r} has more respondents than its sample size "
                         f"({summary.loc[big[0], 'respondents']} > {summary.loc[big[0], 'sample_size']:g}); "
                         "the strata table must give the number drawn, replacements included")
    summary["response_rate"] = summary["respondents"] / summary["sample_size"]
    summary["base_weight"] = summary["population_size"] / summary["sample_size"]
    summary["nonresponse_factor"] = summary["sample_size"] / summary["respondents"].where(
        summary["respondents"] > 0)
    summary["weight"] = summary["population_size"] / summary["respondents"].where(
        summary["respondents"] > 0)
    row = position[stratum_code]
    data["base_weight"] = summary["base_weight"].to_numpy()[row]
    data["weight"] = summary["weight"].to_numpy()[row]
    _stage_weights(data, stratum_code, len(stratum_text), summary["population_size"].to_numpy()[row])
    data["fpc_population"] = summary["population_size"].to_numpy()[row]
    fpc = None if ids is not None else "fpc_population"
    # the design's stratum codes: the distinct texts in sorted order, as Design would find them
    rank, labels = pd.factorize(pd.Series(stratum_text, dtype=object), sort=True)
    known = {"stratum": (rank.astype(np.int64)[stratum_code], np.asarray(labels))}
    certain = _certain_villages(data) if ids is not None else None
    if certain is None:
        design = Design._with_codes(known, data, weights="weight", strata="stratum", ids=ids, fpc=fpc,
                                    nest=True, singleton=singleton)
    else:
        # villages taken with certainty are strata of their own, their people the PSUs, with the
        # village's frame count as fpc; villages drawn by PPS stay PSUs, with replacement (fpc inf)
        data["design_stratum"] = np.where(certain, data["stratum"].astype(str) + " / "
                                          + data["cluster"].astype(str), data["stratum"].astype(str))
        psu = data[ids].to_numpy(dtype=np.int64).copy()
        psu[certain] = psu.max() + 1 + np.arange(int(certain.sum()))
        data[ids] = psu
        data["fpc_population"] = np.where(certain, pd.to_numeric(data["cluster_population"]), np.inf)
        design = Design(data, weights="weight", strata="design_stratum", ids=ids, fpc="fpc_population",
                        nest=True, singleton=singleton)
    notices = []
    summary["covered"] = summary["respondents"] > 0
    empty = summary.index[~summary["covered"]]
    if len(empty):
        listed = ", ".join(str(code) for code in empty[:_LISTED_STRATA])
        more = len(empty) - _LISTED_STRATA
        listed += f" (+{more})" if more > 0 else ""
        covered = len(summary) - len(empty)
        notices.append({"vi": f"{len(empty)} tầng không có người trả lời: {listed}. Tổng thể của các "
                              "tầng này không được đại diện; các ước lượng chỉ bao gồm "
                              f"{covered} tầng còn lại.",
                        "en": f"{len(empty)} strata have no respondents: {listed}. Their population is not "
                              f"represented; the estimates cover the other {covered} strata only."})
    return WaveDesign(_calibrate(design, calibration), True, summary.reset_index(), notices)


def _stage_weights(data: pd.DataFrame, stratum_code: np.ndarray, n_strata: int,
                   population: np.ndarray) -> None:
    """Base weights 1/p from the responses' selection probabilities, where the draw recorded them.

    A probability is the product of the draw's stages (village drawn with probability proportional
    to size, then people within it), the same for everyone of a (stratum, village) cell. In a
    stratum where any response has one, the base weight is 1/p (N_h/n_h for a response without
    one) and the non-response adjustment scales the respondents' base weights to sum to N_h:
    weight = base x N_h / sum of the respondents' base weights. With equal probabilities in a
    stratum this is N_h / r_h, as without probabilities; with unequal ones (a village taken with
    certainty, a village smaller than the number drawn in it) the weights follow 1/p.
    """
    if "selection_probability" not in data.columns:
        return
    p = pd.to_numeric(data["selection_probability"], errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(p) & (p > 0)
    if not known.any():
        return
    if (p[known] > 1).any():
        raise ValueError("a selection probability is above 1")
    staged = np.bincount(stratum_code, weights=known, minlength=n_strata) > 0
    rows = staged[stratum_code]
    base = np.where(known, 1.0 / np.where(known, p, 1.0), data["base_weight"].to_numpy(dtype=float))
    total = np.bincount(stratum_code, weights=base, minlength=n_strata)[stratum_code]
    data.loc[rows, "base_weight"] = base[rows]
    data.loc[rows, "weight"] = (base * population / total)[rows]


def _certain_villages(data: pd.DataFrame) -> np.ndarray | None:
    """Rows in villages the draw took with certainty whose frame count is known, or ``None``.

    A village drawn with probability 1 is not sampled at the first stage: it represents only
    itself, so it is a stratum of its own and the variance comes from the people drawn in it,
    with the village's number of people in the frame (``cluster_population``) as the finite
    population correction (Cochran 1977, sec. 9A.4; Lumley 2010, sec. 3.2 on certainty PSUs).
    Everyone of a village taken and everyone in it answering is a census: no variance.
    Villages drawn with probability below 1 (systematic PPS) stay PSUs, with replacement. A
    village whose count is missing or below its respondents is left with replacement too.
    """
    if "cluster_probability" not in data.columns or "cluster_population" not in data.columns:
        return None
    p = pd.to_numeric(data["cluster_probability"], errors="coerce").to_numpy(dtype=float)
    size = pd.to_numeric(data["cluster_population"], errors="coerce").to_numpy(dtype=float)
    certain = (p >= 1.0) & np.isfinite(size) & (size > 0)
    if not certain.any():
        return None
    village = pd.Series(data["stratum"].astype(str) + "\x1f" + data["cluster"].astype(str))
    answered = village.map(village[certain].value_counts()).to_numpy(dtype=float)
    certain &= size >= answered
    return certain if certain.any() else None


def _clusters(data: pd.DataFrame) -> str | None:
    """Name of the PSU column, filling rows without a cluster with their own code."""
    if "cluster" not in data.columns:
        return None
    codes, _ = _clean_codes(data["cluster"])
    blank = codes < 0
    if blank.all():
        return None
    if blank.any():
        # integer PSU codes by first appearance of the text, "" included, as pd.factorize gives
        psu, _ = _clean(data["cluster"])
        codes = pd.factorize(psu)[0].astype(np.int64)
        codes[blank] = codes.max() + 1 + np.arange(int(blank.sum()))
    # integer PSU codes (nested in strata by the design): rows without a cluster get their own
    data["psu"] = codes
    return "psu"


def _calibrate(design: Design, calibration: dict | None) -> Design:
    """Post-stratify (one margin) or rake (several) to population counts."""
    if not calibration:
        return design
    if len(calibration) == 1:
        (var, population), = calibration.items()
        return weighting.poststratify(design, var, population)
    return weighting.rake(design, calibration)
