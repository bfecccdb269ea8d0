"""Weight adjustment: post-stratification, raking, nonresponse and trimming.

Each function returns a new :class:`~analysis.design.Design` with adjusted
weights.  Where the adjustment is a calibration, the new design also records
how to residualise the linearised scores so that standard errors reflect it,
exactly as R's ``postStratify()`` and ``rake()`` do inside ``svyrecvar()``
(Lumley 2010, *Complex Surveys*, ch. 7; Särndal, Swensson & Wretman 1992,
sec. 7.6 and 6.5; Deville & Särndal 1992).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .design import Design, LinearStep, _as_list

# R's svyrecvar() applies the raking residualisation this many times.
_RAKE_RESIDUAL_SWEEPS = 10


def _codes(design: Design, var) -> tuple[np.ndarray, list]:
    """Integer codes and level labels of one column, rejecting missing values."""
    codes, levels = pd.factorize(design.data[var], sort=True)
    if (codes < 0).any():
        raise ValueError(f"missing values in calibration variable {var!r}")
    return codes.astype(np.int64), list(levels)


def _population_vector(var, levels: list, population) -> np.ndarray:
    """Population totals in the order of the sample levels, checking both sides."""
    population = dict(population)
    missing = [lv for lv in levels if lv not in population]
    if missing:
        raise ValueError(f"levels of {var!r} in the sample have no population total: {missing}")
    extra = [lv for lv in population if lv not in set(levels) and population[lv] != 0]
    if extra:
        raise ValueError(f"population levels of {var!r} absent from the sample: {extra}")
    return np.array([float(population[lv]) for lv in levels])


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Element-wise division with zero where the denominator is zero."""
    out = np.zeros_like(num, dtype=float)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _post_step(codes, n_groups, old_w, new_w) -> LinearStep:
    """R's post-stratification residual: score minus new weight times post-stratum mean."""
    old_sum = np.bincount(codes, weights=old_w, minlength=n_groups)
    return LinearStep(codes, n_groups, new_w, _safe_div(old_w, new_w * old_sum[codes]))


def _post_weights(codes, n_groups, w, pop, var) -> np.ndarray:
    """Weights scaled so their post-stratum sums equal the population totals."""
    sample = np.bincount(codes, weights=w, minlength=n_groups)
    if (sample <= 0).any():
        raise ValueError(f"a level of {var!r} has zero total weight in the sample")
    return w * (pop / sample)[codes]


def poststratify(design: Design, var: str, population) -> Design:
    """Post-stratify the weights to known population counts, as R's ``postStratify``.

    Weights in post-stratum g are multiplied by ``N_g / sum_g(w)`` (Holt &
    Smith 1979; Lumley 2010, sec. 7.2).  The linearised scores are replaced
    by their residuals from the weighted post-stratum mean, so SEs are those
    of the post-stratified estimator.

    Parameters
    ----------
    design : Design
    var : str
        Post-stratification column.
    population : mapping
        Level -> population total (count of units).

    Returns
    -------
    Design
    """
    codes, levels = _codes(design, var)
    pop = _population_vector(var, levels, population)
    new_w = _post_weights(codes, len(levels), design.weights, pop, var)
    step = _post_step(codes, len(levels), design.weights, new_w)
    return design._replace_weights(new_w, design.steps + [step])


def rake(design: Design, margins, max_iter: int = 10, tol: float = 1.0) -> Design:
    """Rake the weights to several population margins, as R's ``rake``.

    Iterative proportional fitting (Deming & Stephan 1940): each sweep
    post-stratifies to every margin in turn; it stops when the weighted
    joint table of the margin variables changes by less than ``tol`` (R's
    ``control = list(maxit = 10, epsilon = 1)`` defaults).  As in R's
    ``svyrecvar()``, the scores are residualised by ten sweeps of
    margin-wise centring using the weights of the final sweep, which
    approximates the calibration estimator's variance (Lumley 2010, sec. 7.3).

    Parameters
    ----------
    design : Design
    margins : mapping
        Variable -> {level -> population total}.
    max_iter : int, default 10
    tol : float, default 1.0
        Convergence threshold on the largest change of the weighted joint table.

    Returns
    -------
    Design
    """
    coded = []
    for var, population in dict(margins).items():
        codes, levels = _codes(design, var)
        coded.append((var, codes, len(levels), _population_vector(var, levels, population)))
    if not coded:
        raise ValueError("rake needs at least one margin")
    joint = pd.factorize(pd.MultiIndex.from_arrays([c for _, c, _, _ in coded]))[0]
    n_joint = int(joint.max()) + 1
    w = design.weights
    table = np.bincount(joint, weights=w, minlength=n_joint)
    converged = False
    for _ in range(max_iter):
        sweep = []
        for var, codes, n_groups, pop in coded:
            w = _post_weights(codes, n_groups, w, pop, var)
            sweep.append((codes, n_groups, w))
        new_table = np.bincount(joint, weights=w, minlength=n_joint)
        delta = np.max(np.abs(new_table - table))
        table = new_table
        if delta < tol:
            converged = True
            break
    if not converged:
        warnings.warn(f"Raking did not converge after {max_iter} iterations", RuntimeWarning,
                      stacklevel=2)
    steps = []
    for codes, n_groups, psw in sweep:
        count = np.bincount(codes, minlength=n_groups).astype(float)
        steps.append(LinearStep(codes, n_groups, psw, _safe_div(np.ones_like(psw),
                                                                psw * count[codes])))
    return design._replace_weights(w, design.steps + steps * _RAKE_RESIDUAL_SWEEPS)


def nonresponse_adjust(design: Design, cells, respondent, min_respondents: int | None = None,
                       within=None) -> Design:
    """Weighting-class nonresponse adjustment.

    Within each cell the respondents' weights are multiplied by
    ``sum(w, all units) / sum(w, respondents)`` and nonrespondents get weight
    zero (they stay in the design, outside every domain), so each cell keeps
    its estimated total (Kalton & Flores-Cervantes 2003; Särndal & Lundström
    2005, ch. 7).  Because the cell totals are estimated rather than known, the
    linearised score becomes ``x - (w_new - w) * sum_c(x) / sum_c(w_new)``
    (the Taylor expansion of ``sum_c (A_c / R_c) Y_rc``; Särndal et al. 1992,
    sec. 15.6), so the SEs include the variance of the adjustment factors.

    **Collapsing rule** (with ``min_respondents=k``).  Cells are taken in the
    sorted order of their labels within each ``within`` group (e.g. the
    stratum; the whole sample when ``None``).  Walking that order, cells are
    pooled into one adjustment class until the class holds at least ``k``
    respondents with positive weight; cells left over at the end of a group
    (fewer than ``k`` respondents between them) join the group's last class.
    So an empty or small cell is merged with the next cell of its group (the
    last cell of a group with the previous one), and cells never merge across
    groups.  A group that has fewer than ``k`` respondents in all stays one
    class (flagged ``small``); a group without any respondent cannot be
    adjusted: its rows get weight zero and it is reported as not covered, so
    estimates describe the covered groups only.  The classes are recorded in
    ``design.nonresponse_classes`` (one row per cell: its labels, group,
    respondents, ``class``, ``class_respondents``, ``factor``, ``collapsed``,
    ``small``, ``covered``).  Without ``min_respondents`` nothing is collapsed
    and a cell without respondents is an error.

    Parameters
    ----------
    design : Design
    cells : str or list of str
        Adjustment-cell column(s).
    respondent : str or array-like of bool
        Column (or values) flagging respondents.
    min_respondents : int, optional
        Smallest number of respondents of an adjustment class (collapse cells below it).
    within : str or list of str, optional
        Column(s) of the groups that cells are collapsed within (never across).

    Returns
    -------
    Design
    """
    group_cols = _as_list(within)
    cell_cols = group_cols + [c for c in _as_list(cells) if c not in group_cols]
    grouped = design.data.groupby(cell_cols, sort=True, observed=True, dropna=True)
    codes = grouped.ngroup().to_numpy()
    if (codes < 0).any():
        raise ValueError("missing values in nonresponse cells")
    labels = grouped.size().index.to_frame(index=False)
    resp = design.data[respondent] if isinstance(respondent, str) else respondent
    resp = np.asarray(pd.Series(resp).fillna(False), dtype=bool)
    n_cells = len(labels)
    w = design.weights
    counts = np.bincount(codes, weights=resp & (w > 0), minlength=n_cells)
    if min_respondents is None:
        klass = np.arange(n_cells)
    else:
        if min_respondents < 1:
            raise ValueError("min_respondents must be at least 1")
        group = (labels.groupby(group_cols, sort=False, observed=True).ngroup().to_numpy()
                 if group_cols else np.zeros(n_cells, dtype=np.int64))
        klass = _collapse(counts, group, min_respondents)
    n_groups = int(klass.max()) + 1
    codes = klass[codes]
    all_sum = np.bincount(codes, weights=w, minlength=n_groups)
    resp_sum = np.bincount(codes, weights=w * resp, minlength=n_groups)
    empty = (resp_sum <= 0) & (all_sum > 0)
    if empty.any() and min_respondents is None:
        first = labels.iloc[int(np.flatnonzero(empty[klass])[0])]
        label = first.iloc[0] if len(first) == 1 else tuple(first)
        raise ValueError(f"nonresponse cell {label!r} has no respondents with positive weight")
    factor = _safe_div(all_sum, resp_sum)
    new_w = np.where(resp, w * factor[codes], 0.0)
    step = LinearStep(codes, n_groups, new_w - w, _safe_div(np.ones(n_groups), all_sum)[codes])
    out = design._replace_weights(new_w, design.steps + [step])
    class_counts = np.bincount(klass, weights=counts, minlength=n_groups)
    out.nonresponse_classes = labels.assign(
        respondents=counts.astype(np.int64), **{"class": klass},
        class_respondents=class_counts[klass].astype(np.int64), factor=factor[klass],
        collapsed=np.bincount(klass, minlength=n_groups)[klass] > 1,
        small=class_counts[klass] < (min_respondents or 1), covered=class_counts[klass] > 0)
    return out


def _collapse(counts: np.ndarray, group: np.ndarray, k: int) -> np.ndarray:
    """Adjustment class of each cell (cells in sorted order): the rule of :func:`nonresponse_adjust`."""
    klass = np.empty(len(counts), dtype=np.int64)
    next_class = 0
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        first_class, pending, held = next_class, [], 0.0
        for c in members:
            pending.append(c)
            held += counts[c]
            if held >= k:
                klass[pending] = next_class
                next_class += 1
                pending, held = [], 0.0
        if pending:
            if next_class > first_class:  # leftovers join the group's last class
                klass[pending] = next_class - 1
            else:  # the whole group holds fewer than k: one (small, perhaps empty) class
                klass[pending] = next_class
                next_class += 1
    return klass


def trim(design: Design, lower: float | None = None, upper: float | None = None, by=None,
         max_iter: int = 50) -> Design:
    """Trim extreme weights to ``[lower, upper]`` and recalibrate, within strata (or ``by`` cells).

    Weights outside the bounds are set to the bound and the amount trimmed is given back to the
    untrimmed weights of the same cell in proportion to their size, so every cell keeps its weight
    total (its population); since that can push other weights over a bound, the two steps repeat
    until every weight is inside (Potter 1990; Valliant, Dever & Kreuter 2018, sec. 14.4; R's
    ``trimWeights(strict = TRUE)``).  Weights never become negative; a cell whose total cannot be
    kept inside the bounds (``n_c * upper < total`` or ``n_c * lower > total``) is an error.
    Calibration steps of the design are kept for the SEs; the trimmed weights are treated as fixed.

    Parameters
    ----------
    design : Design
    lower, upper : float, optional
        Bounds (``lower`` at least 0).
    by : str or list of str, optional
        Cell column(s); default the design's first-stage strata; ``[]`` for the whole sample.
    max_iter : int, default 50

    Returns
    -------
    Design
    """
    lo = 0.0 if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if lo < 0 or lo > hi:
        raise ValueError(f"trimming bounds must satisfy 0 <= lower <= upper, got {lower}, {upper}")
    w = design.weights.astype(float)
    if by is None:
        st = design.stages[0]
        cells, n_cells = st.stratum_of_cluster[st.cluster], st.n_strata
    elif not _as_list(by):
        cells, n_cells = np.zeros(design.n, dtype=np.int64), 1
    else:
        grouped = design.data.groupby(_as_list(by), sort=True, observed=True, dropna=False)
        cells, n_cells = grouped.ngroup().to_numpy(), grouped.ngroups
    live = w > 0  # zero weights (non-respondents) stay zero
    total = np.bincount(cells, weights=w, minlength=n_cells)
    count = np.bincount(cells, weights=live, minlength=n_cells)
    bad = (count * hi < total * (1 - 1e-12)) | (count * lo > total * (1 + 1e-12))
    if bad.any():
        raise ValueError("trimming bounds cannot hold a cell's weight total "
                         f"(cell {int(np.flatnonzero(bad)[0])}: {int(count[bad][0])} weights, "
                         f"total {total[bad][0]:g})")
    new_w = w.copy()
    for _ in range(max_iter):
        clipped = np.where(live, np.clip(new_w, lo, hi), 0.0)
        gap = total - np.bincount(cells, weights=clipped, minlength=n_cells)
        # the weights that can take the cell's gap: below the upper bound when weight must be
        # added, above the lower bound when it must be taken away
        up = gap[cells] > 0
        free = live & np.where(up, clipped < hi, clipped > lo)
        free_sum = np.bincount(cells, weights=np.where(free, clipped, 0.0), minlength=n_cells)
        factor = np.where(free_sum > 0, 1 + gap / np.where(free_sum > 0, free_sum, 1.0), 1.0)
        new_w = np.where(free, clipped * factor[cells], clipped)
        if np.all(new_w[live] >= lo * (1 - 1e-9)) and np.all(new_w[live] <= hi * (1 + 1e-9)):
            break
    else:
        raise ValueError(f"trimming did not converge in {max_iter} iterations")
    return design._replace_weights(np.clip(new_w, 0.0, None), design.steps)
