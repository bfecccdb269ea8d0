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
from ._variance import cells_degf, cells_variance, design_variance, domain_degf, first_stage_only, rowsum
from .design import Design, _as_list
from .instruments import item_codes, item_scores, questionnaire_rows

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
                  upper: dict[str, float] | None = None, buffers=None) -> pd.DataFrame:
    """Estimates, SEs, t intervals, valid counts and df of every leaf and composite.

    Parameters
    ----------
    design : Design
    tree : Tree
    s, v : ndarray (n, J)
        Score sums and valid-answer counts per row and leaf (zero when invalid).
    by : str or list of str, optional
        Domain columns; ``None`` pools all rows.
    upper : dict, optional
        Code -> upper bound to clip the interval (lower bound is 0).
    buffers : tuple of ndarray, optional
        Work arrays (n x (J + C) float and bool, Fortran order) to reuse between calls.

    Returns
    -------
    pandas.DataFrame
        By-columns, ``code``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``df``, ``n_valid``, ``complete``.
    """
    dom, n_dom, labels, in_dom = _frame.domains(design, by)
    w = design.weights if in_dom.all() else np.where(in_dom, design.weights, 0.0)
    scale = np.array([tree.scale.get(c, 1.0) for c in tree.leaves])
    n, n_leaf, n_comp = len(w), len(tree.leaves), len(tree.composites)
    if buffers is None:
        buffers = (np.empty((n, n_leaf + n_comp), order="F"),
                   np.empty((n, n_leaf + n_comp), dtype=bool, order="F"))
    scores, valid = buffers
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
    var = design_variance(design, scores, dom, n_dom)
    for j in range(n_leaf):
        np.greater(v[:, j], 0, out=valid[:, j])
        if not in_dom.all():
            valid[:, j] &= in_dom
    for c, idx in enumerate(tree.leaf_sets()):
        np.logical_or.reduce([valid[:, j] for j in idx] or [np.zeros(n, bool)], out=valid[:, n_leaf + c])
    n_obs, df = domain_degf(design, valid, dom, n_dom)
    return _result(tree, labels, n_dom, leaf_est, comp_est, var, df, n_obs, den, complete, upper)


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
    half = _frame.t_quantile(df) * se
    codes = tree.leaves + tree.composites
    hi = np.array([(upper or {}).get(c, np.inf) for c in codes])
    cols = {"estimate": est, "se": se, "ci_low": np.clip(est - half, 0, None),
            "ci_high": np.minimum(est + half, hi), "df": df, "n": n_obs}
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


def with_total(design: Design, tree: Tree, s, v, by, upper=None) -> pd.DataFrame:
    """Domain estimates followed by the pooled estimate (by-columns set to ``ALL``)."""
    cols = _as_list(by)
    k = len(tree.leaves) + len(tree.composites)
    buffers = (np.empty((len(s), k), order="F"), np.empty((len(s), k), dtype=bool, order="F"))
    parts = []
    if cols:
        parts.append(estimate_tree(design, tree, s, v, cols, upper, buffers))
    parts.append(estimate_tree(design, tree, s, v, None, upper, buffers))
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


# The cell path is used while its (cell x code) histograms stay below this many bins
# per row of data (or below _CELL_BINS_MIN in all); otherwise the row-level path is.
_CELL_BINS_PER_ROW = 4
_CELL_BINS_MIN = 1 << 20


def tree_table(design: Design, tree: Tree, items_by_leaf: dict, by, upper=None) -> pd.DataFrame:
    """:func:`with_total` on the leaf scores of the items linked to each leaf, scored by ``item_codes``.

    Same table as ``with_total(design, tree, *leaf_matrices(design.data, tree.leaves,
    items_by_leaf, item_scores), by, upper)``.  When the variance is the first
    stage's alone (no calibration; see :func:`analysis._variance.first_stage_only`)
    nothing is computed per row and leaf: each item's weight totals per (PSU,
    domain, answer code) cell come from one pass over its codes, valid-answer
    counts from one histogram per 8 packed flags, and the ratios, linearised
    scores, composites and variances are all worked out on those cell totals.
    The linearised score total of a cell is ``(S_c - R_d V_c) / V_d`` with
    ``S_c, V_c`` the cell's weighted score and valid totals, so only the
    summation order differs from the row-level path.
    """
    cols = _as_list(by)
    cells = _cell_sums(design, tree, items_by_leaf, cols) if first_stage_only(design) else None
    if cells is None:
        s, v = leaf_matrices(design.data, tree.leaves, items_by_leaf, item_scores)
        return with_total(design, tree, s, v, cols, upper)
    parts = []
    if cols:
        parts.append(_cell_estimates(design, tree, cells, False, upper))
    parts.append(_cell_estimates(design, tree, cells, True, upper))
    return _stack(parts, cols)


@dataclass
class _Cells:
    """Item totals per occupied (first-stage cluster, domain slot) cell.

    Slot ``n_dom`` holds rows outside every domain; zero-weight rows are left out.
    """

    cluster: np.ndarray  # (m,) cluster code of each cell
    slot: np.ndarray  # (m,) domain code of each cell, n_dom outside every domain
    sw: np.ndarray  # (m, J) weighted score sums
    vw: np.ndarray  # (m, J) weighted valid-answer counts
    count: np.ndarray  # (m, J + C) rows with a valid answer to the leaf / under the composite
    n_dom: int
    labels: pd.DataFrame | None


def _cell_index(design: Design, dom: np.ndarray, n_dom: int, in_dom: np.ndarray):
    """Cell of every row (m for zero-weight rows), and each cell's cluster and domain slot."""
    st = design.stages[0]
    slots = n_dom + 1
    grid = st.cluster * slots
    grid += dom if in_dom.all() else np.where(in_dom, dom, n_dom)
    n_grid = st.n_clusters * slots
    zero = design.weights == 0
    if zero.any():
        grid[zero] = n_grid
    if n_grid <= 4 * len(grid) + 1024:
        present = np.bincount(grid, minlength=n_grid + 1)[:n_grid] > 0
        cells = np.flatnonzero(present)
        lookup = np.full(n_grid + 1, len(cells), dtype=np.int64)
        lookup[cells] = np.arange(len(cells))
        cell = lookup[grid]
    else:
        cells, cell = np.unique(grid, return_inverse=True)
        if cells[-1] == n_grid:  # zero-weight rows already map past the real cells
            cells = cells[:-1]
    return cell, cells // slots, cells % slots


def _cell_sums(design: Design, tree: Tree, items_by_leaf: dict, cols: list) -> _Cells | None:
    """Per-cell totals of every leaf's items, or ``None`` when the histograms would be too large."""
    data = design.data
    rows = questionnaire_rows(data)
    coded = [[c for c in (item_codes(data, it, rows.get(it.questionnaire))
                          for it in items_by_leaf.get(leaf, [])) if c is not None]
             for leaf in tree.leaves]
    width = max([len(lut) for items in coded for _, lut in items] + [2])
    dom, n_dom, labels, in_dom = _frame.domains(design, cols)
    n = design.n
    limit = max(_CELL_BINS_PER_ROW * n, _CELL_BINS_MIN)
    if min(design.stages[0].n_clusters * (n_dom + 1), n) * width > limit:
        return None
    cell, cell_cluster, cell_slot = _cell_index(design, dom, n_dom, in_dom)
    m = len(cell_cluster)
    if (m + 1) * width > limit:
        return None
    n_leaf = len(tree.leaves)
    sw = np.zeros((m, n_leaf))
    vw = np.zeros((m, n_leaf))
    base = cell * width + 1  # bin 0 of a cell: missing answers (code -1)
    key = np.empty(n, dtype=np.int64)
    w = design.weights
    row_valid: list[np.ndarray | None] = [None] * n_leaf
    for j, items in enumerate(coded):
        for codes, lut in items:
            valid = ~np.isnan(lut)
            s_bin = np.zeros(width)
            s_bin[1:len(lut)] = np.where(valid, lut, 0.0)[:-1]
            v_bin = np.zeros(width)
            v_bin[1:len(lut)] = valid[:-1]
            np.add(base, codes, out=key)
            hist = np.bincount(key, weights=w, minlength=(m + 1) * width).reshape(m + 1, width)[:m]
            sw[:, j] += hist @ s_bin
            vw[:, j] += hist @ v_bin
            rv = _valid_rows(codes, valid)
            if row_valid[j] is None:
                row_valid[j] = rv
            else:
                row_valid[j] |= rv
    flags = [(j, rv) for j, rv in enumerate(row_valid) if rv is not None]
    for c, idx in enumerate(tree.leaf_sets()):
        have = [row_valid[j] for j in idx if row_valid[j] is not None]
        if have:
            flags.append((n_leaf + c, np.logical_or.reduce(have) if len(have) > 1 else have[0]))
    count = np.zeros((m, n_leaf + len(tree.composites)))
    _count_flags(cell, m, flags, count, limit)
    return _Cells(cell_cluster, cell_slot, sw, vw, count, n_dom, labels)


def _valid_rows(codes: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``valid[codes]`` (code -1 picks the last entry, False), by comparing codes when few differ."""
    good, bad = np.flatnonzero(valid[:-1]), np.flatnonzero(~valid[:-1])
    if min(len(good), len(bad)) > 8:
        return valid[codes]
    if len(good) <= len(bad):
        out = np.zeros(len(codes), dtype=bool)
        for c in good:
            out |= codes == int(c)
        return out
    out = codes >= 0
    for c in bad:
        out &= codes != int(c)
    return out


def _count_flags(cell: np.ndarray, m: int, flags: list, count: np.ndarray, limit: int) -> None:
    """``count[:, col]`` = rows per cell (of ``m``; cell ``m`` dropped) where each flag is set.

    Up to 8 flags are packed into one byte per row, so one histogram of
    (cell, byte) counts serves them all.
    """
    per_pass = 1
    while per_pass < 8 and (m + 1) << (per_pass + 1) <= limit:
        per_pass += 1
    shifted = cell << per_pass
    key = np.empty(len(cell), dtype=np.int64)
    bits = np.empty(len(cell), dtype=np.uint8)
    patterns = np.arange(1 << per_pass)
    for start in range(0, len(flags), per_pass):
        chunk = flags[start:start + per_pass]
        bits.fill(0)
        for i, (_, flag) in enumerate(chunk):
            bits |= flag.view(np.uint8) << i
        np.add(shifted, bits, out=key)
        hist = np.bincount(key, minlength=(m + 1) << per_pass).reshape(m + 1, -1)[:m]
        # rows with flag i set: the patterns having bit i (integer counts, exact in float)
        bit_set = (patterns[:, None] >> np.arange(len(chunk))) & 1
        count[:, [col for col, _ in chunk]] = hist.astype(float) @ bit_set.astype(float)


def _cell_estimates(design: Design, tree: Tree, cells: _Cells, pooled: bool, upper) -> pd.DataFrame:
    """:func:`estimate_tree` on cell totals: by the cells' domains, or pooled over all rows."""
    st = design.stages[0]
    if pooled:
        cluster, dom, labels, n_dom = cells.cluster, np.zeros(len(cells.cluster), np.int64), None, 1
        sw, vw, count = cells.sw, cells.vw, cells.count
    else:
        keep = cells.slot < cells.n_dom
        cluster, dom, labels, n_dom = cells.cluster[keep], cells.slot[keep], cells.labels, cells.n_dom
        sw, vw, count = cells.sw[keep], cells.vw[keep], cells.count[keep]
    if n_dom == 1:
        # one domain: totals per cluster, over every cluster of the design
        sw, vw, count = (rowsum(cluster, x, st.n_clusters) for x in (sw, vw, count))
        cluster, dom = np.arange(st.n_clusters), np.zeros(st.n_clusters, np.int64)
    n_leaf = len(tree.leaves)
    scale = np.array([tree.scale.get(c, 1.0) for c in tree.leaves])
    num = rowsum(dom, sw, n_dom)
    den = rowsum(dom, vw, n_dom)
    ok = den > 0
    inv = np.divide(1.0, den, out=np.zeros_like(den), where=ok)
    r = num * inv
    leaf_est = np.where(ok, r, np.nan) * scale
    comp_est, complete, groups = _composite_estimates(tree, den, leaf_est)
    z = np.empty((len(cluster), n_leaf + len(tree.composites)))
    z[:, :n_leaf] = sw * (inv * scale)[dom] - vw * (r * inv * scale)[dom]
    for ds, a in groups:
        if len(groups) == 1:
            z[:, n_leaf:] = z[:, :n_leaf] @ a
        else:
            part = np.isin(dom, ds)
            z[part, n_leaf:] = z[part, :n_leaf] @ a
    cell_dom = None if n_dom == 1 else dom
    var = cells_variance(design, z, cluster, cell_dom, n_dom)
    n_obs, df = cells_degf(st, count, cluster, cell_dom, n_dom)
    return _result(tree, labels, n_dom, leaf_est, comp_est, var, df, n_obs, den, complete, upper)


__all__ = ["ALL", "Tree", "estimate_tree", "leaf_matrices", "tree_table", "with_total"]
