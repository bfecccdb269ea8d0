"""Monte-Carlo coverage of the published per-unit 95% intervals (issue 12, acceptance).

A fixed finite population of communes (each one stratum) with villages and people; every person
has fixed answers to six satisfaction items (two components of three items, one overall index).
Per-commune satisfaction is drawn between 80% and 95%; answers are correlated within people and
villages (random effects on the logit scale). Each replicate draws a stratified two-stage sample
(villages by simple random sampling within the commune, then people within each village), applies
random non-response, builds the weights from the recorded selection probabilities
(:func:`analysis.weights.wave_design`) and computes every item, component and overall index per
commune with its 95% interval (:func:`analysis.indices.sipas_indices`). The true values are the
population's own ratios. Per unit (commune × index) the script prints the share of replicates whose
interval holds the true value, and the misses below and above.

    python benchmarks/coverage_study.py --reps 1000

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats

from analysis.indices import sipas_indices
from analysis.weights import wave_design

SAT = [{"code": "2", "label": {"vi": "Không hài lòng", "en": "Dissatisfied"}},
       {"code": "4", "label": {"vi": "Hài lòng", "en": "Satisfied"}, "score": "satisfied"}]
ITEMS = {"c1": ["i1", "i2", "i3"], "c2": ["i4", "i5", "i6"]}


def _node(code, level, children=None):
    """A framework node."""
    out = {"code": code, "level": level, "name": {"vi": code, "en": code}, "method": "sipas",
           "status": "verified", "source": "simulation"}
    if children:
        out["children"] = children
    return out


FRAMEWORK = {"kind": "framework", "id": "sim", "version": "1", "index": "sipas", "status": "verified",
             "source": "simulation", "name": {"vi": "Mô phỏng", "en": "Simulation"},
             "nodes": [_node("x", "overall", [_node(f"x.{c}", "component", [_node(f"x.{c}.{i}", "item")
                                                                            for i in items])
                                              for c, items in ITEMS.items()])]}
ALL_ITEMS = [i for items in ITEMS.values() for i in items]
QUESTIONNAIRE = {"id": "sim-q", "version": "1", "framework": "sim", "title": {"vi": "Phiếu", "en": "Form"},
                 "scales": {"sat": SAT},
                 "sections": [{"id": "s1", "title": {"vi": "Trang 1", "en": "Page 1"}, "items": [
                     {"id": "m", "type": "likert", "scale": "sat", "label": {"vi": "Ma trận", "en": "Matrix"},
                      "rows": [{"id": i, "label": {"vi": i, "en": i},
                                "score": {"node": f"x.{c}.{i}", "method": "satisfied"}}
                               for c, items in ITEMS.items() for i in items]}]}]}


def population(rng, communes: int, villages: int):
    """People with fixed answers (1 = satisfied), their commune and village, and the true indices."""
    frames = []
    for c in range(communes):
        base = rng.uniform(0.82, 0.965)
        sizes = rng.integers(80, 400, villages)
        for v, size in enumerate(sizes):
            village = rng.normal(0, 0.35)
            person = rng.normal(0, 0.6, size)
            item = rng.normal(0, 0.15, len(ALL_ITEMS))
            eta = np.log(base / (1 - base)) + village + person[:, None] + item[None, :]
            sat = rng.random((size, len(ALL_ITEMS))) < 1 / (1 + np.exp(-eta))
            frame = pd.DataFrame(sat, columns=ALL_ITEMS)
            frame["unit"] = f"c{c:02d}"
            frame["village"] = f"c{c:02d}v{v:02d}"
            frames.append(frame)
    pop = pd.concat(frames, ignore_index=True)
    truth = {}
    for unit, rows in pop.groupby("unit"):
        items = {f"x.{c}.{i}": 100 * rows[i].mean() for c, its in ITEMS.items() for i in its}
        comps = {f"x.{c}": np.mean([items[f"x.{c}.{i}"] for i in its]) for c, its in ITEMS.items()}
        truth[unit] = items | comps | {"x": np.mean(list(comps.values()))}
    return pop, truth


def draw(rng, pop, villages_drawn: int, per_village: int, response: float):
    """One stratified two-stage sample with non-response: responses and the strata table."""
    rows, strata = [], []
    for unit, people in pop.groupby("unit", sort=True):
        names = people["village"].unique()
        chosen = rng.choice(names, villages_drawn, replace=False)
        invited = 0
        for village in chosen:
            members = people.index[people["village"] == village]
            k = min(per_village, len(members))
            picked = rng.choice(members, k, replace=False)
            invited += k
            p = villages_drawn / len(names) * k / len(members)
            answered = picked[rng.random(k) < response]
            part = pop.loc[answered, ALL_ITEMS].replace({True: "4", False: "2"})
            part["unit"], part["stratum"], part["cluster"] = unit, unit, village
            part["selection_probability"] = p
            rows.append(part)
        strata.append({"stratum": unit, "unit": unit, "group": "g", "population_size": len(people),
                       "sample_size": invited})
    data = pd.concat(rows, ignore_index=True)
    data["questionnaire"] = "sim-q"
    data["response_id"] = np.arange(len(data)).astype(str)
    return data, pd.DataFrame(strata)


def main() -> None:
    """Run the study and print per-unit coverage by level."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--communes", type=int, default=30)
    parser.add_argument("--villages", type=int, default=10)
    parser.add_argument("--villages-drawn", type=int, default=4)
    parser.add_argument("--per-village", type=int, default=10)
    parser.add_argument("--response", type=float, default=0.82)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    pop, truth = population(rng, args.communes, args.villages)
    codes = list(next(iter(truth.values())))
    units = sorted(truth)
    hit = np.zeros((len(units), len(codes)))
    low_miss = np.zeros_like(hit)
    high_miss = np.zeros_like(hit)
    counted = np.zeros_like(hit)
    sym_hit = np.zeros_like(hit)  # the former symmetric interval est ± t_df se, clipped, for comparison
    sym_counted = np.zeros_like(hit)
    respondents = []
    start = time.perf_counter()
    for _ in range(args.reps):
        data, strata = draw(rng, pop, args.villages_drawn, args.per_village, args.response)
        respondents.append(data.groupby("unit").size().to_numpy())
        table = sipas_indices(wave_design(data, strata), QUESTIONNAIRE, FRAMEWORK)
        table = table[table["unit"] != "ALL"].set_index(["unit", "code"])
        for a, unit in enumerate(units):
            for b, code in enumerate(codes):
                row = table.loc[(unit, code)]
                t = truth[unit][code]
                half = stats.t.ppf(0.975, row["df"]) * row["se"] if row["df"] > 0 else np.nan
                if np.isfinite(half):
                    sym_counted[a, b] += 1
                    sym_hit[a, b] += max(row["estimate"] - half, 0) <= t + 1e-9 <= min(row["estimate"] + half,
                                                                                       100) + 2e-9
                if not np.isfinite(row["ci_low"]):
                    continue
                counted[a, b] += 1
                below, above = t < row["ci_low"] - 1e-9, t > row["ci_high"] + 1e-9
                low_miss[a, b] += below  # the interval lies above the truth
                high_miss[a, b] += above
                hit[a, b] += not (below or above)
    seconds = time.perf_counter() - start
    cover = hit / np.maximum(counted, 1)
    resp = np.concatenate(respondents)
    true_values = np.array([[truth[u][c] for c in codes] for u in units])
    print(f"replicates {args.reps}, communes {len(units)}, respondents per commune "
          f"{resp.min()}–{resp.max()} (mean {resp.mean():.1f}), true satisfaction "
          f"{true_values.min():.1f}–{true_values.max():.1f}%, {seconds:.0f} s")
    print(f"{'level':10} {'units':>6} {'mean cover':>10} {'min':>6} {'p5':>6} {'max':>6} "
          f"{'miss low':>9} {'miss high':>9} {'no CI':>6}")
    levels = {"item": [j for j, c in enumerate(codes) if c.count(".") == 2],
              "component": [j for j, c in enumerate(codes) if c.count(".") == 1],
              "overall": [j for j, c in enumerate(codes) if c == "x"]}
    for level, cols in levels.items():
        c = cover[:, cols].ravel()
        total = counted[:, cols].sum()
        print(f"{level:10} {c.size:>6} {100 * c.mean():>9.1f}% {100 * c.min():>5.1f}% "
              f"{100 * np.percentile(c, 5):>5.1f}% {100 * c.max():>5.1f}% "
              f"{100 * high_miss[:, cols].sum() / total:>8.1f}% "
              f"{100 * low_miss[:, cols].sum() / total:>8.1f}% "
              f"{int(args.reps * c.size - total):>6}")
    print("(miss low: the interval lies below the true value; miss high: above it)")
    sym = sym_hit / np.maximum(sym_counted, 1)
    for level, cols in levels.items():
        c = sym[:, cols].ravel()
        print(f"former symmetric t interval, {level}: mean {100 * c.mean():.1f}%, min {100 * c.min():.1f}%, "
              f"no interval {int(args.reps * c.size - sym_counted[:, cols].sum())}")
    worst = np.unravel_index(np.argmin(cover), cover.shape)
    print(f"worst unit: {units[worst[0]]} {codes[worst[1]]} true {true_values[worst]:.1f}% "
          f"coverage {100 * cover[worst]:.1f}%; Monte-Carlo SE at 95%: "
          f"{100 * np.sqrt(0.95 * 0.05 / args.reps):.2f} points")


if __name__ == "__main__":
    main()
