"""Synthetic exports in the app's response/strata format, for examples, tests and benchmarks.

Answers come from a latent satisfaction per unit and per respondent, so items
of one respondent are positively correlated as in real satisfaction surveys.
Nothing here is real data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .instruments import Instrument, parse_questionnaire


def responses(questionnaire: dict | Instrument, units: dict[str, str], per_unit: int = 40,
              groups: tuple[str, ...] = ("nguoi_dan",), seed: int = 1, clusters_per_stratum: int = 0,
              wave: str = "2025", invite_factor: float = 1.6, population_factor: float = 25.0):
    """Responses and strata tables for one questionnaire over some units.

    Parameters
    ----------
    questionnaire : dict or Instrument
    units : dict
        Unit code -> Vietnamese name.
    per_unit : int
        Respondents per (unit, group) stratum on average.
    groups : tuple of str
    seed : int
    clusters_per_stratum : int
        0 for no clusters.
    wave : str
    invite_factor, population_factor : float
        Sample size and population size relative to the respondents.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Responses and strata.
    """
    inst = questionnaire if isinstance(questionnaire, Instrument) else parse_questionnaire(questionnaire)
    rng = np.random.default_rng(seed)
    rows, strata = [], []
    unit_effect = {u: rng.normal(0, 0.6) for u in units}
    for u, name in units.items():
        for g in groups:
            n = max(2, int(rng.poisson(per_unit)))
            stratum = f"{u}-{g}"
            strata.append({"stratum": stratum, "unit": u, "group": g,
                           "population_size": int(n * population_factor),
                           "sample_size": int(np.ceil(n * invite_factor))})
            latent = unit_effect[u] + rng.normal(0, 1.0, n)
            for i in range(n):
                row = {"response_id": f"r{len(rows) + 1:06d}", "wave": wave, "questionnaire": inst.id,
                       "questionnaire_version": inst.version, "unit": u, "unit_name": name, "group": g,
                       "stratum": stratum,
                       "cluster": f"{stratum}-c{rng.integers(clusters_per_stratum)}"
                       if clusters_per_stratum else "",
                       "mode": rng.choice(["online", "paper", "phone", "face_to_face"], p=[.6, .25, .1, .05]),
                       "language": "vi",
                       "submitted_on": str(np.datetime64("2025-09-01") + int(rng.integers(0, 30))),
                       "device_class": rng.choice(["phone", "tablet", "desktop"], p=[.8, .05, .15])}
                for sec in inst.sections:
                    row[f"seconds__{sec}"] = float(rng.gamma(4.0, 8.0))
                for item in inst.items:
                    row[item.id] = _answer(item, latent[i], rng)
                rows.append(row)
    return pd.DataFrame(rows), pd.DataFrame(strata)


def _answer(item, latent: float, rng):
    """One synthetic answer, driven by the respondent's latent satisfaction for scored items."""
    if not item.choice:
        if item.type in ("integer", "decimal"):
            return float(rng.integers(0, 10))
        return "" if item.type != "date" else "2025-08-15"
    codes = [o.code for o in item.options]
    if not codes:
        return ""
    if item.type == "multiple_choice":
        k = int(rng.integers(1, min(3, len(codes)) + 1))
        return " ".join(sorted(rng.choice(codes, size=k, replace=False)))
    if rng.random() < 0.05:
        return ""
    excluded = [o.code for o in item.options if o.excluded]
    if excluded and rng.random() < 0.06:
        return excluded[0]
    valid = [o for o in item.options if not o.excluded]
    if item.method == "fraction":
        valid = sorted(valid, key=lambda o: -float(o.score or 0))
    elif item.method != "satisfied":
        return valid[int(rng.integers(len(valid)))].code
    # ordered scale: higher latent -> later (satisfied) option for SIPAS, earlier (A) for PAR
    pos = 1 / (1 + np.exp(-(latent + 1.0 + rng.normal(0, 0.8))))
    idx = min(int(pos * len(valid)), len(valid) - 1)
    return valid[idx if item.method == "satisfied" else len(valid) - 1 - idx].code
