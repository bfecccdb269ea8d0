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
import pandas as pd
from scipy import stats

from . import _frame, replicates
from ._intervals import bounded_interval
from ._variance import (
    cells_degf,
    cells_variance,
    design_variance,
    domain_degf,
    domain_vcov,
    first_stage_only,
    rowsum,
)
from .design import Design

_CI_METHODS = ("logit", "xlogit", "t", "normal")


def _column_sums(design: Design, y, valid, dom, n_dom, kind: str):
    """Per-column domain weight sums, weighted sums and linearised scores.

    Scores are ``w y`` for totals and ``w (y - ybar_d) / W_d`` for means (zero
    off-domain); columns are processed one at a time to keep memory at n x k.
    A column observed on every row is used as it is, and one domain is summed
    without a histogram.
    """
    w = design.weights
    n, k = y.shape
    w_sum = np.empty((n_dom, k))
    y_sum = np.empty((n_dom, k))
    scores = np.empty((n, k), order="F")
    for j in range(k):
        if valid[:, j].all():
            wj, wy = w, np.multiply(w, y[:, j], out=scores[:, j])
        else:
            wj = np.where(valid[:, j], w, 0.0)
            wy = np.multiply(wj, np.where(valid[:, j], y[:, j], 0.0), out=scores[:, j])
        if n_dom == 1:
            w_sum[0, j], y_sum[0, j] = wj.sum(), wy.sum()
        else:
            w_sum[:, j] = np.bincount(dom, weights=wj, minlength=n_dom)
            y_sum[:, j] = np.bincount(dom, weights=wy, minlength=n_dom)
        if kind == "total":
            continue  # the scores are wy, already in place
        with np.errstate(divide="ignore", invalid="ignore"):
            centre = np.nan_to_num(y_sum[:, j] / w_sum[:, j])
            inv = np.where(w_sum[:, j] > 0, 1.0 / w_sum[:, j], 0.0)
        if n_dom == 1:
            wy -= wj * centre[0]
            wy *= inv[0]
        else:
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
        # one mask for every level (a read-only view, counted once by domain_degf)
        valid = np.broadcast_to((valid & in_dom)[:, None], y.shape)
        return y, valid, dom, n_dom, labels, "level", levels
    y, names = _frame.numeric_matrix(design, var)
    valid = ~np.isnan(y) & in_dom[:, None]
    return y, valid, dom, n_dom, labels, (None if single else "variable"), names


def _factor_cells(design: Design, var: str, dom, n_dom: int, in_dom, kind: str):
    """Estimates, variances and counts of a factor's levels from (PSU, domain, level) weight totals.

    The linearised score total of level ``l`` in (first-stage cluster, domain) cell ``c`` is
    ``(T_cl - p_dl T_c) / W_d`` for means (``T_cl`` for totals), with ``T_cl`` the cell's
    weight in level ``l``, ``T_c`` its weight with the factor observed and ``W_d, p_dl`` the
    domain's weight and proportion; so one weighted histogram of the rows gives the same
    estimates as the row-level scores of the indicator columns, without an n x levels matrix.
    Used when the variance is the first stage's alone (:func:`_variance.first_stage_only`)
    and the histogram stays small; ``None`` otherwise.  Returns
    ``(estimate, variance, (n_obs, df), levels)``, each array (n_dom, levels).
    """
    if not first_stage_only(design):
        return None
    st = design.stages[0]
    series = design.data[var]
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw = series.cat.codes.to_numpy()
        n_cat = len(series.cat.categories)
        seen = _present_codes(raw, n_cat)
        used_levels = np.flatnonzero(seen)
        if len(used_levels) == n_cat:
            codes = raw
        else:
            rank = np.full(n_cat + 1, -1, dtype=np.int64)
            rank[used_levels] = np.arange(len(used_levels))
            codes = rank[raw]
        levels = list(series.cat.categories[used_levels])
    else:
        codes, uniques = pd.factorize(series, sort=True)
        levels = list(uniques)
    n_lev = len(levels)
    width = n_lev + 1  # the last bin of a cell holds rows with no level or outside every domain
    n_cells = st.n_clusters * n_dom
    if n_cells * width > max(4 * design.n, 1 << 20):
        return None
    key = st.cluster * n_dom  # in place from here: one n-row allocation
    if n_dom > 1:
        key += dom
    key *= width
    observed = codes >= 0
    if not in_dom.all():
        observed &= in_dom
    key += codes if observed.all() else np.where(observed, codes, n_lev)
    w = design.weights
    hist = np.bincount(key, weights=w, minlength=n_cells * width).reshape(n_cells, width)
    positive = w != 0
    rows = np.bincount(key if positive.all() else key[positive],
                       minlength=n_cells * width).reshape(n_cells, width)
    if n_dom > 1:
        # the (cluster, domain) cells holding a positively weighted row; the others have zero
        # totals (weights are never negative), which cells_variance and cells_degf allow
        occupied = np.flatnonzero(rows.any(axis=1))
        hist, rows = hist[occupied, :n_lev], rows[occupied, :n_lev]
        cell_cluster, cell_dom = occupied // n_dom, occupied % n_dom
        dom_of_cell = cell_dom
    else:
        hist, rows = hist[:, :n_lev], rows[:, :n_lev]
        cell_cluster, cell_dom = np.arange(n_cells), None
        dom_of_cell = np.zeros(n_cells, dtype=np.int64)
    cell_total = hist.sum(axis=1)
    y_sum = rowsum(dom_of_cell, hist, n_dom)
    w_sum = np.bincount(dom_of_cell, weights=cell_total, minlength=n_dom)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "total":
            est, z = y_sum, hist
        else:
            est = y_sum / w_sum
            inv = np.where(w_sum > 0, 1.0 / w_sum, 0.0)
            z = (hist - np.nan_to_num(est)[dom_of_cell] * cell_total[:, None]) * inv[dom_of_cell]
    var_ = cells_variance(design, z, cell_cluster, cell_dom, n_dom)
    count = rows.sum(axis=1, dtype=float)[:, None]
    n_obs, df = cells_degf(st, count, cell_cluster, cell_dom, n_dom)
    return est, var_, (np.repeat(n_obs, n_lev, axis=1), np.repeat(df, n_lev, axis=1)), levels


def _numeric_cells(design: Design, a, b, valid, dom, n_dom: int, kind: str):
    """Means, totals or ratios of numeric columns from (first-stage cluster, domain) cell totals.

    ``kind`` "mean" estimates ``sum(w a) / sum(w)``, "ratio" ``sum(w a) / sum(w b)`` and "total"
    ``sum(w a)`` over the valid rows of each domain.  The linearised score total of a cell
    ``c`` of domain ``d`` is ``(A_c - R_d B_c) / B_d`` (``A_c`` for totals) with ``A_c, B_c`` the
    cell's weighted sums, so one ``np.bincount`` per sum replaces the row-level scores and their
    cluster totals (the same estimator as the row-level path; only the summation order differs).
    Used when the variance is the first stage's alone (:func:`_variance.first_stage_only`) and
    the cells are few; ``None`` otherwise.  Returns the positional arguments of :func:`_finish`
    after ``keys``: ``(est, var, valid, dom, None, None, (n_obs, df))``.
    """
    if not first_stage_only(design):
        return None
    st = design.stages[0]
    n_cells = st.n_clusters * n_dom
    if n_cells > max(4 * design.n, 1 << 20):
        return None
    if n_dom == 1:
        key = st.cluster
    else:
        key = st.cluster * n_dom
        key += dom
    w = design.weights
    positive = w != 0
    every_positive = positive.all()
    k = a.shape[1]
    sum_a, rows = np.empty((n_cells, k)), np.empty((n_cells, k))
    sum_b = np.zeros((n_cells, k)) if kind == "total" else np.empty((n_cells, k))
    all_rows = None
    for j in range(k):
        vj = valid[:, j]
        full = vj.all()
        wj = w if full else np.where(vj, w, 0.0)
        aj = a[:, j] if full else np.where(vj, a[:, j], 0.0)
        sum_a[:, j] = np.bincount(key, weights=wj * aj, minlength=n_cells)
        if kind == "ratio":
            bj = b[:, j] if full else np.where(vj, b[:, j], 0.0)
            sum_b[:, j] = np.bincount(key, weights=wj * bj, minlength=n_cells)
        elif kind == "mean":
            sum_b[:, j] = np.bincount(key, weights=wj, minlength=n_cells)
        if full and every_positive:
            if all_rows is None:
                all_rows = np.bincount(key, minlength=n_cells)
            rows[:, j] = all_rows
        else:
            rows[:, j] = np.bincount(key, weights=vj & positive, minlength=n_cells)
    if n_dom > 1:
        # keep the occupied cells only (domains are often nested in strata): absent cells have
        # zero totals, which cells_variance and cells_degf allow
        # (a cell with a nonzero sum holds a valid, positively weighted row: weights are >= 0)
        occupied = np.flatnonzero(rows.any(axis=1))
        sum_a, sum_b, rows = sum_a[occupied], sum_b[occupied], rows[occupied]
        cell_cluster, cell_dom = occupied // n_dom, occupied % n_dom
        dom_of_cell = cell_dom
    else:
        cell_cluster, cell_dom = np.arange(n_cells), None
        dom_of_cell = np.zeros(n_cells, dtype=np.int64)
    a_dom = rowsum(dom_of_cell, sum_a, n_dom)
    if kind == "total":
        est, z = a_dom, sum_a
    else:
        b_dom = rowsum(dom_of_cell, sum_b, n_dom)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = a_dom / b_dom
            inv = np.where(b_dom != 0, 1.0 / b_dom, 0.0)
        z = (sum_a - np.nan_to_num(est)[dom_of_cell] * sum_b) * inv[dom_of_cell]
    var_ = cells_variance(design, z, cell_cluster, cell_dom, n_dom)
    counts = cells_degf(st, rows, cell_cluster, cell_dom, n_dom)
    return est, var_, valid, dom, None, None, counts


def _present_codes(raw: np.ndarray, n_cat: int) -> np.ndarray:
    """Which of ``n_cat`` category codes occur in ``raw`` (code -1: missing, ignored)."""
    if raw.dtype == np.int8:
        # -1 reads as 255 through an unsigned view: one histogram, no shifted copy
        return np.bincount(raw.view(np.uint8), minlength=256)[:n_cat] > 0
    return np.bincount(raw + 1, minlength=n_cat + 1)[1:] > 0


def _factor_path(design: Design, var, by, kind: str):
    """The result table of ``mean``/``total`` of a factor by :func:`_factor_cells`, or ``None``."""
    if not isinstance(var, str) or not _frame.is_categorical(design.data[var]):
        return None
    dom, n_dom, labels, in_dom = _frame.domains(design, by)
    fast = _factor_cells(design, var, dom, n_dom, in_dom, kind)
    if fast is None:
        return None
    est, var_, counts, levels = fast
    return _finish(design, labels, n_dom, "level", levels, est, var_, None, dom, counts=counts)


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
    plain = not deff and variance is None  # the cell-total shortcuts are for linearisation alone
    fast = _factor_path(design, var, by, "mean") if plain else None
    if fast is not None:
        return fast
    y, valid, dom, n_dom, labels, key, keys = _prepare(design, var, by)
    cells = _numeric_cells(design, y, None, valid, dom, n_dom, "mean") if plain else None
    if cells is not None:
        return _finish(design, labels, n_dom, key, keys, *cells)
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
    plain = not deff and variance is None  # the cell-total shortcuts are for linearisation alone
    fast = _factor_path(design, var, by, "total") if plain else None
    if fast is not None:
        return fast
    y, valid, dom, n_dom, labels, key, keys = _prepare(design, var, by)
    cells = _numeric_cells(design, y, None, valid, dom, n_dom, "total") if plain else None
    if cells is not None:
        return _finish(design, labels, n_dom, key, keys, *cells)
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
    single = isinstance(num, str)
    keys = [f"{a}/{b}" for a, b in zip(num_names, den_names, strict=True)]
    cells = _numeric_cells(design, yn, yd, valid, dom, n_dom, "ratio") if variance is None else None
    if cells is not None:
        return _finish(design, labels, n_dom, None if single else "variable", keys, *cells)
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
    fast = _factor_cells(design, var, dom, n_dom, in_dom, "mean") if variance is None else None
    if fast is not None:
        p, var_, counts, levels = fast
        valid = None
    else:
        y, valid1, levels = _frame.indicator_matrix(design, var)
        valid = np.repeat((valid1 & in_dom)[:, None], y.shape[1], axis=1)
        w_sum, y_sum, scores = _column_sums(design, y, valid, dom, n_dom, "mean")
        with np.errstate(divide="ignore", invalid="ignore"):
            p = y_sum / w_sum
        var_ = design_variance(design, scores, dom, n_dom) if variance is None else \
            replicates.estimator_variance(variance, design, "mean", y, valid, dom, n_dom)
        counts = _counts(design, valid, dom, n_dom)
    se = np.where(np.isnan(p), np.nan, np.sqrt(np.maximum(var_, 0.0)))
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


def domain_covariance(design: Design, var: str, by, den: str | None = None) -> pd.DataFrame:
    """Covariance matrix of domain means (or ratios ``var / den``) that may share PSUs.

    Domains cut across PSUs (two units served by the same village, a stratum spanning units) and
    their estimates are then correlated: the covariance is the design covariance of the
    domains' linearised score totals (:func:`analysis._variance.domain_vcov`), R's
    ``vcov(svyby(~var, ~by, design, svymean, covmat=TRUE))``.  Its diagonal is the squared
    ``se`` of :func:`mean` (or :func:`ratio`) by the same domains.  ``Var(a - b) = V_aa + V_bb
    - 2 V_ab`` is what a test of two domains' difference needs (:func:`analysis.ranking.rank_units`).

    Parameters
    ----------
    design : Design
    var : str
        Numeric column.
    by : str or list of str
        Domain variable(s).
    den : str, optional
        Denominator column: covariances of the ratios ``sum(w var) / sum(w den)``.

    Returns
    -------
    pandas.DataFrame
        Square, with the domain labels (a tuple for several ``by`` columns) as index and columns.
    """
    dom, n_dom, labels, in_dom = _frame.domains(design, by)
    y, _ = _frame.numeric_matrix(design, var)
    b = np.ones_like(y) if den is None else _frame.numeric_matrix(design, den)[0]
    valid = (~np.isnan(y) & ~np.isnan(b))[:, 0] & in_dom
    w = np.where(valid, design.weights, 0.0)
    a, b = np.where(valid, y[:, 0], 0.0), np.where(valid, b[:, 0], 0.0)
    a_sum = np.bincount(dom, weights=w * a, minlength=n_dom)
    b_sum = np.bincount(dom, weights=w * b, minlength=n_dom)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.nan_to_num(a_sum / b_sum)
        inv = np.where(b_sum != 0, 1.0 / b_sum, 0.0)
    scores = w * (a - est[dom] * b) * inv[dom]
    cov = domain_vcov(design, scores, dom, n_dom)
    index = (list(labels.itertuples(index=False, name=None)) if labels.shape[1] > 1
             else labels.iloc[:, 0].tolist())
    return pd.DataFrame(cov, index=index, columns=index)
