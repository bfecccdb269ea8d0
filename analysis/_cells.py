"""Composite estimates from cell totals: each item aggregated to (PSU, domain, answer code) cells.

When the variance is the first stage's alone and the design is not calibrated, every linearised
score total the variance needs is a sum over cells of PSU x domain x answer code, so one weighted
histogram per item replaces the row-level score matrix (same estimator as
:func:`analysis._composite.estimate_tree`; the tests check both paths against each other).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _frame
from ._composite import Tree, _composite_estimates, _result, _stack, leaf_matrices, with_total
from ._variance import cells_degf, cells_variance, first_stage_only, rowsum
from .design import Design, _as_list
from .instruments import item_codes, item_scores, questionnaire_rows

# The cell path is used while its (cell x code) histograms stay below this many bins
# per row of data (or below _CELL_BINS_MIN in all); otherwise the row-level path is.
_CELL_BINS_PER_ROW = 4
_CELL_BINS_MIN = 1 << 20


def tree_table(design: Design, tree: Tree, items_by_leaf: dict, by, upper=None,
               variance=None) -> pd.DataFrame:
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
    # replicate variances (``variance`` given) take the row-level path
    cells = (_cell_sums(design, tree, items_by_leaf, cols)
             if first_stage_only(design) and variance is None else None)
    if cells is None:
        s, v = leaf_matrices(design.data, tree.leaves, items_by_leaf, item_scores)
        return with_total(design, tree, s, v, cols, upper, variance)
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
    position = {j: i for i, (j, _) in enumerate(flags)}
    groups = []
    for c, idx in enumerate(tree.leaf_sets()):
        have = [position[j] for j in idx if j in position]
        if have:
            groups.append((n_leaf + c, have))
    count = np.zeros((m, n_leaf + len(tree.composites)))
    _count_flags(cell, m, flags, count, limit, groups)
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


def _count_flags(cell: np.ndarray, m: int, flags: list, count: np.ndarray, limit: int,
                 groups: list = ()) -> None:
    """``count[:, col]`` = rows per cell (of ``m``; cell ``m`` dropped) where each flag is set.

    Up to 8 flags are packed into one byte per row, so one histogram of
    (cell, byte) counts serves them all.  Each of ``groups``, ``(col, positions in flags)``,
    counts the rows where any of those flags is set: read from the same histogram (the
    patterns having any of their bits) when the flags share a pass, else packed as a flag
    of its own, their OR.
    """
    per_pass = 1
    while per_pass < 8 and (m + 1) << (per_pass + 1) <= limit:
        per_pass += 1
    per_pass = max(1, min(per_pass, len(flags)))
    chunks = [list(range(start, min(start + per_pass, len(flags))))
              for start in range(0, len(flags), per_pass)]
    derived: list[list] = [[] for _ in chunks]
    extra = []
    for col, positions in groups:
        k = positions[0] // per_pass
        if all(p // per_pass == k for p in positions):
            derived[k].append((col, [p - k * per_pass for p in positions]))
        else:
            mask = [flags[p][1] for p in positions]
            extra.append((col, np.logical_or.reduce(mask) if len(mask) > 1 else mask[0]))
    for start in range(0, len(extra), per_pass):
        chunks.append([len(flags) + i for i in range(start, min(start + per_pass, len(extra)))])
        derived.append([])
    flags = list(flags) + extra
    shifted = cell << per_pass
    key = np.empty(len(cell), dtype=np.int64)
    bits = np.empty(len(cell), dtype=np.uint8)
    patterns = np.arange(1 << per_pass)
    for chunk, more in zip(chunks, derived, strict=True):
        bits.fill(0)
        for i, p in enumerate(chunk):
            bits |= flags[p][1].view(np.uint8) << i
        np.add(shifted, bits, out=key)
        hist = np.bincount(key, minlength=(m + 1) << per_pass).reshape(m + 1, -1)[:m]
        # rows with flag i set: the patterns having bit i (integer counts, exact in float)
        bit_set = (patterns[:, None] >> np.arange(len(chunk))) & 1
        cols = [flags[p][0] for p in chunk]
        sets = [bit_set[:, i] for i in range(len(chunk))]
        for col, members in more:
            cols.append(col)
            sets.append(bit_set[:, members].any(axis=1))
        count[:, cols] = hist.astype(float) @ np.column_stack(sets).astype(float)


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


__all__ = ["tree_table"]
