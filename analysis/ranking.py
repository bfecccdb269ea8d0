"""Rankings that show where confidence intervals overlap, as UNDP's PAPI reports do."""

from __future__ import annotations

import numpy as np
import pandas as pd

ALL = "ALL"


def rank_units(table: pd.DataFrame, unit: str = "unit", estimate: str = "estimate",
               low: str = "ci_low", high: str = "ci_high") -> pd.DataFrame:
    """Order units by estimate and flag which of them the 95% intervals cannot separate.

    Two units are statistically tied when their intervals overlap (a
    conservative check: disjoint 95% intervals imply a difference at well
    below the 5% level; Schenker & Gentleman 2001).  Besides the rank by point
    estimate, the plausible rank range runs from one plus the number of units
    whose interval lies wholly above to the count of units not wholly below,
    the presentation used by PAPI (CECODES, VFF-CRT & UNDP, annual PAPI
    reports) and by Goldstein & Spiegelhalter (1996) for league tables.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per unit (pooled ``ALL`` rows and missing estimates are dropped).
    unit, estimate, low, high : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        The rows sorted by estimate (descending) with ``rank``, ``rank_best``,
        ``rank_worst``, ``overlaps_with`` (comma-separated units), ``n_overlapping``
        and ``distinguishable_from_next`` (interval disjoint from the next unit's;
        missing for the last).
    """
    rows = table[(table[unit].astype(str) != ALL) & table[estimate].notna()]
    if rows[unit].duplicated().any():
        raise ValueError("rank_units needs one row per unit: filter the table to one code first")
    rows = rows.sort_values(estimate, ascending=False, kind="stable").reset_index(drop=True)
    est = rows[estimate].to_numpy(dtype=float)
    lo = rows[low].to_numpy(dtype=float)
    hi = rows[high].to_numpy(dtype=float)
    names = rows[unit].astype(str).to_numpy()
    overlap = (lo[:, None] <= hi[None, :]) & (lo[None, :] <= hi[:, None])
    np.fill_diagonal(overlap, False)
    above = (lo[None, :] > hi[:, None]).sum(axis=1)
    below = (hi[None, :] < lo[:, None]).sum(axis=1)
    out = rows.copy()
    out["rank"] = pd.Series(est).rank(ascending=False, method="min").astype(np.int64).to_numpy()
    out["rank_best"] = 1 + above
    out["rank_worst"] = len(rows) - below
    out["overlaps_with"] = [", ".join(names[overlap[i]]) for i in range(len(rows))]
    out["n_overlapping"] = overlap.sum(axis=1)
    nxt = pd.array([bool(lo[i] > hi[i + 1]) for i in range(len(rows) - 1)] + [pd.NA][:len(rows)],
                   dtype="boolean")
    out["distinguishable_from_next"] = nxt[:len(rows)]
    return out
