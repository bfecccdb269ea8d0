"""Replicate weights (JK1, JKn, Rao–Wu bootstrap) of a design, and replicate variances.

Replicate weights re-weight the whole sample once per replicate; an estimate is recomputed with
every replicate and its variance is ``scale * sum_r rscales_r (theta_r - centre)^2``, the centre
being the full-sample estimate (``mse=True``, the default here and the ``mse`` of Stata's
``svyset``) or the mean of the replicate estimates (``mse=False``, R's default) — R ``survey``'s
``svrVar`` (Lumley 2010, ch. 2; Wolter 2007, ch. 4-5). Every replicate multiplies the weights of
a first-stage PSU by a factor, so the weights are R's compressed form: a factor per (PSU,
replicate), spread to the rows only when the data are exported.

Types, with R's conventions (``as.svrepdesign``, ``jk1weights``, ``jknweights``, ``subbootweights``):

``JK1``
    Unstratified delete-one-PSU jackknife: replicate ``j`` drops PSU ``j`` and multiplies the
    others by ``n/(n-1)``; ``scale = (1-f)(n-1)/n`` with ``1-f = (N-n)/N`` from a first-stage fpc
    (1 without one), ``rscales = 1``.
``JKn``
    Stratified delete-one-PSU jackknife: in stratum ``h`` replicate ``(h, j)`` drops PSU ``j`` and
    multiplies the stratum's other PSUs by ``n_h/(n_h-1)``; ``scale = 1``,
    ``rscales = (1-f_h)(n_h-1)/n_h``. Strata sampled with certainty (``f_h = 1``) get no replicate.
``bootstrap``
    Rao–Wu rescaling bootstrap (Rao & Wu 1988; Rust & Rao 1996): in every replicate ``m_h = n_h-1``
    PSUs are drawn with replacement in each stratum, PSU ``j`` drawn ``c_j`` times gets factor
    ``c_j n_h/(n_h-1)``; ``scale = 1/(R-1)``, ``rscales = 1`` — R's
    ``as.svrepdesign(type = "subbootstrap")``. Where the design has a first-stage fpc the factor is
    shrunk towards 1, ``1 - l_h + l_h c_j n_h/(n_h-1)`` with ``l_h = sqrt(1-f_h)`` (Rao, Wu & Yue
    1992), so a linear estimator's bootstrap variance has the expectation of its linearised
    variance with fpc; R's subbootstrap ignores the fpc (``l_h = 1``). Draws are seeded: replicate
    ``r`` uses ``numpy.random.default_rng([seed, r])``, so the same seed gives the same replicates
    whatever the number asked for. They are not R's random streams.

A stratum with one PSU ("lonely"), after the design's ``singleton`` rule (as the linearisation):
``"fail"`` refuses with the stratum's name; ``"certainty"`` gives it no variance (no replicate in
the jackknife, factor 1 in the bootstrap); ``"centre"`` gives the jackknife one replicate that
multiplies the lonely PSU by ``2 - 1/C`` and every other PSU by ``1 - 1/C`` (``C`` PSUs), which moves
a total by the lonely PSU's deviation from the mean PSU total — the linearisation's ``centre``
term exactly, with ``rscale = 1-f_h``; the bootstrap pools the lonely PSUs into one stratum
(the collapsed-stratum technique), a single lonely PSU then being held at factor 1.

Rows with weight zero keep their PSU (as in the linearisation: they count in ``n_h``) and a zero
replicate weight. Only the first stage is replicated: later-stage fpcs are not used (as R, which
drops them with a warning). A calibrated design (post-stratified or raked) is refused unless
``calibrated="fixed"``, which replicates the final weights without re-calibrating each replicate
(what R's ``as.svrepdesign`` does): the SEs then miss the calibration's variance reduction.

Degrees of freedom for replicate intervals are PSUs minus strata among the rows used (R's
``degf`` of a survey design, as the linearised intervals); R computes ``degf`` of a replicate
design as the rank of the replicate weights minus one, usually the same for the jackknife and
up to PSUs minus one for the bootstrap. The Stata / R lines of :func:`instructions` pass this df.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._variance import rowsum
from .design import Design

TYPES = ("JK1", "JKn", "bootstrap")
DEFAULT_REPLICATES = 200
DEFAULT_SEED = 20261130
# elements of a dense work array (cells x replicates, pairs x columns) before splitting into blocks
_BLOCK_ELEMENTS = 16_000_000
_CERTAINTY = 1e-7


@dataclass(frozen=True)
class ReplicateWeights:
    """Replicate weights of a design in compressed form (a factor per PSU and replicate).

    Attributes
    ----------
    type : {"JK1", "JKn", "bootstrap"}
    weights : ndarray (n,)
        Full-sample weights.
    psu : ndarray (n,)
        First-stage PSU code of every row, ``0..C-1``.
    scale : float
    rscales : ndarray (R,)
    mse : bool
        Centre the replicates on the full-sample estimate (True) or on their mean.
    degf : int
        PSUs minus strata (R's ``degf`` of the design).
    seed : int or None
        The bootstrap's seed.
    """

    type: str
    weights: np.ndarray
    psu: np.ndarray
    scale: float
    rscales: np.ndarray
    mse: bool
    degf: int
    seed: int | None
    # how replicate r is built: the PSU it deletes (JK) and whether it is a lonely "centre" replicate
    _dropped: np.ndarray
    _centre: np.ndarray
    # per PSU: stratum code after pooling, n_h, factor shrink l_h, whether the bootstrap draws in it
    _stratum: np.ndarray
    _n_h: np.ndarray
    _shrink: np.ndarray
    _drawn: np.ndarray

    def __repr__(self) -> str:
        return (f"<ReplicateWeights {self.type}, R={self.n_replicates}, PSUs={self.n_psu}, "
                f"scale={self.scale:.6g}, mse={self.mse}, degf={self.degf}"
                + (f", seed={self.seed}>" if self.seed is not None else ">"))

    @property
    def n_replicates(self) -> int:
        """Number of replicates R."""
        return len(self.rscales)

    @property
    def n_psu(self) -> int:
        """Number of first-stage PSUs C."""
        return len(self._stratum)

    @property
    def multipliers(self) -> np.ndarray:
        """``scale * rscales``: each replicate's multiplier in ``sum_r m_r (theta_r - centre)^2``."""
        return self.scale * self.rscales

    def factors(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Factors of replicates ``start..stop-1`` per PSU, a (C, b) array (R's compressed weights)."""
        return self._factor_rows(start, stop).T

    def _factor_rows(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The factors replicate-major, a C-contiguous (b, C) array."""
        stop = self.n_replicates if stop is None else min(stop, self.n_replicates)
        count = max(stop - start, 0)
        c = self.n_psu
        if self.type == "bootstrap":
            out = np.empty((count, c))
            drawn = self._drawn
            keep = np.where(drawn, 1.0 - self._shrink, 1.0)
            rate = np.where(drawn, self._shrink * self._n_h / np.maximum(self._n_h - 1, 1), 0.0)
            order = np.flatnonzero(drawn)
            order = order[np.argsort(self._stratum[order], kind="stable")]
            strat = self._stratum[order]
            begin = np.flatnonzero(np.r_[True, strat[1:] != strat[:-1]]) if len(order) else order
            size = self._n_h[order[begin]].astype(np.int64)
            draw_begin = np.repeat(begin, size - 1)
            draw_size = np.repeat(size, size - 1).astype(float)
            # PSU codes nested in strata are usually in stratum order already: no gather then
            identity = len(order) == c and bool((order == np.arange(c)).all())
            for j, r in enumerate(range(start, stop)):
                rng = np.random.default_rng([int(self.seed), r])
                pick = draw_begin + (rng.random(len(draw_begin)) * draw_size).astype(np.int64)
                np.multiply(rate, np.bincount(pick if identity else order[pick], minlength=c), out=out[j])
                out[j] += keep
            return out
        out = np.ones((count, c))
        for j, r in enumerate(range(start, stop)):
            p = self._dropped[r]
            if self._centre[r]:
                out[j] = 1.0 - 1.0 / c
                out[j, p] = 2.0 - 1.0 / c
            else:
                same = self._stratum == self._stratum[p]
                n_h = self._n_h[p]
                out[j, same] = n_h / (n_h - 1)
                out[j, p] = 0.0
        return out

    def matrix(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Replicate weights of the rows (all, or a boolean/index selection): (n, R), weight x factor."""
        psu, w = self.psu, self.weights
        if rows is not None:
            psu, w = psu[rows], w[rows]
        out = np.empty((self.n_replicates, len(psu)))
        step = max(1, _BLOCK_ELEMENTS // max(self.n_psu, 1))
        rows_step = max(1, _BLOCK_ELEMENTS // (8 * max(self.n_replicates, 1)))
        for start in range(0, self.n_replicates, step):
            f = self._factor_rows(start, start + step)
            block = out[start:start + len(f)]
            for lo in range(0, len(psu), rows_step):
                hi = lo + rows_step
                np.multiply(np.take(f, psu[lo:hi], axis=1), w[lo:hi], out=block[:, lo:hi])
        return out.T

    def frame(self, rows: np.ndarray | None = None, prefix: str = "repw_") -> pd.DataFrame:
        """The replicate weights as columns ``repw_1..repw_R`` (one row per data row)."""
        m = self.matrix(rows)
        return pd.DataFrame(m, columns=[f"{prefix}{r + 1}" for r in range(m.shape[1])])


def _fpc_factor(design: Design) -> np.ndarray:
    """``1 - f_h`` per first-stage stratum (1 without an fpc, 0 for strata taken whole)."""
    st = design.stages[0]
    if st.pop_size is None:
        return np.ones(st.n_strata)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(np.isinf(st.pop_size), 1.0, (st.pop_size - st.n_sampled) / st.pop_size)
    return np.where(f < _CERTAINTY, 0.0, f)


def make_replicates(design: Design, type: str = "auto", replicates: int = DEFAULT_REPLICATES,
                    seed: int | None = DEFAULT_SEED, mse: bool = True,
                    calibrated: str = "refuse") -> ReplicateWeights:
    """Build the replicate weights of a design (see the module docstring for the rules).

    Parameters
    ----------
    design : Design
    type : {"auto", "JK1", "JKn", "bootstrap"} (case-insensitive; "jackknife" = "auto")
        ``"auto"`` is JK1 for an unstratified design and JKn otherwise, as R.
    replicates : int, default 200
        Number of bootstrap replicates (the jackknife has one per PSU).
    seed : int or None, default ``DEFAULT_SEED``
        Seed of the bootstrap draws; ``None`` takes a fresh one from the operating system, kept in
        the result (``seed``) so that the replicates can be made again.
    mse : bool, default True
    calibrated : {"refuse", "fixed"}
        What to do with a calibrated design.

    Returns
    -------
    ReplicateWeights
    """
    kind = {"auto": "auto", "jackknife": "auto", "jk1": "JK1", "jkn": "JKn", "bootstrap": "bootstrap",
            "subbootstrap": "bootstrap"}.get(str(type).lower())
    if kind is None:
        raise ValueError(f"replicate type must be one of {TYPES} or 'auto', got {type!r}")
    if design.steps and calibrated != "fixed":
        raise ValueError("the design is calibrated (post-stratified or raked): replicate weights would "
                         "need every replicate re-calibrated, which is not done here; build them "
                         "before calibration, or pass calibrated='fixed' to replicate the final weights "
                         "as fixed (R's as.svrepdesign), whose SEs miss the calibration's gain")
    st = design.stages[0]
    stratified = design.strata_col is not None
    if kind == "auto":
        kind = "JKn" if stratified else "JK1"
    if kind == "JK1" and stratified and st.n_strata > 1:
        raise ValueError("JK1 is for an unstratified design; use JKn or the bootstrap")
    c = st.n_clusters
    if c < 2:
        raise ValueError("the design has one PSU: replicates cannot estimate a variance")
    stratum = st.stratum_of_cluster.copy()
    n_h = st.n_sampled[stratum]
    fpc = _fpc_factor(design)[stratum]
    lonely = (n_h == 1) & (fpc > 0)
    if lonely.any() and design.singleton == "fail":
        label = st.stratum_labels[int(stratum[np.flatnonzero(lonely)[0]])]
        raise ValueError(f"Stratum ({label}) has only one PSU; use singleton='certainty' or 'centre'")
    empty = np.zeros(0, dtype=np.int64)
    if kind == "bootstrap":
        if replicates < 2:
            raise ValueError("the bootstrap needs at least 2 replicates")
        if seed is None:
            seed = int(np.random.SeedSequence().entropy)
        if seed < 0:
            raise ValueError("the seed must be a non-negative integer")
        shrink = np.sqrt(fpc)
        drawn = (n_h > 1) & (fpc > 0)
        if lonely.any() and design.singleton == "centre" and lonely.sum() > 1:
            stratum = np.where(lonely, st.n_strata, stratum)
            n_h = np.where(lonely, lonely.sum(), n_h).astype(float)
            shrink = np.where(lonely, 1.0, shrink)
            drawn = drawn | lonely
        return ReplicateWeights("bootstrap", design.weights, st.cluster, 1.0 / (replicates - 1),
                                np.ones(replicates), mse, design.degf(), seed, empty,
                                np.zeros(0, dtype=bool), stratum, n_h, shrink, drawn)
    # jackknife: one replicate per PSU of a stratum with n_h > 1 (not taken whole), by PSU
    dropped = np.flatnonzero((n_h > 1) & (fpc > 0))
    centre = np.zeros(len(dropped), dtype=bool)
    rscales = fpc[dropped] * (n_h[dropped] - 1) / n_h[dropped]
    if lonely.any() and design.singleton == "centre":
        extra = np.flatnonzero(lonely)
        dropped = np.r_[dropped, extra]
        centre = np.r_[centre, np.ones(len(extra), dtype=bool)]
        rscales = np.r_[rscales, fpc[extra]]
    if not len(dropped):
        raise ValueError("every stratum is taken whole or has one PSU: no replicate to build")
    scale = 1.0
    if kind == "JK1":
        scale, rscales = float(rscales[0]), np.ones(len(dropped))
    return ReplicateWeights(kind, design.weights, st.cluster, scale, rscales, mse, design.degf(), None,
                            dropped, centre, stratum, n_h, fpc, n_h > 1)


# ---- replicate variance of estimates that are functions of domain totals -------------------------


def _cells(psu: np.ndarray, x: np.ndarray, dom: np.ndarray, n_dom: int, n_psu: int):
    """Totals of ``x`` per (PSU, domain) cell present, sorted by domain then PSU."""
    key = dom.astype(np.int64) * n_psu + psu
    if n_psu * n_dom <= 4_000_000:
        totals = rowsum(key, x, n_psu * n_dom)
        cells = np.flatnonzero(np.bincount(key, minlength=n_psu * n_dom))
        totals = totals[cells]
    else:
        cells, inverse = np.unique(key, return_inverse=True)
        totals = rowsum(inverse, x, len(cells))
    return np.ascontiguousarray(totals), cells % n_psu, cells // n_psu


class _Sums:
    """Accumulators of ``sum m_r d_r^2``, ``sum m_r d_r``, ``sum d_r``, counts (d = theta_r - theta)."""

    def __init__(self, n_dom: int, k: int):
        self.sq = np.zeros((n_dom, k))
        self.lin = np.zeros((n_dom, k))
        self.plain = np.zeros((n_dom, k))
        self.bad = np.zeros((n_dom, k))      # replicates with a NaN estimate (and m_r > 0)
        self.bad_m = np.zeros((n_dom, k))    # their multipliers

    def add(self, dev: np.ndarray, dom: np.ndarray, m: np.ndarray, n_dom: int) -> None:
        """Add deviations ``dev`` (P, k) of domains ``dom`` (P,) with multipliers ``m`` (P,)."""
        nan = np.isnan(dev)
        d = np.where(nan, 0.0, dev)
        pos = (m > 0)[:, None]
        self.sq += rowsum(dom, d * d * m[:, None], n_dom)
        self.lin += rowsum(dom, d * m[:, None], n_dom)
        self.plain += rowsum(dom, d * pos, n_dom)
        self.bad += rowsum(dom, (nan & pos).astype(float), n_dom)
        self.bad_m += rowsum(dom, nan * m[:, None], n_dom)

    def variance(self, rw: ReplicateWeights) -> np.ndarray:
        """``sum_r m_r (theta_r - centre)^2`` over the replicates with an estimate."""
        if rw.mse:
            return self.sq
        m = rw.multipliers
        used = np.count_nonzero(m > 0) - self.bad
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(used > 0, self.plain / used, 0.0)
        total_m = m.sum() - self.bad_m
        return self.sq - 2 * c * self.lin + c * c * total_m


def replicate_variance(rw: ReplicateWeights, x: np.ndarray, statistic, dom: np.ndarray | None = None,
                       n_dom: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and replicate variances of a statistic of domain totals.

    Parameters
    ----------
    rw : ReplicateWeights
    x : ndarray (n, m)
        Row values already multiplied by the full-sample weight (zero outside a row's use), whose
        domain totals ``T`` (m,) the statistic is computed from; replicate ``r`` totals are
        ``sum_i a_{psu(i) r} x_i``.
    statistic : callable
        ``statistic(T, d)`` maps totals (P, m) of domains ``d`` (P,) to estimates (P, k); NaN where
        undefined (such replicates are left out of that estimate's variance, as R's ``na.omit``).
    dom : ndarray (n,), optional
    n_dom : int

    Returns
    -------
    (estimate, variance) : ndarray (n_dom, k) each
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if dom is None:
        dom, n_dom = np.zeros(len(x), dtype=np.int64), 1
    c = rw.n_psu
    totals, cell_psu, cell_dom = _cells(rw.psu, x, dom, n_dom, c)
    full = rowsum(cell_dom, totals, n_dom)
    domains = np.arange(n_dom)
    est = statistic(full, domains)
    sums = _Sums(n_dom, est.shape[1])
    if rw.type == "bootstrap":
        _dense(rw, totals, cell_psu, cell_dom, n_dom, statistic, est, sums)
    else:
        _jackknife(rw, full, totals, cell_psu, cell_dom, n_dom, statistic, est, sums)
    return est, sums.variance(rw)


def _dense(rw, totals, cell_psu, cell_dom, n_dom, statistic, est, sums) -> None:
    """Replicate totals from the factor matrix, a block of replicates at a time."""
    m = totals.shape[1]
    bounds = np.searchsorted(cell_dom, np.arange(n_dom + 1))
    block = max(1, min(rw.n_replicates, _BLOCK_ELEMENTS // max(len(cell_psu), 1)))
    mult = rw.multipliers
    every = len(cell_psu) == rw.n_psu and bool((cell_psu == np.arange(rw.n_psu)).all())
    for start in range(0, rw.n_replicates, block):
        g = rw._factor_rows(start, start + block)
        if not every:  # cells other than exactly one per PSU in PSU order (one domain)
            g = np.take(g, cell_psu, axis=1)
        b = len(g)
        rep = np.empty((b, n_dom, m))
        for d in range(n_dom):
            lo, hi = bounds[d], bounds[d + 1]
            rep[:, d, :] = g[:, lo:hi] @ totals[lo:hi]
        doms = np.tile(np.arange(n_dom), b)
        theta = statistic(rep.reshape(b * n_dom, m), doms)
        sums.add(theta - est[doms], doms, np.repeat(mult[start:start + b], n_dom), n_dom)


def _jackknife(rw, full, totals, cell_psu, cell_dom, n_dom, statistic, est, sums) -> None:
    """Replicate totals of the jackknife in closed form, only where a replicate changes a domain.

    Deleting PSU ``j`` of stratum ``h`` gives ``T - T_h + n_h/(n_h-1) (T_h - t_j)`` in the domains
    stratum ``h`` reaches and ``T`` elsewhere, whose deviation is zero; a lonely "centre" replicate
    gives ``(1 - 1/C) T + t_L`` in every domain.
    """
    c, m = rw.n_psu, totals.shape[1]
    mult = rw.multipliers
    strat = rw._stratum
    n_strata = int(strat.max()) + 1
    # stratum x domain totals
    sd_key = strat[cell_psu].astype(np.int64) * n_dom + cell_dom
    sd_cells, sd_inv = np.unique(sd_key, return_inverse=True)
    sd_tot = rowsum(sd_inv, totals, len(sd_cells))
    sd_strat, sd_dom = sd_cells // n_dom, sd_cells % n_dom
    # cell lookup by (psu, domain)
    cell_key = cell_psu.astype(np.int64) * n_dom + cell_dom
    order = np.argsort(cell_key, kind="stable")
    sorted_key = cell_key[order]

    def cell_totals(psu, d):
        key = psu.astype(np.int64) * n_dom + d
        pos = np.minimum(np.searchsorted(sorted_key, key), len(sorted_key) - 1)
        hit = sorted_key[pos] == key
        return np.where(hit[:, None], totals[order[pos]], 0.0)

    deleting = np.flatnonzero(~rw._centre)
    reps = deleting[np.argsort(strat[rw._dropped[deleting]], kind="stable")]
    rep_strat = strat[rw._dropped[reps]]
    first = np.searchsorted(rep_strat, np.arange(n_strata + 1))
    per_sd = (first[sd_strat + 1] - first[sd_strat])
    # pairs (replicate, domain): every replicate of the stratum, for every domain the stratum reaches
    pair_sd = np.repeat(np.arange(len(sd_cells)), per_sd)
    offset = np.arange(len(pair_sd)) - np.repeat(np.cumsum(per_sd) - per_sd, per_sd)
    pair_rep = reps[first[sd_strat[pair_sd]] + offset]
    step = max(1, _BLOCK_ELEMENTS // max(m, 1))
    for lo in range(0, len(pair_rep), step):
        r = pair_rep[lo:lo + step]
        s = pair_sd[lo:lo + step]
        d = sd_dom[s]
        p = rw._dropped[r]
        n_h = rw._n_h[p][:, None]
        t_h = sd_tot[s]
        rep = full[d] - t_h + n_h / (n_h - 1) * (t_h - cell_totals(p, d))
        sums.add(statistic(rep, d) - est[d], d, mult[r], n_dom)
    for r in np.flatnonzero(rw._centre):
        p = np.full(n_dom, rw._dropped[r])
        d = np.arange(n_dom)
        rep = (1 - 1 / c) * full + cell_totals(p, d)
        sums.add(statistic(rep, d) - est, d, np.full(n_dom, mult[r]), n_dom)


def ratio_statistic(k: int):
    """Statistic ``N/D`` of totals laid out as ``[N_1..N_k, D_1..D_k]`` (means, proportions, ratios)."""
    def stat(t, _d):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(t[:, k:] != 0, t[:, :k] / t[:, k:], np.nan)
    return stat


def total_statistic(t, _d):
    """The totals themselves."""
    return t


def resolve(variance, design: Design) -> ReplicateWeights:
    """The replicate weights an estimator was asked for: given, or built from a type name."""
    if isinstance(variance, ReplicateWeights):
        rw = variance
    elif isinstance(variance, str):
        rw = make_replicates(design, variance)
    else:
        raise TypeError(f"variance must be None, a replicate type or ReplicateWeights, got {variance!r}")
    if len(rw.psu) != design.n or not np.array_equal(rw.psu, design.stages[0].cluster):
        raise ValueError("the replicate weights were built for another design (rows or PSUs differ)")
    return rw


def estimator_variance(variance, design: Design, kind: str, y, valid, dom, n_dom, den=None):
    """Replicate variance for :mod:`analysis.estimate`'s means, totals, ratios and proportions.

    ``kind`` is ``"mean"`` (``sum w y / sum w`` over valid rows), ``"total"`` or ``"ratio"``
    (``sum w y / sum w den``); ``y``, ``valid`` (n, k) as the estimator has them.
    """
    rw = resolve(variance, design)
    w = design.weights[:, None] * valid
    num = w * np.where(valid, y, 0.0)
    k = num.shape[1]
    if kind == "total":
        return replicate_variance(rw, num, total_statistic, dom, n_dom)[1]
    base = w if kind == "mean" else w * np.where(valid, den, 0.0)
    return replicate_variance(rw, np.hstack([num, base]), ratio_statistic(k), dom, n_dom)[1]


def tree_variance(variance, design: Design, w: np.ndarray, s: np.ndarray, v: np.ndarray, scale: np.ndarray,
                  dom: np.ndarray, n_dom: int, groups: list) -> np.ndarray:
    """Replicate variances of every leaf and composite of :func:`analysis._composite.estimate_tree`.

    Leaves are ratios ``scale_j sum(w s_j) / sum(w v_j)``; a composite is ``sum_j a_j R_j`` with the
    full sample's coefficients of its domain group (``groups``: ``[(domains, a)]``, ``a`` J x C).
    A replicate in which a leaf a composite uses has no valid answer gives that composite no
    value (left out of its variance). ``w`` is zero outside every domain. Returns (n_dom, J + C).
    """
    rw = resolve(variance, design)
    n_leaf = s.shape[1]
    x = np.empty((len(w), 2 * n_leaf))
    for j in range(n_leaf):
        np.multiply(s[:, j], w * scale[j], out=x[:, j])
        np.multiply(v[:, j], w, out=x[:, n_leaf + j])
    group_of = np.zeros(n_dom, dtype=np.int64)
    for g, (ds, _a) in enumerate(groups):
        group_of[np.asarray(ds, dtype=np.int64)] = g

    def stat(t, d):
        with np.errstate(divide="ignore", invalid="ignore"):
            leaf = np.where(t[:, n_leaf:] != 0, t[:, :n_leaf] / t[:, n_leaf:], np.nan)
        comp = np.empty((len(t), groups[0][1].shape[1]))
        g_rows = group_of[d]
        for g, (_ds, a) in enumerate(groups):
            rows = g_rows == g if len(groups) > 1 else slice(None)
            part = leaf[rows]
            missing = np.isnan(part)
            comp[rows] = np.where(missing.astype(float) @ (a != 0) > 0, np.nan,
                                  np.where(missing, 0.0, part) @ a)
        return np.hstack([leaf, comp])

    return replicate_variance(rw, x, stat, dom, n_dom)[1]


# ---- instructions for analysts who receive the exported replicate weights ------------------------


def instructions(rw: ReplicateWeights, weight: str = "weight", prefix: str = "repw_",
                 data_file: str = "responses") -> str:
    """Plain-text instructions (Vietnamese then English) for Stata, R and SPSS."""
    r = rw.n_replicates
    mult = rw.multipliers
    same = np.allclose(mult, mult[0])
    mult_text = f"{mult[0]:.10g}" if same else " ".join(f"{v:.10g}" for v in mult)
    last = f"{prefix}{r}"
    mse = "mse" if rw.mse else ""
    if rw.type == "bootstrap":
        stata = (f"svyset [pw={weight}], bsrweight({prefix}1-{last}) vce(bootstrap) {mse} "
                 f"dof({rw.degf})").replace("  ", " ")
        r_type = f'type = "bootstrap", scale = 1/({r} - 1), rscales = 1'
    else:
        stata = (f"svyset [pw={weight}], jkrweight({prefix}1-{last}, multiplier({mult_text})) "
                 f"vce(jackknife) {mse} dof({rw.degf})").replace("  ", " ")
        if rw.type == "JK1":
            r_type = f'type = "JK1", scale = {rw.scale:.10g}, rscales = 1'
        else:
            r_type = 'type = "JKn", scale = 1, rscales = m$rscale'
    r_call = (f'd <- haven::read_dta("{data_file}.dta")\n'
              'm <- read.csv("replicate_weights.csv")\n'
              f'des <- survey::svrepdesign(data = d, weights = ~{weight}, repweights = "^{prefix}[0-9]+$",\n'
              f'  {r_type},\n'
              f'  combined.weights = TRUE, mse = {"TRUE" if rw.mse else "FALSE"})\n'
              f'confint(survey::svymean(~<biến>, des), df = {rw.degf})')
    kind_vi = {"JK1": "jackknife JK1 (bỏ từng đơn vị mẫu cấp 1, không phân tầng)",
               "JKn": "jackknife JKn (bỏ từng đơn vị mẫu cấp 1 trong tầng của nó)",
               "bootstrap": f"bootstrap Rao–Wu (n_h - 1 đơn vị mẫu cấp 1 rút có hoàn lại trong mỗi tầng, "
                            f"hạt giống {rw.seed})"}[rw.type]
    kind_en = {"JK1": "JK1 jackknife (delete one PSU, unstratified)",
               "JKn": "JKn jackknife (delete one PSU within its stratum)",
               "bootstrap": f"Rao–Wu bootstrap (n_h - 1 PSUs drawn with replacement per stratum, "
                            f"seed {rw.seed})"}[rw.type]
    formula = "sum_r m_r (theta_r - theta)^2" if rw.mse else "sum_r m_r (theta_r - mean_r theta_r)^2"
    stata_note_vi = (f"Stata chia cho R = {r} thay vì R - 1; nhân phương sai với {r}/{r - 1} để có đúng "
                     "số của R và của báo cáo." if rw.type == "bootstrap" else "")
    stata_note_en = (f"Stata divides by R = {r}, not R - 1; multiply its variances by {r}/{r - 1} to "
                     "get R's and the report's figures." if rw.type == "bootstrap" else "")
    return f"""TRỌNG SỐ LẶP / REPLICATE WEIGHTS
================================

Tệp {data_file}.sav / {data_file}.dta có trọng số toàn mẫu `{weight}` và {r} trọng số lặp
`{prefix}1` .. `{last}` theo phương pháp {kind_vi}. Mỗi trọng số lặp đã gồm trọng số toàn mẫu
(trọng số gộp). Phương sai của một ước lượng: V = {formula}, với m_r trong
replicate_weights.csv (cột multiplier = scale x rscale). Bậc tự do cho khoảng tin cậy:
{rw.degf} (số đơn vị mẫu cấp 1 trừ số tầng).

The files {data_file}.sav / {data_file}.dta hold the full-sample weight `{weight}` and {r}
replicate weights `{prefix}1` .. `{last}` ({kind_en}). Each replicate weight already includes the
full-sample weight (combined weights). The variance of an estimate is V = {formula}, with m_r in
replicate_weights.csv (column multiplier = scale x rscale). Degrees of freedom for intervals:
{rw.degf} (PSUs minus strata).

Stata
-----
{stata}
svy: mean <biến / variable>
{stata_note_vi}
{stata_note_en}

R (survey)
----------
{r_call}

SPSS
----
Vi / Complex Samples của SPSS không dùng được trọng số lặp. Ước lượng điểm: WEIGHT BY {weight}.
Sai số chuẩn: tính ước lượng lần lượt với từng {prefix}r (WEIGHT BY {prefix}r), rồi
V = {formula} với m_r trong replicate_weights.csv; hoặc dùng Stata/R như trên.
En / SPSS Complex Samples cannot use replicate weights. Point estimates: WEIGHT BY {weight}.
Standard errors: compute the estimate once with each {prefix}r (WEIGHT BY {prefix}r), then
V = {formula} with m_r from replicate_weights.csv; or use Stata/R as above.
"""


def multipliers_frame(rw: ReplicateWeights, prefix: str = "repw_") -> pd.DataFrame:
    """One row per replicate: its column, ``scale``, ``rscale`` and ``multiplier`` (their product)."""
    return pd.DataFrame({"replicate": [f"{prefix}{r + 1}" for r in range(rw.n_replicates)],
                         "scale": rw.scale, "rscale": rw.rscales, "multiplier": rw.multipliers})


__all__ = ["DEFAULT_REPLICATES", "DEFAULT_SEED", "TYPES", "ReplicateWeights", "estimator_variance",
           "instructions", "make_replicates", "multipliers_frame", "replicate_variance", "tree_variance"]
