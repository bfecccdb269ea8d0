"""Survey design objects for stratified multistage samples.

The :class:`Design` mirrors the ``survey.design2`` objects built by
``svydesign()`` in Thomas Lumley's R ``survey`` package (Lumley 2010,
*Complex Surveys: A Guide to Analysis Using R*, ch. 2-3): stage-wise cluster
identifiers, first-stage strata, finite population corrections and sampling
weights.  All design structure is converted once into integer codes so that
every variance computation is a handful of grouped sums.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SINGLETON_OPTIONS = ("fail", "certainty", "centre")
_SINGLETON_ALIASES = {"adjust": "centre", "center": "centre"}


@dataclass(frozen=True)
class Stage:
    """Integer-coded structure of one sampling stage."""

    cluster: np.ndarray  # (n,) cluster code of every row
    n_clusters: int
    stratum_of_cluster: np.ndarray  # (C,) stratum code of every cluster
    n_strata: int
    n_sampled: np.ndarray  # (G,) clusters sampled per stratum
    pop_size: np.ndarray | None  # (G,) clusters in the population per stratum
    stratum_labels: list = field(default_factory=list)


@dataclass(frozen=True)
class LinearStep:
    """One calibration residualisation ``x <- x - a * rowsum(b * x)[group]``."""

    group: np.ndarray
    n_groups: int
    a: np.ndarray
    b: np.ndarray


def _as_list(value) -> list:
    """Normalise a column name or list of names to a list."""
    if value is None:
        return []
    if isinstance(value, str | int):
        return [value]
    return list(value)


def _factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and unique labels of a column, rejecting missing values."""
    array = np.asarray(values) if isinstance(values, np.ndarray | pd.Series) else None
    if array is not None and array.dtype.kind in "iu" and len(array):
        # integer codes (e.g. PSU numbers): rank among the distinct values without hashing
        low, high = int(array.min()), int(array.max())
        if low >= 0 and high < 4 * len(array) + 1024:
            index = array.astype(np.intp, copy=False)
            present = np.bincount(index, minlength=high + 1) > 0
            rank = np.cumsum(present) - 1
            return rank[index].astype(np.int64), np.flatnonzero(present).astype(array.dtype)
    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    if (codes < 0).any():
        raise ValueError("design variables (ids, strata, fpc) must not contain missing values")
    return codes.astype(np.int64), np.asarray(uniques)


def _combine(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    """Codes of the interaction of two code vectors (nesting child in parent)."""
    key = parent.astype(np.int64) * (int(child.max()) + 1) + child
    return _factorize(key)[0]



def check_weights(w: np.ndarray) -> np.ndarray:
    """The weights, after refusing missing, infinite or negative ones with a clear error.

    Zero is allowed (a row kept in the design outside every domain, as non-respondents after
    :func:`analysis.weighting.nonresponse_adjust`).
    """
    if np.isnan(w).any():
        raise ValueError(f"missing values in `weights' ({int(np.isnan(w).sum())} rows)")
    if np.isinf(w).any():
        raise ValueError(f"infinite weights ({int(np.isinf(w).sum())} rows)")
    if (w < 0).any():
        raise ValueError(f"negative weights ({int((w < 0).sum())} rows; smallest {w.min():g})")
    return w

class Design:
    """A stratified multistage survey design, as R's ``svydesign()``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per sampled unit.
    weights : str, optional
        Column of sampling weights.  When absent and ``fpc`` is given the
        weights are the product over stages of population over sample size,
        exactly as ``svydesign(fpc=...)`` derives them.
    strata : str, optional
        Column of first-stage strata.
    ids : str or list of str, optional
        Cluster identifiers, one column per stage.  ``None`` means every row
        is its own primary sampling unit (R's ``ids = ~1``).
    fpc : str or list of str, optional
        Finite population correction per stage, either population sizes
        (all values > 1) or sampling fractions (all values <= 1).
    nest : bool, default False
        Make cluster ids unique within strata (R's ``nest = TRUE``).
    singleton : {"fail", "certainty", "centre"}
        Treatment of strata with a single sampled PSU, as R's
        ``options(survey.lonely.psu = "fail" / "certainty" / "adjust")``.
        ``"centre"`` centres the lonely PSU total on the grand mean of the
        PSU totals at that stage instead of its (undefined) stratum mean.

    Notes
    -----
    Variances are Taylor linearised (Wolter 2007, ch. 6; Lumley 2010,
    appendix C) with a with-replacement first stage unless ``fpc`` is given;
    later stages contribute only when their fpc is given, as in R's
    ``multistage()`` recursion.
    """

    def __init__(self, data: pd.DataFrame, weights=None, strata=None, ids=None, fpc=None,
                 nest: bool = False, singleton: str = "fail"):
        singleton = _SINGLETON_ALIASES.get(singleton, singleton)
        if singleton not in SINGLETON_OPTIONS:
            raise ValueError(f"singleton must be one of {SINGLETON_OPTIONS}, got {singleton!r}")
        self.data = data.reset_index(drop=True)
        self.weights_col = weights
        self.strata_col = strata
        self.ids_cols = _as_list(ids)
        self.fpc_cols = _as_list(fpc)
        self.nest = nest
        self.singleton = singleton
        n = len(self.data)
        if n == 0:
            raise ValueError("cannot build a design on an empty data frame")
        n_stages = max(len(self.ids_cols), 1)
        if len(self.fpc_cols) > n_stages:
            raise ValueError("more fpc columns than sampling stages")
        self.stages = self._build_stages(n, n_stages)
        self.weights = self._build_weights()
        self.steps: list[LinearStep] = []

    def _build_stages(self, n: int, n_stages: int) -> list[Stage]:
        """Code clusters and strata for every stage, nesting each in the previous."""
        # codes a caller already has (see _with_codes) are not recomputed
        known = self.__dict__.pop("_known_codes", {})
        if self.strata_col is None:
            strat = np.zeros(n, dtype=np.int64)
            strat_labels = np.array([1])
        elif self.strata_col in known:
            strat, strat_labels = known[self.strata_col]
        else:
            strat, strat_labels = _factorize(self.data[self.strata_col])
        fpc = self._fpc_matrix()
        stages: list[Stage] = []
        parent = strat
        parent_labels = list(strat_labels)
        for s in range(n_stages):
            if self.ids_cols:
                ids, _ = _factorize(self.data[self.ids_cols[s]])
            else:
                ids = np.arange(n, dtype=np.int64)
            if s == 0 and not self.nest:
                cluster = ids
                per_cluster = pd.Series(parent).groupby(cluster).nunique()
                if (per_cluster > 1).any():
                    raise ValueError("Clusters not nested in strata at top level; "
                                     "you may want nest=True.")
            else:
                cluster = _combine(parent, ids)
            n_clusters = int(cluster.max()) + 1
            stratum_of_cluster = np.zeros(n_clusters, dtype=np.int64)
            stratum_of_cluster[cluster] = parent
            n_strata = len(parent_labels)
            n_sampled = np.bincount(stratum_of_cluster, minlength=n_strata).astype(float)
            pop = None if fpc is None or s >= fpc.shape[1] else self._stage_pop(
                fpc[:, s], parent, n_strata, n_sampled, parent_labels, s)
            stages.append(Stage(cluster, n_clusters, stratum_of_cluster, n_strata,
                                n_sampled, pop, parent_labels))
            parent = cluster
            parent_labels = list(range(n_clusters))
        return stages

    def _fpc_matrix(self) -> np.ndarray | None:
        """The fpc columns as a float matrix, validated as R's ``as.fpc``."""
        if not self.fpc_cols:
            return None
        fpc = self.data[self.fpc_cols].to_numpy(dtype=float)
        if np.isnan(fpc).any():
            raise ValueError("missing values in `fpc'")
        self._fpc_is_popsize = bool((fpc > 1).any())
        if self._fpc_is_popsize and not (fpc >= 1).all():
            raise ValueError("Must have all fpc>=1 or all fpc<=1")
        if (fpc <= 0).any():
            raise ValueError("fpc must be positive")
        return fpc

    def _stage_pop(self, values, stratum, n_strata, n_sampled, labels, s) -> np.ndarray:
        """Population number of clusters per stratum for one stage."""
        frame = pd.DataFrame({"g": stratum, "v": values})
        spread = frame.groupby("g")["v"].agg(["min", "max"])
        varying = spread.index[spread["min"] != spread["max"]]
        if len(varying):
            raise ValueError(f"fpc varies within stratum {labels[varying[0]]} at stage {s + 1}")
        per_stratum = spread["min"].reindex(range(n_strata)).to_numpy()
        pop = per_stratum if self._fpc_is_popsize else n_sampled / per_stratum
        if (pop < n_sampled - 1e-9).any():
            raise ValueError("FPC implies >100% sampling in some strata")
        return pop

    def _build_weights(self) -> np.ndarray:
        """Sampling weights: given, derived from the fpc, or equal."""
        if self.weights_col is not None:
            return check_weights(self.data[self.weights_col].to_numpy(dtype=float))
        if self.stages[0].pop_size is None:
            return np.ones(len(self.data))
        w = np.ones(len(self.data))
        for st in self.stages:
            if st.pop_size is None:
                break
            g = st.stratum_of_cluster[st.cluster]
            w = w * st.pop_size[g] / st.n_sampled[g]
        return w

    @property
    def n(self) -> int:
        """Number of rows (sampled units) in the design."""
        return len(self.data)

    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata, as R's ``degf()``.

        The usual df for t intervals in stratified cluster samples (Korn &
        Graubard 1999, sec. 5.2; Lumley 2010, sec. 2.3); PSUs whose weights are
        all zero are not counted.

        Returns
        -------
        int
        """
        st = self.stages[0]
        psu = np.unique(st.cluster[self.weights != 0])
        return int(len(psu) - len(np.unique(st.stratum_of_cluster[psu])))

    def _replace_weights(self, weights: np.ndarray, steps: list[LinearStep]) -> Design:
        """A copy sharing the design structure, with new weights and calibration steps."""
        new = object.__new__(Design)
        new.__dict__.update(self.__dict__)
        new.weights = check_weights(np.asarray(weights, dtype=float))
        new.steps = list(steps)
        return new

    @classmethod
    def _with_codes(cls, known: dict, data: pd.DataFrame, **kwargs) -> Design:
        """``Design(data, **kwargs)`` given the strata column's ``(codes, sorted labels)``.

        ``known[strata]`` must equal ``_factorize(data[strata])``; callers that
        coded the column already (:func:`analysis.weights.wave_design`) skip re-hashing it.
        """
        design = cls.__new__(cls)
        design._known_codes = known
        design.__init__(data, **kwargs)
        return design

    def __repr__(self) -> str:
        kind = "stratified " if self.strata_col is not None else ""
        return (f"<Design {kind}{len(self.stages)}-stage, n={self.n}, "
                f"PSUs={self.stages[0].n_clusters}, strata={self.stages[0].n_strata}>")

