"""Composite indices of ratio estimators, linearised jointly.

Every leaf of an index tree (a SIPAS item, a PAR survey sub-criterion) is a
ratio of weighted totals, ``R_j = sum(w s_j) / sum(w v_j)``, with ``s_j`` the
row's score (satisfied indicator or option fraction) and ``v_j`` its count of
valid answers.  Its linearised score is ``z_ij = w_i (s_ij - R_j v_ij) / V_j``
with ``V_j = sum(w v_j)`` (Woodruff 1971; Särndal, Swensson & Wretman 1992,
result 5.6.1).  Each composite is linear in the leaves, ``C = sum_j a_j R_j``,
so its linearised score is ``sum_j a_j z_ij``: the variance of every leaf and
composite then comes from one call of the design-variance core on the
``n x (J + C)`` score matrix, keeping the covariances between items that share
respondents (rather than assuming independent items).

Coefficients ``a_j`` are re-derived per domain from the leaves that have any
valid answer there: a weighted mean is taken over the children that exist
("mean") or the children's values are added ("sum"); a ``complete`` flag says
whether every leaf counted in the node's total was available.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _frame
from ._intervals import bounded_interval
from ._variance import design_variance, domain_degf, domain_vcov
from .design import Design, _as_list
from .instruments import questionnaire_rows
from .replicates import tree_variance

ALL = "ALL"


@dataclass
class Tree:
    """An index tree: leaf codes, composite codes with children, weights and aggregation."""

    leaves: list[str]
    composites: list[str]
    children: dict[str, list[str]]
    weight: dict[str, float] = field(default_factory=dict)
    in_total: dict[str, bool] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    mode: str = "mean"

    def coefficients(self, available: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Leaf coefficients (J x C), availability and completeness of every composite."""
        index = {c: j for j, c in enumerate(self.leaves)}
        memo: dict[str, tuple[np.ndarray | None, bool]] = {}

        def value(code: str):
            if code in memo:
                return memo[code]
            if code in index:
                j = index[code]
                vec = np.zeros(len(self.leaves))
                vec[j] = 1.0
                memo[code] = (vec if available[j] else None, bool(available[j]))
                return memo[code]
            kids = [k for k in self.children.get(code, []) if self.in_total.get(k, True)]
            parts = [(value(k), self.weight.get(k, 1.0)) for k in kids]
            have = [(v[0], wt) for v, wt in parts if v[0] is not None]
            complete = bool(kids) and all(v[1] for v, _ in parts)
            if not have:
                memo[code] = (None, False)
            elif self.mode == "sum":
                memo[code] = (sum(v for v, _ in have), complete)
            else:
                total = sum(wt for _, wt in have)
                memo[code] = (sum(v * wt for v, wt in have) / total if total > 0 else None, complete)
            return memo[code]

        k = len(self.composites)
        a = np.zeros((len(self.leaves), k))
        ok = np.zeros(k, dtype=bool)
        complete = np.zeros(k, dtype=bool)
        for c, code in enumerate(self.composites):
            vec, comp = value(code)
            if vec is not None:
                a[:, c], ok[c] = vec, True
            complete[c] = comp
        return a, ok, complete

    def leaf_sets(self) -> list[np.ndarray]:
        """Indices of the leaves under each composite (all children, counted or not)."""
        index = {c: j for j, c in enumerate(self.leaves)}

        def under(code):
            if code in index:
                return [index[code]]
            return [j for k in self.children.get(code, []) for j in under(k)]

        return [np.array(sorted(set(under(c))), dtype=np.int64) for c in self.composites]


def _leaf_scores(w, s, v, dom, n_dom, scale, out):
    """Leaf ratios per domain; their linearised scores ``(ws - R_d wv) / V_d`` written into ``out``.

    Works one leaf at a time on contiguous columns and writes in place, because
    first-touch of fresh n x J arrays costs more than the arithmetic itself.
    """
    n_leaf = s.shape[1]
    ratio = np.full((n_dom, n_leaf), np.nan)
    den = np.zeros((n_dom, n_leaf))
    tmp = np.empty(len(w))
    for j in range(n_leaf):
        col = out[:, j]
        np.multiply(s[:, j], w, out=col)
        np.multiply(v[:, j], w, out=tmp)
        num = np.bincount(dom, weights=col, minlength=n_dom)
        den[:, j] = np.bincount(dom, weights=tmp, minlength=n_dom)
        ok = den[:, j] > 0
        inv = np.divide(1.0, den[:, j], out=np.zeros(n_dom), where=ok)
        r = num * inv
        ratio[:, j] = np.where(ok, r, np.nan)
        if n_dom == 1:
            col *= inv[0] * scale[j]
            tmp *= r[0] * inv[0] * scale[j]
        else:
            col *= (inv * scale[j])[dom]
            tmp *= (r * inv * scale[j])[dom]
        col -= tmp
    return ratio, den


def estimate_tree(design: Design, tree: Tree, s: np.ndarray, v: np.ndarray, by=None,
                  upper: dict[str, float] | None = None, buffers=None, variance=None) -> pd.DataFrame:
    """Estimates, SEs, 95% intervals, valid counts and df of every leaf and composite.

    Intervals of bounded figures (``upper`` given) are those of
    :func:`analysis._intervals.bounded_interval`: logit scale, or Clopper–Pearson on the
    effective sample size where the variance is zero or there are no degrees of freedom.

    Parameters
    ----------
    design : Design
    tree : Tree
    s, v : ndarray (n, J)
        Score sums and valid-answer counts per row and leaf (zero when invalid).
    by : str or list of str, optional
        Domain columns; ``None`` pools all rows.
    upper : dict, optional
        Code -> upper bound of the figure (lower bound is 0); estimates are clamped to it.
    buffers : tuple of ndarray, optional
        Work arrays (n x (J + C) float and bool, Fortran order) to reuse between calls.
    variance : str or ReplicateWeights, optional
        Replicate variances instead of the linearisation (:func:`analysis.replicates.tree_variance`).

    Returns
    -------
    pandas.DataFrame
        By-columns, ``code``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``df``, ``n_valid``, ``complete``.
    """
    dom, n_dom, labels, in_dom = _frame.domains(design, by)
    n, n_leaf, n_comp = design.n, len(tree.leaves), len(tree.composites)
    if buffers is None:
        buffers = (np.empty((n, n_leaf + n_comp), order="F"),
                   np.empty((n, n_leaf + n_comp), dtype=bool, order="F"))
    scores, valid = buffers
    leaf_est, comp_est, complete, den, parts = _tree_scores(design, tree, s, v, dom, n_dom, in_dom, scores)
    if variance is None:
        var = design_variance(design, scores, dom, n_dom)
    else:
        w, scale, groups = parts
        var = tree_variance(variance, design, w, s, v, scale, dom, n_dom, groups)
    for j in range(n_leaf):
        np.greater(v[:, j], 0, out=valid[:, j])
        if not in_dom.all():
            valid[:, j] &= in_dom
    for c, idx in enumerate(tree.leaf_sets()):
        np.logical_or.reduce([valid[:, j] for j in idx] or [np.zeros(n, bool)], out=valid[:, n_leaf + c])
    n_obs, df = domain_degf(design, valid, dom, n_dom)
    return _result(tree, labels, n_dom, leaf_est, comp_est, var, df, n_obs, den, complete, upper)


def _tree_scores(design: Design, tree: Tree, s, v, dom, n_dom: int, in_dom, scores: np.ndarray):
    """Fill ``scores`` (n x (J + C)) with every leaf's and composite's linearised scores.

    Returns ``(leaf_est, comp_est, complete, den)`` per domain, and ``(w, scale, groups)`` (the
    domain-masked weights, the leaves' scales, the composites' weight groups) for replicate variances.
    """
    w = design.weights if in_dom.all() else np.where(in_dom, design.weights, 0.0)
    scale = np.array([tree.scale.get(c, 1.0) for c in tree.leaves])
    n_leaf = len(tree.leaves)
    ratio, den = _leaf_scores(w, s, v, dom, n_dom, scale, scores)
    leaf_est = ratio * scale
    comp_est, complete, groups = _composite_estimates(tree, den, leaf_est)
    z, zc = scores[:, :n_leaf], scores[:, n_leaf:]
    for ds, a in groups:
        if len(groups) == 1:
            np.matmul(a.T, z.T, out=zc.T)
        else:
            rows = np.isin(dom, ds)
            zc[rows] = z[rows] @ a
    return leaf_est, comp_est, complete, den, (w, scale, groups)


def tree_covariance(design: Design, tree: Tree, s, v, by, code: str) -> pd.DataFrame:
    """Covariance matrix of one node's estimates across the domains of ``by``.

    The off-diagonal terms are non-zero where domains share PSUs (Lumley 2010, appendix C):
    :func:`analysis._variance.domain_vcov` of the node's linearised scores (those of
    :func:`estimate_tree`, so the diagonal is its squared ``se``).  Index and columns are the
    domain labels (tuples for several ``by`` columns).
    """
    dom, n_dom, labels, in_dom = _frame.domains(design, by)
    codes = tree.leaves + tree.composites
    if code not in codes:
        raise ValueError(f"{code!r} is not a node of the tree")
    scores = np.empty((design.n, len(codes)), order="F")
    _tree_scores(design, tree, s, v, dom, n_dom, in_dom, scores)
    cov = domain_vcov(design, scores[:, codes.index(code)], dom, n_dom)
    index = (list(labels.itertuples(index=False, name=None)) if labels.shape[1] > 1
             else labels.iloc[:, 0].tolist())
    return pd.DataFrame(cov, index=index, columns=index)


def _composite_estimates(tree: Tree, den: np.ndarray, leaf_est: np.ndarray):
    """Composite estimates and completeness per domain, and the leaf coefficients of each domain group.

    Domains sharing the same available leaves share one coefficient matrix ``a``
    (J x C); returns ``(comp_est, complete, [(domains, a), ...])``.
    """
    n_dom, n_comp = len(den), len(tree.composites)
    comp_est = np.full((n_dom, n_comp), np.nan)
    complete = np.zeros((n_dom, n_comp), dtype=bool)
    groups: dict[bytes, list[int]] = {}
    for d in range(n_dom):
        groups.setdefault((den[d] > 0).tobytes(), []).append(d)
    out = []
    for ds in groups.values():
        a, ok, comp = tree.coefficients(den[ds[0]] > 0)
        vals = np.nan_to_num(leaf_est[ds]) @ a
        comp_est[ds] = np.where(ok, vals, np.nan)
        complete[ds] = comp
        out.append((ds, a))
    return comp_est, complete, out


def _result(tree: Tree, labels, n_dom: int, leaf_est, comp_est, var, df, n_obs, den, complete,
            upper) -> pd.DataFrame:
    """The long table of :func:`estimate_tree` from the per-domain arrays."""
    est = np.hstack([leaf_est, comp_est])
    se = np.sqrt(np.maximum(var, 0.0))
    se = np.where(np.isnan(est), np.nan, se)
    codes = tree.leaves + tree.composites
    hi = np.array([(upper or {}).get(c, np.inf) for c in codes])
    est, low, high = bounded_interval(est, se, df, n_obs, hi[None, :])
    cols = {"estimate": est, "se": se, "ci_low": low, "ci_high": high, "df": df, "n": n_obs}
    out = _frame.assemble(labels, n_dom, "code", codes, cols)
    out["complete"] = np.hstack([den > 0, complete]).reshape(-1)
    return out.rename(columns={"n": "n_valid"})


def leaf_matrices(data: pd.DataFrame, leaves: list[str], items_by_leaf: dict, scorer) -> tuple:
    """Score sums ``s`` and valid counts ``v`` (n x J) from the items linked to each leaf."""
    n = len(data)
    s = np.zeros((n, len(leaves)), order="F")
    v = np.zeros((n, len(leaves)), dtype=np.uint8, order="F")
    rows = questionnaire_rows(data)
    for j, leaf in enumerate(leaves):
        for item in items_by_leaf.get(leaf, []):
            x = scorer(data, item, rows.get(item.questionnaire))
            ok = ~np.isnan(x)
            s[:, j] += np.where(ok, x, 0.0)
            v[:, j] += ok
    return s, v


def with_total(design: Design, tree: Tree, s, v, by, upper=None, variance=None) -> pd.DataFrame:
    """Domain estimates followed by the pooled estimate (by-columns set to ``ALL``)."""
    cols = _as_list(by)
    k = len(tree.leaves) + len(tree.composites)
    buffers = (np.empty((len(s), k), order="F"), np.empty((len(s), k), dtype=bool, order="F"))
    parts = []
    if cols:
        parts.append(estimate_tree(design, tree, s, v, cols, upper, buffers, variance))
    parts.append(estimate_tree(design, tree, s, v, None, upper, buffers, variance))
    return _stack(parts, cols)


def _stack(parts: list[pd.DataFrame], cols: list) -> pd.DataFrame:
    """Concatenate the domain table and the pooled table, whose by-columns become ``ALL``."""
    pooled = parts[-1]
    for c in cols:
        pooled.insert(cols.index(c), c, ALL)
    out = pd.concat(parts, ignore_index=True)
    for c in cols:
        out[c] = out[c].astype(object)
    return out


__all__ = ["ALL", "Tree", "estimate_tree", "leaf_matrices", "tree_covariance", "with_total"]
