"""Rankings that mean what they say: Holm-adjusted pairwise tests and joint confidence sets for ranks.

One implementation serves the per-wave tables (:func:`rank_units`) and the overall index
(:func:`analysis.overall.rank`):

* **Pairwise tests.**  Two units differ when ``(x_i - x_j) / sqrt(se_i² + se_j²)`` is significant,
  with a t reference on the Welch–Satterthwaite degrees of freedom of the two units' design df
  (normal when a unit gives none), after Holm's step-down adjustment over all ``K (K - 1) / 2``
  pairs at 5% family-wise error (Holm 1979).  Units are separate domains; where they share PSUs
  (a stratum spanning units, a village serving two communes) their estimates are correlated, and
  given their covariances (``cov``, e.g. :func:`analysis.estimate.domain_covariance`) the SE of a
  difference is ``sqrt(se_i² + se_j² - 2 cov_ij)``.  Without ``cov`` the units are treated as
  independent samples, which is conservative when the covariance is positive.  A unit's
  *plausible rank range* runs from one plus the number of units significantly above it to the
  number of units not significantly below it (never counting itself), and the units it is not
  significantly different from are listed.
* **Joint confidence sets for ranks** (Klein, Wright & Wieczorek 2020, the method the US Census
  Bureau uses for state rankings): each unit gets an interval ``x ± q se`` at the Šidák level
  ``(1 - α)^(1/K)``; unit k's rank set runs from ``1 + #{j: L_j > U_k}`` to ``K - #{j: U_j < L_k}``,
  and with probability at least 95% *every* unit's rank lies in its set at once.
* A unit with an estimate but no standard error, interval or degrees of freedom **cannot be
  ranked**: it is listed last with no rank, never as "tied with nobody".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

ALL = "ALL"
ALPHA = 0.05
CANNOT_RANK = "không xếp hạng được / cannot be ranked"


def satterthwaite(pieces: list[tuple[float, float | None]]) -> float | None:
    """Welch–Satterthwaite degrees of freedom of a sum of independent variances (None: large, or unknown)."""
    pieces = [(v, df) for v, df in pieces if v > 0]
    if not pieces or any(df is None or not math.isfinite(df) for _, df in pieces):
        return None
    if any(df <= 0 for _, df in pieces):
        return 0.0
    return sum(v for v, _ in pieces) ** 2 / sum(v * v / df for v, df in pieces)


def _p_value(d: float, s: float, df: float | None = None) -> float:
    """Two-sided p-value of a difference d with SE s: t with df (normal when None); exact when s is 0."""
    if s == 0:
        return 0.0 if d != 0 else 1.0
    if df is None:
        return math.erfc(abs(d) / s / math.sqrt(2))
    return float(2 * stats.t.sf(abs(d) / s, df))


def holm_pairs(
    estimates: dict[str, float],
    ses: dict[str, float],
    alpha: float = ALPHA,
    dfs: dict[str, float | None] | None = None,
    cov: dict[tuple[str, str], float] | None = None,
) -> set[tuple[str, str]]:
    """The ordered pairs (higher, lower) whose difference is significant after Holm's adjustment.

    Each difference is tested with its Welch–Satterthwaite degrees of freedom when ``dfs`` are given.
    ``cov[(a, b)]`` (either order) is the covariance of two units' estimates where they share
    PSUs; the difference's SE is then ``sqrt(se_a² + se_b² - 2 cov_ab)``.
    """
    codes = list(estimates)
    dfs = dfs or {}
    cov = cov or {}
    tests = []
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            d = estimates[a] - estimates[b]
            df = satterthwaite([(ses[a] ** 2, dfs.get(a)), (ses[b] ** 2, dfs.get(b))])
            c = cov.get((a, b), cov.get((b, a), 0.0))
            s = math.sqrt(max(ses[a] ** 2 + ses[b] ** 2 - 2 * c, 0.0)) if c else math.hypot(ses[a], ses[b])
            tests.append((_p_value(d, s, df), a, b, d))
    tests.sort(key=lambda t: t[0])
    m, found = len(tests), set()
    for k, (p, a, b, d) in enumerate(tests):
        if p > alpha / (m - k):
            break
        found.add((a, b) if d > 0 else (b, a))
    return found


def rank_ranges(
    estimates: dict[str, float],
    ses: dict[str, float],
    dfs: dict[str, float | None] | None = None,
    alpha: float = ALPHA,
    cov: dict[tuple[str, str], float] | None = None,
) -> dict[str, dict]:
    """Rank, Holm rank range, units not told apart and the joint rank set of every (rankable) unit.

    ``cov`` (pairs of units sharing PSUs -> covariance of their estimates) enters the pairwise
    tests (:func:`holm_pairs`); the joint rank sets use each unit's own interval.

    Returns
    -------
    dict
        Code -> ``rank, rank_best, rank_worst, not_different_from (list, by estimate),
        joint_rank_best, joint_rank_worst``.
    """
    dfs = dfs or {}
    codes = list(estimates)
    k = len(codes)
    significant = holm_pairs(estimates, ses, alpha, dfs, cov)
    by_estimate = sorted(codes, key=lambda c: -estimates[c])
    level = (1 - alpha) ** (1 / k) if k else 1 - alpha
    low, high = {}, {}
    for c in codes:
        df = dfs.get(c)
        q = stats.norm.ppf(0.5 + level / 2) if df is None else stats.t.ppf(0.5 + level / 2, df)
        low[c], high[c] = estimates[c] - q * ses[c], estimates[c] + q * ses[c]
    out = {}
    for c in codes:
        others = [o for o in codes if o != c]
        above = sum(1 for o in others if (o, c) in significant)
        below = sum(1 for o in others if (c, o) in significant)
        out[c] = {
            "rank": 1 + sum(1 for o in others if estimates[o] > estimates[c]),
            "rank_best": 1 + above,
            "rank_worst": k - below,
            "not_different_from": [o for o in by_estimate if o != c and (o, c) not in significant
                                   and (c, o) not in significant],
            "joint_rank_best": 1 + sum(1 for o in others if low[o] > high[c]),
            "joint_rank_worst": k - sum(1 for o in others if high[o] < low[c]),
        }
    return out


def rank_units(table: pd.DataFrame, unit: str = "unit", estimate: str = "estimate", se: str = "se",
               df: str = "df", low: str = "ci_low", alpha: float = ALPHA,
               cov: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rank units by estimate, with Holm-adjusted rank ranges and joint confidence sets for ranks.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per unit (pooled ``ALL`` rows and missing estimates, e.g. suppressed cells, are
        dropped).  ``se`` is required; ``df`` (design degrees of freedom) is used when present.
    unit, estimate, se, df, low : str
        Column names (``low``: a unit without an interval cannot be ranked).
    alpha : float
        Family-wise error of the pairwise tests and of the joint rank sets.
    cov : pandas.DataFrame, optional
        Covariances of the units' estimates, index and columns the unit codes (as
        :func:`analysis.estimate.domain_covariance` gives): used in the pairwise tests where
        units share PSUs.  Without it units are treated as independent.

    Returns
    -------
    pandas.DataFrame
        Rankable rows sorted by estimate (descending), then the rows that cannot be ranked, with
        ``rankable``, ``rank``, ``rank_best``, ``rank_worst`` (Holm), ``joint_rank_best``,
        ``joint_rank_worst`` (Klein et al. 2020), ``not_different_from`` (comma-separated units),
        ``n_not_different``, ``different_from_next`` (Holm-significant against the next rankable
        unit; missing for the last) and ``ranking_note`` (why a unit is not ranked); rank columns
        are missing for units that cannot be ranked.
    """
    rows = table[(table[unit].astype(str) != ALL) & table[estimate].notna()]
    if rows[unit].duplicated().any():
        raise ValueError("rank_units needs one row per unit: filter the table to one code first")
    est = rows[estimate].to_numpy(dtype=float)
    ses = rows[se].to_numpy(dtype=float)
    dfv = rows[df].to_numpy(dtype=float) if df in rows.columns else np.full(len(rows), np.inf)
    lows = rows[low].to_numpy(dtype=float) if low in rows.columns else np.zeros(len(rows))
    ok = np.isfinite(est) & np.isfinite(ses) & np.isfinite(lows) & ~(dfv <= 0)
    rows = rows.assign(rankable=ok)
    rows = pd.concat([rows[ok].sort_values(estimate, ascending=False, kind="stable"), rows[~ok]])
    rows = rows.reset_index(drop=True)
    good = rows[rows["rankable"]]
    names = good[unit].astype(str).tolist()
    dfs = {n: (None if not math.isfinite(d) else float(d))
           for n, d in zip(names, good[df] if df in good.columns else [math.inf] * len(names), strict=True)}
    ranks = rank_ranges(dict(zip(names, good[estimate].astype(float), strict=True)),
                        dict(zip(names, good[se].astype(float), strict=True)), dfs, alpha,
                        _pair_covariances(cov, names))
    keys = rows[unit].astype(str)
    for col in ("rank", "rank_best", "rank_worst", "joint_rank_best", "joint_rank_worst"):
        rows[col] = pd.array([ranks[u][col] if u in ranks else pd.NA for u in keys], dtype="Int64")
    rows["not_different_from"] = [", ".join(ranks[u]["not_different_from"]) if u in ranks else ""
                                  for u in keys]
    rows["n_not_different"] = pd.array([len(ranks[u]["not_different_from"]) if u in ranks else pd.NA
                                        for u in keys], dtype="Int64")
    nxt: list = [pd.NA] * len(rows)
    for i in range(len(names) - 1):
        nxt[i] = names[i + 1] not in ranks[names[i]]["not_different_from"]
    rows["different_from_next"] = pd.array(nxt, dtype="boolean")
    rows["ranking_note"] = ["" if r else CANNOT_RANK for r in rows["rankable"]]
    return rows


def _pair_covariances(cov: pd.DataFrame | None, names: list[str]) -> dict[tuple[str, str], float]:
    """Covariances between the named units from a square table keyed by unit (absent pairs: 0)."""
    if cov is None:
        return {}
    table = cov.rename(index=str, columns=str)
    present = [n for n in names if n in table.index and n in table.columns]
    out = {}
    for i, a in enumerate(present):
        for b in present[i + 1:]:
            value = float(table.at[a, b])
            if math.isfinite(value) and value != 0.0:
                out[(a, b)] = value
    return out
