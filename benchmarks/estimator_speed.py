"""Each public estimator against a hand-written numpy weighted mean with its linearised SE (issue 12, item 7).

Design: 1,000,000 rows, 1,000 strata x 10 PSUs (10,000 PSUs, 100 rows each), unequal weights.
The reference is the weighted mean ``sum(w y) / sum(w)`` with the with-replacement
stratified-cluster linearised variance, written directly with ``np.bincount`` on integer
stratum and PSU codes (what R's ``svymean`` computes for ``svydesign(ids=~psu, strata=~stratum,
weights=~w)``).  Each public estimator is timed on a :class:`analysis.Design` built once (its
construction is timed separately), and its time is reported as a ratio to the reference's,
both medians of ``--repeat`` runs in the same process.  The target is a ratio of at most 3
for a single estimate; functions that compute many estimates in one call (all items of the
SIPAS tree, every domain) are also shown per estimate read from the data.

``sipas_indices`` is also timed against the same SIPAS tree written by hand (``numpy_sipas``:
item ratios, component and overall means, x 100, with linearised SEs), once with row-level
scores and once on weighted histograms of the answer codes per PSU; the script first checks
that both give ``sipas_indices``' estimates and SEs to 1e-9, pooled and by unit.

    python benchmarks/estimator_speed.py [--n 1000000] [--repeat 7] [--only NAME] [--profile NAME]

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import os
import pathlib
import platform
import pstats
import statistics
import sys
import time

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import Design, estimate  # noqa: E402
from analysis.indices import sipas_indices  # noqa: E402

N_STRATA, PSU_PER_STRATUM = 1000, 10
N_ITEMS = 5


def make_data(n: int, seed: int = 12) -> pd.DataFrame:
    """Synthetic rows: stratum, PSU (nested, unique), weight, two numbers, a factor, domains, items."""
    rng = np.random.default_rng(seed)
    n_psu = N_STRATA * PSU_PER_STRATUM
    psu = np.sort(rng.integers(0, n_psu, n))
    psu[:n_psu] = np.arange(n_psu)  # every PSU sampled
    psu.sort()
    stratum = psu // PSU_PER_STRATUM
    w = rng.uniform(20, 200, N_STRATA)[stratum] * rng.uniform(0.8, 1.25, n)
    effect = rng.normal(0, 1, n_psu)[psu]
    y = 50 + 10 * effect + rng.normal(0, 20, n)
    x = 1 + rng.random(n) + 0.1 * effect
    data = {"stratum": stratum, "psu": psu, "w": w, "y": y, "x": x,
            "region": pd.Categorical(np.char.add("R", (stratum % 8).astype(str))),
            "unit": pd.Categorical(np.char.add("U", (stratum // 20).astype(str)))}
    codes = np.array(["1", "2", "3", "4", "5", "9"], dtype=object)
    cuts = np.array([-1.5, -0.7, 0.0, 1.2])
    for i in range(N_ITEMS):
        code = np.searchsorted(cuts, effect + rng.normal(0, 1, n))
        code[rng.random(n) < 0.05] = 5
        col = codes[code]
        col[rng.random(n) < 0.03] = None
        data[f"i{i}"] = pd.Categorical(col)
    data["answer"] = data["i0"]
    return pd.DataFrame(data)


def numpy_mean(stratum: np.ndarray, psu: np.ndarray, w: np.ndarray, y: np.ndarray,
               n_psu: int, n_strata: int) -> tuple[float, float]:
    """Hand-written weighted mean and its linearised stratified-cluster SE (with replacement)."""
    big_w = w.sum()
    est = (w * y).sum() / big_w
    z = w * (y - est) / big_w
    zt = np.bincount(psu, weights=z, minlength=n_psu)
    psu_stratum = np.zeros(n_psu, dtype=np.int64)
    psu_stratum[psu] = stratum
    n_h = np.bincount(psu_stratum, minlength=n_strata)
    zbar = np.bincount(psu_stratum, weights=zt, minlength=n_strata) / n_h
    dev = zt - zbar[psu_stratum]
    ss = np.bincount(psu_stratum, weights=dev * dev, minlength=n_strata)
    return est, float(np.sqrt((ss * n_h / (n_h - 1)).sum()))


def sipas_arrays(data: pd.DataFrame, questionnaire: dict) -> tuple[list, np.ndarray, np.ndarray]:
    """Item answer codes (pandas categorical codes, -1 missing) and lookup tables for the reference.

    ``sat[k]`` and ``valid[k]`` say whether category ``k`` counts as satisfied and as a valid
    answer; the extra last entry (picked by code -1) is a missing answer, invalid.  Prepared once,
    as ``numpy_mean`` gets its columns as arrays.
    """
    scale = questionnaire["scales"]["sat"]
    cats = list(data["i0"].cat.categories)
    by_code = {o["code"]: o for o in scale}
    sat = np.array([by_code[c].get("score") == "satisfied" for c in cats] + [False], dtype=float)
    valid = np.array([not by_code[c].get("excluded", False) for c in cats] + [False], dtype=float)
    codes = []
    for i in range(N_ITEMS):
        assert list(data[f"i{i}"].cat.categories) == cats
        codes.append(data[f"i{i}"].cat.codes.to_numpy())
    return codes, sat, valid


def sipas_coefficients() -> tuple[list[str], np.ndarray]:
    """Node codes and the (items x nodes) coefficients of the bench tree: items, components, overall.

    Component ``c`` is the mean of its items (framework weight 1 each); the overall index is the
    mean of the two components, so item ``i`` weighs ``1 / (2 n_c)`` in it.
    """
    items = [f"s.c{i % 2}.i{i}" for i in range(N_ITEMS)]
    a = np.zeros((N_ITEMS, N_ITEMS + 3))
    a[:, :N_ITEMS] = np.eye(N_ITEMS)
    for c in range(2):
        mine = [i for i in range(N_ITEMS) if i % 2 == c]
        a[mine, N_ITEMS + c] = 1 / len(mine)
        a[mine, N_ITEMS + 2] = 1 / (2 * len(mine))
    return items + ["s.c0", "s.c1", "s"], a


def numpy_sipas(stratum: np.ndarray, psu: np.ndarray, w: np.ndarray, codes: list, sat: np.ndarray,
                valid: np.ndarray, n_psu: int, n_strata: int, dom: np.ndarray | None = None,
                n_dom: int = 1, cells: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Hand-written SIPAS tree: estimates and linearised SEs (percent) of items, components, overall.

    Item ``j`` is the ratio ``R_j = sum(w s_j) / sum(w v_j)`` (satisfied among valid answers),
    its linearised score ``z_ij = w_i (s_ij - R_j v_ij) / V_j``; every composite is linear in
    the items, ``C = A' R``, so its PSU score totals are ``A'`` times the items' (the same as
    summing its row scores ``z A``).  All x 100.  Variance as :func:`numpy_mean` (stratified
    cluster, with replacement), per domain when ``dom`` (codes ``0..n_dom-1``) is given: a row
    scores only in its own domain, every PSU of the design counts in its stratum.  Returns
    ``(estimate, se)``, each (n_dom, items + 3).

    ``cells=True`` is the same estimator summed in another order, as a numpy user who knows the
    trick would write it: one weighted histogram of each item's answer codes per (PSU, domain)
    cell, ``S_c, V_c`` from it, and the cell score totals ``(S_c - R_d V_c) / V_d`` without
    any n-row score.
    """
    _, a = sipas_coefficients()
    a = 100.0 * a
    psu_stratum = np.zeros(n_psu, dtype=np.int64)
    psu_stratum[psu] = stratum
    n_h = np.bincount(psu_stratum, minlength=n_strata)
    cell = psu if dom is None else psu * n_dom + dom
    n_cell = n_psu * n_dom
    zt = np.empty((n_cell, N_ITEMS))
    ratio = np.empty((n_dom, N_ITEMS))
    if cells:
        width = len(sat)  # bin 0 of a cell: missing answers (code -1)
        sat_bin, valid_bin = np.roll(sat, 1), np.roll(valid, 1)
        base = cell * width + 1
        cell_dom = np.arange(n_cell) % n_dom
        for j, code in enumerate(codes):
            hist = np.bincount(base + code, weights=w, minlength=n_cell * width).reshape(n_cell, width)
            s_c, v_c = hist @ sat_bin, hist @ valid_bin
            big_v = np.bincount(cell_dom, weights=v_c, minlength=n_dom)
            r = np.bincount(cell_dom, weights=s_c, minlength=n_dom) / big_v
            ratio[:, j] = r
            zt[:, j] = (s_c - r[cell_dom] * v_c) / big_v[cell_dom]
    else:
        for j, code in enumerate(codes):
            ws = w * sat[code]
            wv = w * valid[code]
            if dom is None:
                big_v = wv.sum()
                r = ws.sum() / big_v
                z = (ws - r * wv) / big_v
            else:
                big_v = np.bincount(dom, weights=wv, minlength=n_dom)
                r = np.bincount(dom, weights=ws, minlength=n_dom) / big_v
                z = (ws - r[dom] * wv) / big_v[dom]
            ratio[:, j] = r
            zt[:, j] = np.bincount(cell, weights=z, minlength=n_cell)
    est = ratio @ a
    # score totals per (PSU, domain) cell and node; stratum means over every PSU of the stratum
    zt = zt @ a
    cell_stratum = (psu_stratum[:, None] * n_dom + np.arange(n_dom)).ravel()
    factor = (n_h / (n_h - 1))[:, None]
    var = np.empty((n_dom, a.shape[1]))
    for k in range(a.shape[1]):
        zbar = np.bincount(cell_stratum, weights=zt[:, k], minlength=n_strata * n_dom)
        zbar /= np.repeat(n_h, n_dom)
        dev = zt[:, k] - zbar[cell_stratum]
        ss = np.bincount(cell_stratum, weights=dev * dev, minlength=n_strata * n_dom)
        var[:, k] = (ss.reshape(n_strata, n_dom) * factor).sum(axis=0)
    return est, np.sqrt(var)


def check_sipas(design: Design, arrays: tuple, sipas: tuple, unit: np.ndarray, n_unit: int) -> None:
    """``sipas_indices`` gives the reference's estimates and SEs to 1e-9, pooled and by unit."""
    q, fw = sipas_documents()
    names, _ = sipas_coefficients()
    stratum, psu, w, _, n_psu, n_strata = arrays
    for (by, dom, n_dom), cells in itertools.product(((None, None, 1), ("unit", unit, n_unit)),
                                                     (False, True)):
        est, se = numpy_sipas(stratum, psu, w, *sipas, n_psu, n_strata, dom, n_dom, cells)
        table = sipas_indices(design, q, fw, by=by)
        if by:
            table = table[table["unit"] != "ALL"]
            labels = list(design.data["unit"].cat.categories)
            got = table.set_index(["unit", "code"])
            keys = [(u, c) for u in labels for c in names]
        else:
            got = table.set_index("code")
            keys = names
        ours_est = got.loc[keys, "estimate"].to_numpy().reshape(n_dom, -1)
        ours_se = got.loc[keys, "se"].to_numpy().reshape(n_dom, -1)
        assert np.allclose(ours_est, est, rtol=1e-9, atol=0), (by, np.abs(ours_est - est).max())
        assert np.allclose(ours_se, se, rtol=1e-9, atol=0), (by, np.abs(ours_se / se - 1).max())


def sipas_documents() -> tuple[dict, dict]:
    """A questionnaire of N_ITEMS likert rows in one matrix and its SIPAS framework (2 components)."""
    scale = [{"code": c, "label": {"vi": f"Mức {c}", "en": f"Level {c}"}} for c in "123"]
    scale += [{"code": c, "label": {"vi": f"Mức {c}", "en": f"Level {c}"}, "score": "satisfied"}
              for c in "45"]
    scale += [{"code": "9", "label": {"vi": "Không có ý kiến", "en": "No opinion"}, "excluded": True}]
    rows = [{"id": f"i{i}", "label": {"vi": f"Mục {i}", "en": f"Item {i}"},
             "score": {"node": f"s.c{i % 2}.i{i}", "method": "satisfied"}} for i in range(N_ITEMS)]
    questionnaire = {"id": "bench", "version": "1", "framework": "bench", "scales": {"sat": scale},
                     "sections": [{"id": "p", "items": [{"id": "m", "type": "likert", "scale": "sat",
                                                         "label": {"vi": "M", "en": "M"}, "rows": rows}]}]}
    comps = [{"code": f"s.c{c}", "level": "component", "name": {"vi": f"Yếu tố {c}", "en": f"C{c}"},
              "children": [{"code": f"s.c{c}.i{i}", "level": "item",
                            "name": {"vi": f"Mục {i}", "en": f"Item {i}"}}
                           for i in range(N_ITEMS) if i % 2 == c]} for c in range(2)]
    framework = {"id": "bench", "index": "sipas", "status": "verified", "name": {"vi": "B", "en": "B"},
                 "nodes": [{"code": "s", "level": "overall", "name": {"vi": "SIPAS", "en": "SIPAS"},
                            "children": comps}]}
    return questionnaire, framework


def cases(design: Design) -> dict:
    """Name -> (callable, estimates read from the data per call)."""
    q, fw = sipas_documents()
    return {
        "mean": (lambda: estimate.mean(design, "y"), 1),
        "total": (lambda: estimate.total(design, "y"), 1),
        "ratio": (lambda: estimate.ratio(design, "y", "x"), 1),
        "mean of a factor (6 levels)": (lambda: estimate.mean(design, "answer"), 1),
        "proportion (6 levels, logit CI)": (lambda: estimate.proportion(design, "answer"), 1),
        "mean by region (8 domains)": (lambda: estimate.mean(design, "y", by="region"), 1),
        "mean by unit (50 domains)": (lambda: estimate.mean(design, "y", by="unit"), 1),
        "total by region": (lambda: estimate.total(design, "y", by="region"), 1),
        "ratio by region": (lambda: estimate.ratio(design, "y", "x", by="region"), 1),
        "proportion by region": (lambda: estimate.proportion(design, "answer", by="region"), 1),
        f"sipas_indices pooled ({N_ITEMS} items, tree)": (
            lambda: sipas_indices(design, q, fw, by=None), N_ITEMS),
        f"sipas_indices by unit ({N_ITEMS} items, 50 units + pooled)": (
            lambda: sipas_indices(design, q, fw, by="unit"), N_ITEMS),
    }


def timed_calls(calls: dict, repeat: int) -> dict:
    """Median wall and CPU seconds of ``repeat`` rounds of calling each of ``calls`` in turn.

    Alternating the calls lets a change of the machine's load hit them alike; CPU time
    (``time.process_time``, one thread) moves less than wall time on a shared machine.
    """
    wall = {name: [] for name in calls}
    cpu = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            c0, t0 = time.process_time(), time.perf_counter()
            call()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {f"{kind}_{name}": statistics.median(values[name])
            for kind, values in (("wall", wall), ("cpu", cpu)) for name in calls}


def main() -> None:
    """Build the data and design, time the reference and each estimator, print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--profile", metavar="NAME", help="cProfile one case (a prefix of its name)")
    parser.add_argument("--only", metavar="NAME", help="time only the cases whose name starts so")
    args = parser.parse_args()
    data = make_data(args.n)
    t0 = time.perf_counter()
    design = Design(data, weights="w", strata="stratum", ids="psu")
    build_s = time.perf_counter() - t0
    todo = {k: v for k, v in cases(design).items() if not args.only or k.startswith(args.only)}
    if args.profile:
        name = next(k for k in todo if k.startswith(args.profile))
        fn = todo[name][0]
        fn()
        prof = cProfile.Profile()
        prof.runcall(fn)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        return
    arrays = (data["stratum"].to_numpy(), data["psu"].to_numpy(), data["w"].to_numpy(),
              data["y"].to_numpy(), N_STRATA * PSU_PER_STRATUM, N_STRATA)
    ref_est, ref_se = numpy_mean(*arrays)
    ours = estimate.mean(design, "y").iloc[0]
    assert abs(ours["estimate"] - ref_est) < 1e-9 * abs(ref_est)
    assert abs(ours["se"] - ref_se) < 1e-9 * ref_se, (ours["se"], ref_se)
    stratum, psu, w = arrays[:3]
    sipas = sipas_arrays(data, sipas_documents()[0])
    unit = data["unit"].cat.codes.to_numpy().astype(np.int64)
    n_unit = len(data["unit"].cat.categories)
    check_sipas(design, arrays, sipas, unit, n_unit)
    tail = arrays[4:]

    def tree_refs(cells: bool) -> dict:
        return {  # like-for-like references of the SIPAS cases: the tree; by unit and pooled
            "sipas_indices pooled": lambda: numpy_sipas(stratum, psu, w, *sipas, *tail, cells=cells),
            "sipas_indices by unit": lambda: (
                numpy_sipas(stratum, psu, w, *sipas, *tail, unit, n_unit, cells=cells),
                numpy_sipas(stratum, psu, w, *sipas, *tail, cells=cells))}

    like = {"tree": tree_refs(False), "cells": tree_refs(True)}
    rows = []
    for name, (fn, per) in todo.items():
        fn()  # warm up
        calls = {"ref": lambda: numpy_mean(*arrays), "fn": fn}
        for kind, refs in like.items():
            ref = next((r for k, r in refs.items() if name.startswith(k)), None)
            if ref is not None:
                ref()
                calls[kind] = ref
        m = timed_calls(calls, args.repeat)
        row = {"estimator": name, "seconds": round(m["wall_fn"], 4),
               "numpy_seconds": round(m["wall_ref"], 4),
               "ratio": round(m["wall_fn"] / m["wall_ref"], 2),
               "cpu_ratio": round(m["cpu_fn"] / m["cpu_ref"], 2),
               "ratio_per_estimate": round(m["wall_fn"] / m["wall_ref"] / per, 2)}
        for kind in ("tree", "cells"):
            if kind in calls:
                row |= {f"numpy_{kind}_seconds": round(m[f"wall_{kind}"], 4),
                        f"{kind}_ratio": round(m["wall_fn"] / m[f"wall_{kind}"], 2),
                        f"{kind}_cpu_ratio": round(m["cpu_fn"] / m[f"cpu_{kind}"], 2)}
        rows.append(row)
    print(json.dumps({"n": args.n, "strata": N_STRATA, "psus": N_STRATA * PSU_PER_STRATUM,
                      "repeat": args.repeat, "design_build_s": round(build_s, 3),
                      "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                      "machine": f"{platform.machine()} {os.cpu_count()} cores, Python "
                                 f"{platform.python_version()}, numpy {np.__version__}, "
                                 f"pandas {pd.__version__}",
                      "load_before": pathlib.Path("/proc/loadavg").read_text().split()[0],
                      "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
