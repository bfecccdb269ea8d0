"""Vectorised Taylor-linearisation variance for stratified multistage designs.

This is the recursion of R ``survey``'s ``svyrecvar()`` / ``multistage()`` /
``onestage()`` (Lumley 2010, appendix C; Wolter 2007, sec. 6.11): at each
stage the cluster totals of the linearised scores are centred on their stratum
mean and summed as ``(1 - f_h) n_h / (n_h - 1) sum_i (z_hi - zbar_h)^2``; when
the fpc of a stage is known the next stage adds its own term multiplied by the
earlier sampling fractions.  Domains are handled without rebuilding any
design structure: cluster totals are accumulated per (cluster, domain) key.
"""

from __future__ import annotations

import numpy as np

from .design import Design, LinearStep, Stage

# Above this many (cluster, domain) cells, only the cells that occur are stored.
_DENSE_CELLS = 4_000_000
# Elements per dense chunk when calibrated domain scores must be materialised.
_CHUNK_ELEMENTS = 20_000_000
# R treats a stratum with sampling fraction this close to one as self-representing.
_CERTAINTY_F = 1e-7


def rowsum(codes: np.ndarray, x: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the rows of a 2-D array within integer groups (R's ``rowsum``)."""
    # one bincount per column is faster than a sparse product and sums in row order
    out = np.empty((n_groups, x.shape[1]), order="F")
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(codes, weights=x[:, j], minlength=n_groups)
    return out


def residualise(steps: list[LinearStep], x: np.ndarray) -> np.ndarray:
    """Apply calibration residualisation steps to the linearised scores."""
    for step in steps:
        means = rowsum(step.group, x * step.b[:, None], step.n_groups)
        x = x - step.a[:, None] * means[step.group]
    return x


def _stage_scale(st: Stage, mult: np.ndarray, singleton: str, stage_no: int):
    """Per-stratum variance multipliers and the mask of lonely strata to re-centre."""
    n_h = st.n_sampled
    if st.pop_size is None:
        f = np.ones(st.n_strata)
    else:
        with np.errstate(invalid="ignore"):
            f = np.where(np.isinf(st.pop_size), 1.0, (st.pop_size - n_h) / st.pop_size)
    certain = f < _CERTAINTY_F
    lonely = (n_h == 1) & ~certain
    if lonely.any() and singleton == "fail":
        label = st.stratum_labels[int(np.flatnonzero(lonely)[0])]
        raise ValueError(f"Stratum ({label}) has only one PSU at stage {stage_no}; "
                         "use singleton='certainty' or 'centre'")
    scale = np.where(n_h > 1, f * n_h / np.maximum(n_h - 1, 1), f) * mult
    scale[certain] = 0.0
    if singleton == "certainty":
        scale[lonely] = 0.0
    return scale, lonely if singleton == "centre" else np.zeros_like(lonely)


def _cluster_totals(st: Stage, x: np.ndarray, dom: np.ndarray | None, n_dom: int):
    """Score totals per (cluster, domain) cell, with each cell's cluster and domain."""
    if n_dom == 1:
        return rowsum(st.cluster, x, st.n_clusters), np.arange(st.n_clusters), None
    key = st.cluster * n_dom + dom
    n_cells = st.n_clusters * n_dom
    if n_cells <= _DENSE_CELLS:
        cells = np.arange(n_cells)
        return rowsum(key, x, n_cells), cells // n_dom, cells % n_dom
    cells, inverse = np.unique(key, return_inverse=True)
    return rowsum(inverse, x, len(cells)), cells // n_dom, cells % n_dom


def _stage_variance(st: Stage, cells, n_dom, scale, lonely, cov: bool):
    """One stage's contribution: centred cluster totals, squared and scaled."""
    totals, cell_cluster, cell_dom = cells
    stratum = st.stratum_of_cluster[cell_cluster]
    cell = stratum if cell_dom is None else stratum * n_dom + cell_dom
    n_cells = st.n_strata * n_dom
    n_h = np.repeat(st.n_sampled, n_dom)
    centre = rowsum(cell, totals, n_cells) / n_h[:, None]
    if lonely.any():
        # a lonely PSU has no stratum mean: centre it on the grand mean (R "adjust")
        grand = rowsum(np.zeros(len(cell), np.int64) if cell_dom is None else cell_dom,
                       totals, n_dom) / st.n_clusters
        lonely_cells = np.repeat(lonely, n_dom)
        centre[lonely_cells] = np.tile(grand, (st.n_strata, 1))[lonely_cells]
    dev = totals - centre[cell]
    cell_scale = np.repeat(scale, n_dom)
    if cov:
        return (dev * cell_scale[cell][:, None]).T @ dev
    present = np.bincount(cell, minlength=n_cells)
    # clusters absent from a domain have a zero total, so deviation -centre
    ss = rowsum(cell, dev * dev, n_cells) + (n_h - present)[:, None] * centre**2
    return (ss * cell_scale[:, None]).reshape(st.n_strata, n_dom, -1).sum(axis=0)


def _multistage(design: Design, x, dom, n_dom, cov: bool = False, totals=None):
    """Sum the stage contributions down the stages whose fpc is known.

    ``totals(stage)``, when given, supplies dense cluster totals instead of ``x``.
    """
    out = None
    mult = np.ones(design.stages[0].n_strata)
    for s, st in enumerate(design.stages):
        scale, lonely = _stage_scale(st, mult, design.singleton, s + 1)
        if totals is None:
            cells = _cluster_totals(st, x, dom, n_dom)
        else:
            cells = (totals(st), np.arange(st.n_clusters), None)
        part = _stage_variance(st, cells, 1 if totals else n_dom, scale, lonely, cov)
        out = part if out is None else out + part
        nxt = s + 1
        if st.pop_size is None or nxt >= len(design.stages) or design.stages[nxt].pop_size is None:
            break
        mult = (mult * st.n_sampled / st.pop_size)[st.stratum_of_cluster]
    return out


def design_variance(design: Design, x: np.ndarray, dom: np.ndarray | None = None,
                    n_dom: int = 1) -> np.ndarray:
    """Variances of the totals of linearised scores, per domain.

    Parameters
    ----------
    design : Design
    x : ndarray (n, k)
        Linearised scores (influence functions times weights) for k statistics.
        With ``dom`` given, each row's scores count only towards its own domain,
        i.e. the domain score is ``x * (dom == d)``, zero elsewhere (Lumley 2010,
        sec. 2.4 on domain estimation keeping the full design).
    dom : ndarray (n,), optional
        Domain code of each row in ``0..n_dom-1``.
    n_dom : int

    Returns
    -------
    ndarray (n_dom, k)
        Linearisation variances as R's ``svyrecvar()`` diagonal.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if dom is None or n_dom == 1:
        dom, n_dom = np.zeros(len(x), dtype=np.int64), 1
    if not design.steps:
        return _multistage(design, x, dom if n_dom > 1 else None, n_dom)
    k = x.shape[1]
    largest = max(st.n_clusters for st in design.stages) * n_dom * k
    if largest <= _CHUNK_ELEMENTS:
        return _calibrated_domains(design, x, dom, n_dom).reshape(n_dom, k)
    if n_dom == 1:
        return _multistage(design, residualise(design.steps, x), None, 1)
    # too many cluster cells: materialise calibrated domain scores in chunks
    per_chunk = max(1, _CHUNK_ELEMENTS // max(design.n * k, 1))
    out = np.empty((n_dom, k))
    for start in range(0, n_dom, per_chunk):
        ds = range(start, min(start + per_chunk, n_dom))
        block = np.zeros((design.n, len(ds) * k))
        for j, d in enumerate(ds):
            rows = dom == d
            block[rows, j * k:(j + 1) * k] = x[rows]
        var = _multistage(design, residualise(design.steps, block), None, 1)
        out[start:start + len(ds)] = var.reshape(len(ds), k)
    return out


def _calibrated_domains(design: Design, x, dom, n_dom, cov: bool = False) -> np.ndarray:
    """Variances of calibrated domain scores from group-level algebra, without n x D arrays.

    A residualisation step subtracts ``a * M[g]`` with ``M = rowsum(b * r)``, so each
    step's group means for every domain follow from domain sums of ``b * x`` and the
    small cross-products ``sum(b_s a_t)`` of earlier steps; cluster totals of the
    residuals are then ``rowsum(x) - sum_s A_s M_s`` with ``A_s = rowsum(a_s)``.
    """
    steps = design.steps
    k = x.shape[1]
    # raking repeats the same step objects; their n-row passes are shared
    raw: dict[int, np.ndarray] = {}
    cross: dict[tuple[int, int], np.ndarray] = {}
    means = []
    for s, step in enumerate(steps):
        if id(step) not in raw:
            m = rowsum(step.group * n_dom + dom, x * step.b[:, None], step.n_groups * n_dom)
            raw[id(step)] = m.reshape(step.n_groups, n_dom * k)
        m = raw[id(step)]
        for t in range(s):
            prev = steps[t]
            pair = (id(step), id(prev))
            if pair not in cross:
                c = np.bincount(step.group * prev.n_groups + prev.group,
                                weights=step.b * prev.a, minlength=step.n_groups * prev.n_groups)
                cross[pair] = c.reshape(step.n_groups, prev.n_groups)
            m = m - cross[pair] @ means[t]
        means.append(m)

    def totals(st: Stage) -> np.ndarray:
        """Dense (cluster, domain x column) totals of the residualised scores."""
        out = rowsum(st.cluster * n_dom + dom, x, st.n_clusters * n_dom)
        out = out.reshape(st.n_clusters, n_dom * k)
        sums: dict[int, np.ndarray] = {}
        for step, m in zip(steps, means, strict=True):
            if id(step) not in sums:
                a = np.bincount(st.cluster * step.n_groups + step.group, weights=step.a,
                                minlength=st.n_clusters * step.n_groups)
                sums[id(step)] = a.reshape(st.n_clusters, step.n_groups)
            out = out - sums[id(step)] @ m
        return out

    return _multistage(design, None, None, 1, cov=cov, totals=totals)


def design_vcov(design: Design, x: np.ndarray) -> np.ndarray:
    """Full linearisation covariance matrix of the totals of linearised scores.

    The matrix R's ``svyrecvar()`` returns (Lumley 2010, appendix C; Wolter
    2007, sec. 6.11), including any calibration residualisation of the design.

    Parameters
    ----------
    design : Design
    x : ndarray (n, k)
        Linearised scores for k statistics.

    Returns
    -------
    ndarray (k, k)
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if design.steps and max(st.n_clusters for st in design.stages) * x.shape[1] <= _CHUNK_ELEMENTS:
        return _calibrated_domains(design, x, np.zeros(len(x), dtype=np.int64), 1, cov=True)
    return _multistage(design, residualise(design.steps, x), None, 1, cov=True)


def domain_degf(design: Design, valid: np.ndarray, dom: np.ndarray | None,
                n_dom: int) -> np.ndarray:
    """Rows used, and PSUs minus strata holding them, per domain and column.

    Rows are used when valid and positively weighted; the df is R's ``degf()``
    of ``subset(design, domain & !is.na(y))``.  Returns ``(n_obs, df)``.
    """
    st = design.stages[0]
    k = valid.shape[1]
    if k > 1 and valid.strides[1] == 0:
        # one mask for every column (the levels of a factor): count once
        n_obs, df = domain_degf(design, valid[:, :1], dom, n_dom)
        return np.repeat(n_obs, k, axis=1), np.repeat(df, k, axis=1)
    whole = n_dom == 1 or dom is None
    if whole and valid.all():
        # every row used: the design's own count and df, worked out once per weights
        cached = design.__dict__.get("_whole_degf")
        if cached is None or cached[0] is not design.weights:
            n_obs = np.array([[float(np.count_nonzero(design.weights))]])
            cached = (design.weights, n_obs, np.array([[float(design.degf())]]))
            design._whole_degf = cached
        return np.repeat(cached[1], k, axis=1), np.repeat(cached[2], k, axis=1)
    used = valid & (design.weights != 0)[:, None]
    counts, cell_cluster, cell_dom = _cluster_totals(st, used, dom, n_dom)
    return cells_degf(st, counts, cell_cluster, cell_dom, n_dom)


def cells_degf(st: Stage, counts: np.ndarray, cell_cluster: np.ndarray, cell_dom: np.ndarray | None,
               n_dom: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`domain_degf` from the used-row counts per (first-stage cluster, domain) cell.

    Each (cluster, domain) pair must appear at most once; ``cell_dom`` ``None`` means one domain.
    """
    has = counts > 0
    if cell_dom is None:
        cell_dom = np.zeros(len(cell_cluster), dtype=np.int64)
    n_obs = rowsum(cell_dom, counts, n_dom)
    n_psu = rowsum(cell_dom, has, n_dom)
    strat_cell = st.stratum_of_cluster[cell_cluster] * n_dom + cell_dom
    strat_has = rowsum(strat_cell, has, st.n_strata * n_dom) > 0
    n_strata = strat_has.reshape(st.n_strata, n_dom, -1).sum(axis=0)
    return n_obs, n_psu - n_strata


def first_stage_only(design: Design) -> bool:
    """Whether the variance is the first stage's term alone, on uncalibrated weights.

    True without calibration steps when the first stage has no fpc, or the second
    stage none (or there is no second stage), as in :func:`_multistage`'s recursion.
    """
    stages = design.stages
    return not design.steps and (stages[0].pop_size is None or len(stages) == 1
                                 or stages[1].pop_size is None)


def cells_variance(design: Design, totals: np.ndarray, cell_cluster: np.ndarray,
                   cell_dom: np.ndarray | None, n_dom: int) -> np.ndarray:
    """:func:`design_variance` from score totals per (first-stage cluster, domain) cell.

    For designs where :func:`first_stage_only` holds.  Each (cluster, domain) pair
    appears at most once; absent pairs have a zero total.  ``cell_dom`` ``None``
    means one domain and then ``totals`` are per cluster (``cell_cluster`` 0..C-1).
    """
    st = design.stages[0]
    scale, lonely = _stage_scale(st, np.ones(st.n_strata), design.singleton, 1)
    return _stage_variance(st, (totals, cell_cluster, cell_dom), n_dom, scale, lonely, cov=False)


def domain_vcov(design: Design, x: np.ndarray, dom: np.ndarray, n_dom: int) -> np.ndarray:
    """Covariance matrix of the totals of linearised scores across domains (and columns).

    Two domains are correlated when they share PSUs: the covariance of their estimates is the
    stage-wise sum over strata of the cross-products of their centred PSU score totals, the
    off-diagonal of R's ``svyrecvar()`` on the domain scores ``x * (dom == d)`` (Lumley 2010,
    appendix C; ``svyby(..., covmat=TRUE)``).  Computed from dense (cluster, domain) totals, with
    the design's calibration steps, multistage fpc and lonely-PSU rule as :func:`design_variance`.

    Parameters
    ----------
    design : Design
    x : ndarray (n,) or (n, k)
        Linearised scores; row i counts towards domain ``dom[i]`` only.
    dom : ndarray (n,)
        Domain code of each row in ``0..n_dom-1``.
    n_dom : int

    Returns
    -------
    ndarray (n_dom * k, n_dom * k)
        Domain-major: entry ``d * k + j`` is column j of domain d.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    return _calibrated_domains(design, x, np.asarray(dom, dtype=np.int64), n_dom, cov=True)
