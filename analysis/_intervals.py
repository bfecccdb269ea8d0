"""Confidence intervals for bounded figures: logit scale, or Clopper–Pearson on the effective n.

Proportions, SIPAS items, components and overall indices (0–100) and PAR survey points
(0–max) are bounded, and near the bound the symmetric ``est ± t se`` interval under-covers on
one side (the sampling distribution is skewed) and can leave the range. Here:

* the estimate is first clamped to ``[0, upper]`` (no ``100.00000000000001``);
* with a positive standard error and at least one design degree of freedom, the interval is the
  Wald interval on the logit scale by the delta method, ``expit(logit(p) ± t_df se / (p (1 - p)))``
  with ``p = est / upper`` (Korn & Graubard 1998; R's ``svyciprop(method = "logit")``);
* where it cannot be formed — the estimate is at a bound, the variance is zero (every answer the
  same) or there are no degrees of freedom (one cluster) — the interval is Clopper–Pearson on the
  effective sample size, in the manner of Korn & Graubard (1998): ``n_eff = p (1 - p) / var(p)``
  when the variance is positive and the estimate inside the range, the number of valid answers
  otherwise (and never above it), with ``x = p n_eff`` "successes" (the beta form of the exact
  interval, so ``x`` and ``n_eff`` need not be whole). A unit with no valid answer has no interval.

Every interval satisfies ``0 <= ci_low <= estimate <= ci_high <= upper``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._frame import t_quantile


def clopper_pearson(x, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial interval in its beta form, for real ``0 <= x <= n`` (NaN where ``n`` <= 0)."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    a = (1 - level) / 2
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0)
    xs = np.where(ok, np.clip(x, 0, np.where(ok, n, 0)), 0.0)
    ns = np.where(ok, n, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(xs > 0, stats.beta.ppf(a, np.maximum(xs, 1e-300), ns - xs + 1), 0.0)
        high = np.where(xs < ns, stats.beta.ppf(1 - a, xs + 1, np.maximum(ns - xs, 1e-300)), 1.0)
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def bounded_interval(estimate, se, df, n, upper=1.0, level: float = 0.95):
    """Clamped estimates and their intervals on ``[0, upper]`` (see the module docstring).

    Parameters
    ----------
    estimate, se, df, n : array-like (broadcast together)
        Estimates, standard errors, design degrees of freedom (``inf`` for the normal quantile)
        and numbers of valid answers.
    upper : array-like
        Upper bound of each figure (1 for a proportion, 100 for an index, ``max_points``); where it
        is infinite the interval is ``est ± t se`` floored at 0.
    level : float

    Returns
    -------
    (estimate, ci_low, ci_high) : tuple of ndarray
        The clamped estimate and the interval; NaN where the estimate is NaN or nothing was observed.
    """
    est, se, df, n, upper = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                  for v in (estimate, se, df, n, upper)))
    finite_upper = np.isfinite(upper) & (upper > 0)
    scale = np.where(finite_upper, upper, 1.0)
    est = np.where(np.isfinite(upper), np.clip(est, 0.0, np.where(np.isfinite(upper), upper, 0.0)),
                   np.maximum(est, 0.0))
    p = est / scale
    var = (se / scale) ** 2
    q = np.where(np.isinf(df), stats.norm.ppf(0.5 + level / 2), t_quantile(np.where(np.isinf(df), 1, df),
                                                                             level))
    inside = (p > 0) & (p < 1)
    logit = finite_upper & inside & (var > 0) & np.isfinite(var) & np.isfinite(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.log(p / (1 - p))
        half = q * np.sqrt(var) / (p * (1 - p))
        lo_l, hi_l = _expit(eta - half), _expit(eta + half)
        n_var = np.where(inside & (var > 0), p * (1 - p) / var, np.inf)
    n_eff = np.minimum(n_var, np.where(np.isfinite(n), n, 0.0))
    # the beta quantiles are slow for large n: work them out only where they are used
    need = ~logit
    lo_c, hi_c = np.full(p.shape, np.nan), np.full(p.shape, np.nan)
    if need.any():
        lo_c[need], hi_c[need] = clopper_pearson((p * n_eff)[need], n_eff[need], level)
    low = np.where(logit, lo_l, lo_c)
    high = np.where(logit, hi_l, hi_c)
    # the clamp keeps est inside its interval despite rounding in expit and the beta quantiles
    low = np.minimum(low * scale, est)
    high = np.maximum(high * scale, est)
    # a figure without a finite upper bound keeps the symmetric t interval, floored at 0
    low = np.where(finite_upper, low, np.maximum(est - q * se, 0.0))
    high = np.where(finite_upper, high, est + q * se)
    bad = np.isnan(est)
    return est, np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def _expit(x: np.ndarray) -> np.ndarray:
    """Inverse logit."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))
