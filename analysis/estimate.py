"""Design-based means, totals, ratios and proportions with linearised SEs.

Each estimator matches the corresponding function of R's ``survey`` package
(``svymean``, ``svytotal``, ``svyratio``, ``svyciprop``, and ``svyby`` for
domains; Lumley 2010, *Complex Surveys*, ch. 2-3).  Standard errors come from
the Taylor linearisation of the estimator (Wolter 2007, ch. 6; Särndal,
Swensson & Wretman 1992, sec. 5.5), computed for all variables and domains in
one pass by :func:`analysis._variance.design_variance`.

Every function returns a DataFrame with the domain columns (when ``by`` is
given), ``variable`` (for a list of variables) or ``level`` (for a factor),
then ``estimate``, ``se``, ``ci_low``, ``ci_high`` (95%), ``df`` and ``n``.
Every estimator takes ``variance=``: ``None`` (Taylor linearisation, the default), a replicate
type (``"jk1"``, ``"jkn"``, ``"bootstrap"``, ``"auto"``) or
:class:`analysis.replicates.ReplicateWeights`, for replicate SEs and intervals (same ``df``).
``df`` is R's ``degf()`` of the domain subset: PSUs minus strata among the
rows that are in the domain and have the variable observed; ``n`` counts
those rows.  Rows with a missing value are treated as outside the domain
(R's ``na.rm = TRUE`` on a subset), so the full design is always kept.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from . import _frame, replicates
from ._intervals import bounded_interval
from ._variance import design_variance, domain_degf, rowsum
from .design import Design

_CI_METHODS = ("logit", "xlogit", "t", "normal")


def _column_sums(design: Design, y, valid, dom, n_dom, kind: str):
    """Per-column domain weight sums, weighted sums and linearised scores.

    Scores are ``w y`` for totals and ``w (y - ybar_d) / W_d`` for means (zero
    off-domain); columns are processed one at a time to keep memory at n x k.
    """
    w = design.weights
    n, k = y.shape
    w_sum = np.empty((n_dom, k))
    y_sum = np.empty((n_dom, k))
    scores = np.empty((n, k), order="F")
    for j in range(k):
        wj = np.where(valid[:, j], w, 0.0)
        wy = wj * np.where(valid[:, j], y[:, j], 0.0)
        w_sum[:, j] = np.bincount(dom, weights=wj, minlength=n_dom)
        y_sum[:, j] = np.bincount(dom, weights=wy, minlength=n_dom)
        if kind == "total":
            scores[:, j] = wy
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            centre = np.nan_to_num(y_sum[:, j] / w_sum[:, j])
            inv = np.where(w_sum[:, j] > 0, 1.0 / w_sum[:, j], 0.0)
        scores[:, j] = (wy - wj * centre[dom]) * inv[dom]
    return w_sum, y_sum, scores


def _counts(design: Design, valid: np.ndarray, dom, n_dom):
    """Observations used and design df per domain and column."""
    return domain_degf(design, valid, dom, n_dom)


def _srs_variance(design: Design, y, valid, est, w_sum, nobs, dom, replace):
    """Variance of the mean under simple random sampling, as R's ``deff=`` option.

    R's ``svymean(deff=TRUE)`` uses sampling without replacement from a
    population of size ``sum(w)``; ``deff="replace"`` uses with replacement.
    """
    ss = np.empty_like(est)
    for j in range(est.shape[1]):
        wj = np.where(valid[:, j], design.weights, 0.0)
        resid = np.where(valid[:, j], y[:, j] - np.nan_to_num(est[:, j])[dom], 0.0)
        ss[:, j] = np.bincount(dom, weights=wj * resid * resid, minlength=len(est))
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = ss / w_sum * nobs / (nobs - 1)
        if replace:
            return s2 / nobs
        return s2 * (w_sum - nobs) / (w_sum * nobs)


def _prepare(design: Design, var, by):
    """Values, validity mask and key column for a numeric list or a factor."""
    dom, n_dom, labels, in_dom = _frame.domains(design, by)
    single = isinstance(var, str)
    if single and _frame.is_categorical(design.data[var]):
        y, valid, levels = _frame.indicator_matrix(design, var)
        valid = np.repeat((valid & in_dom)[:, None], y.shape[1], axis=1)
        return y, valid, dom, n_dom, labels, "level", levels
    y, names = _frame.numeric_matrix(design, var)
    valid = ~np.isnan(y) & in_dom[:, None]
    return y, valid, dom, n_dom, labels, (None if single else "variable"), names


def _finish(design, labels, n_dom, key, keys, est, var, valid, dom, deff=None, ci=None,
            counts=None):
    """Standard errors, t intervals, df and counts assembled into the result table."""
    # a NaN estimate (an empty domain) has a NaN standard error and interval, never 0
    se = np.where(np.isnan(est), np.nan, np.sqrt(np.maximum(var, 0.0)))
    nobs, df = _counts(design, valid, dom, n_dom) if counts is None else counts
    if ci is None:
        half = _frame.t_quantile(df) * se
        ci = (est - half, est + half)
    ci = tuple(np.where(np.isnan(est), np.nan, c) for c in ci)
    cols = {"estimate": est, "se": se, "ci_low": ci[0], "ci_high": ci[1], "df": df, "n": nobs}
    if deff is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            cols["deff"] = var / deff
    return _frame.assemble(labels, n_dom, key, keys, cols)


def mean(design: Design, var, by=None, deff: bool | str = False, variance=None):
    """Estimate population (or domain) means, as R's ``svymean``.

    The Hajek estimator ``sum(w y) / sum(w)`` with linearised scores
    ``w (y - ybar) / sum(w)`` (Lumley 2010, sec. 2.2; Särndal et al. 1992,
    result 5.6.1).  A categorical ``var`` gives one row per level (the
    estimated proportions, like ``svymean`` of a factor).

    Parameters
    ----------
    design : Design
    var : str or list of str
        Column(s) to analyse; each numeric column has its own missing-value mask.
    by : str or list of str, optional
        Domain variable(s), as ``svyby(..., svymean)``.
    deff : bool or "replace", default False
        Add the design effect: the design variance over the simple random
        sampling variance without replacement from a population of
        ``sum(w)`` units (``True``, R's ``deff=TRUE``), or with replacement
        (``"replace"``).

    Returns
    -------
    pandas.DataFrame
    """
    y, valid, dom, n_dom, labels, key, keys = _prepare(design, var, by)
    w_sum, y_sum, scores = _column_sums(design, y, valid, dom, n_dom, "mean")
    with np.errstate(divide="ignore", invalid="ignore"):
        est = y_sum / w_sum
    var_ = design_variance(design, scores, dom, n_dom) if variance is None else \
        replicates.estimator_variance(variance, design, "mean", y, valid, dom, n_dom)
    srs = counts = None
    if deff:
        counts = _counts(design, valid, dom, n_dom)
        srs = _srs_variance(design, y, valid, est, w_sum, counts[0], dom, deff == "replace")
    return _finish(design, labels, n_dom, key, keys, est, var_, valid, dom, srs, counts=counts)


def total(design: Design, var, by=None, deff: bool | str = False, variance=None):
    """Estimate population (or domain) totals, as R's ``svytotal``.

    The Horvitz-Thompson estimator ``sum(w y)`` (Horvitz & Thompson 1952;
    Lumley 2010, sec. 2.2) whose linearised scores are ``w y``.  A categorical
    ``var`` gives the estimated number of population units per level.

    Parameters
    ----------
    design : Design
    var : str or list of str
    by : str or list of str, optional
        Domain variable(s), as ``svyby(..., svytotal)``.
    deff : bool or "replace", default False
        Design effect against ``sum(w)^2`` times the SRS variance of the mean
        (without replacement for ``True``, with replacement for ``"replace"``).

    Returns
    -------
    pandas.DataFrame
    """
    y, valid, dom, n_dom, labels, key, keys = _prepare(design, var, by)
    w_sum, est, scores = _column_sums(design, y, valid, dom, n_dom, "total")
    var_ = design_variance(design, scores, dom, n_dom) if variance is None else \
        replicates.estimator_variance(variance, design, "total", y, valid, dom, n_dom)
    srs = counts = None
    if deff:
        counts = _counts(design, valid, dom, n_dom)
        with np.errstate(divide="ignore", invalid="ignore"):
            means = est / w_sum
        srs = _srs_variance(design, y, valid, means, w_sum, counts[0], dom,
                            deff == "replace") * w_sum**2
    return _finish(design, labels, n_dom, key, keys, est, var_, valid, dom, srs, counts=counts)


def ratio(design: Design, num, den, by=None, variance=None):
    """Estimate ratios of population totals, as R's ``svyratio``.

    The combined ratio estimator ``R = sum(w y) / sum(w x)`` with linearised
    scores ``w (y - R x) / sum(w x)`` (Lumley 2010, sec. 3.5; Särndal et al.
    1992, sec. 5.6).  Rows where either variable is missing are dropped.

    Parameters
    ----------
    design : Design
    num, den : str or list of str
        Numerator and denominator columns, paired element-wise.
    by : str or list of str, optional

    Returns
    -------
    pandas.DataFrame
        With a ``variable`` column ``"num/den"`` when lists are given.
    """
    yn, num_names = _frame.numeric_matrix(design, num)
    yd, den_names = _frame.numeric_matrix(design, den)
    if yn.shape[1] != yd.shape[1]:
        raise ValueError("num and den must name the same number of columns")
    dom, n_dom, labels, in_dom = _frame.domains(design, by)
    valid = ~np.isnan(yn) & ~np.isnan(yd) & in_dom[:, None]
    wv = design.weights[:, None] * valid
    nz = np.where(valid, yn, 0.0)
    dz = np.where(valid, yd, 0.0)
    n_sum = rowsum(dom, wv * nz, n_dom)
    d_sum = rowsum(dom, wv * dz, n_dom)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = n_sum / d_sum
        inv = np.where(d_sum != 0, 1.0 / d_sum, 0.0)
    scores = wv * (nz - np.nan_to_num(est)[dom] * dz) * inv[dom]
    var_ = design_variance(design, scores, dom, n_dom) if variance is None else \
        replicates.estimator_variance(variance, design, "ratio", yn, valid, dom, n_dom, den=yd)
    single = isinstance(num, str)
    keys = [f"{a}/{b}" for a, b in zip(num_names, den_names, strict=True)]
    return _finish(design, labels, n_dom, None if single else "variable", keys, est, var_,
                   valid, dom)


def proportion(design: Design, var: str, by=None, ci: str = "logit", level: float = 0.95,
               variance=None):
    """Estimate the proportion in each level of a variable with a confidence interval.

    Proportions and SEs are those of ``svymean`` on a factor; the intervals are
    R's ``svyciprop``: ``"logit"`` (default; also ``"xlogit"``) is the Wald
    interval on the logit scale, ``expit(logit(p) +/- t_df se / (p (1 - p)))``
    (Korn & Graubard 1998; Lumley 2010, sec. 2.3.1); ``"t"`` is
    ``p +/- t_df se`` (svyciprop ``method="mean"``); ``"normal"`` uses the
    normal quantile.  ``t_df`` has the domain's design degrees of freedom.  Where the logit
    interval cannot be formed (a proportion of 0 or 1, zero variance, no degrees of freedom) the
    logit methods give Clopper–Pearson on the effective sample size (Korn & Graubard 1998; see
    :mod:`analysis._intervals`) instead of a degenerate interval.

    Parameters
    ----------
    design : Design
    var : str
        Column whose levels (non-missing values) are analysed.
    by : str or list of str, optional
    ci : {"logit", "xlogit", "t", "normal"}
    level : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row per (domain, level).
    """
    if ci not in _CI_METHODS:
        raise ValueError(f"ci must be one of {_CI_METHODS}, got {ci!r}")
    dom, n_dom, labels, in_dom = _frame.domains(design, by)
    y, valid1, levels = _frame.indicator_matrix(design, var)
    valid = np.repeat((valid1 & in_dom)[:, None], y.shape[1], axis=1)
    w_sum, y_sum, scores = _column_sums(design, y, valid, dom, n_dom, "mean")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = y_sum / w_sum
    var_ = design_variance(design, scores, dom, n_dom) if variance is None else \
        replicates.estimator_variance(variance, design, "mean", y, valid, dom, n_dom)
    se = np.where(np.isnan(p), np.nan, np.sqrt(np.maximum(var_, 0.0)))
    counts = _counts(design, valid, dom, n_dom)
    df = counts[1]
    q = stats.norm.ppf(0.5 + level / 2) if ci == "normal" else _frame.t_quantile(df, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ci in ("logit", "xlogit"):
            # logit scale; Clopper–Pearson on the effective n at 0 or 1, zero variance or no df
            p, *bounds = bounded_interval(p, se, df, counts[0], 1.0, level)
        else:
            bounds = (p - q * se, p + q * se)
    return _finish(design, labels, n_dom, "level", levels, p, var_, valid, dom, ci=bounds,
                   counts=counts)
