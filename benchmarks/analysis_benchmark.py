"""Benchmark of the SIPAS index computation on 1,000,000 synthetic responses.

25 satisfaction items (5-point scale + "9" no opinion, ~3% blank) in 5 components
of 5 items, 34 strata (= provinces) and 3,300 PSUs.  Timed: the design weights
(:func:`analysis.weights.wave_design`) and every item, component and overall
index with SEs and 95% CIs by province plus the pooled estimate
(:func:`analysis.indices.sipas_indices`).  Each measurement runs in a fresh child
process whose peak resident memory (``ru_maxrss``) is read after it exits.

Optionally the same per-item estimates (ratio of weighted satisfied answers to
weighted valid answers, by province, Taylor linearisation with strata and PSUs)
are timed with samplics' ``TaylorEstimator(PopParam.ratio)``, which has no
composite indices, in its own venv:

    python benchmarks/analysis_benchmark.py --samplics-python /tmp/samplicsvenv/bin/python

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
N_STRATA, N_PSU, N_COMP, PER_COMP = 34, 3300, 5, 5
CODES = np.array(["1", "2", "3", "4", "5", "9"], dtype=object)


def make_data(n: int, seed: int = 2025, categorical: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic responses and the strata table.

    Item codes are text as the app exports them, held as pandas categoricals
    (what ``pd.read_csv(dtype="category")`` gives) or, with ``categorical=False``,
    as the default ``str`` dtype.
    """
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, N_PSU, n)
    stratum = psu % N_STRATA
    latent = (rng.normal(0, 0.4, N_STRATA)[stratum] + rng.normal(0, 0.3, N_PSU)[psu]
              + rng.normal(0, 1.0, n))
    data = {"response_id": np.char.add("r", np.arange(n).astype(str)).astype(object),
            "questionnaire": "bench", "unit": np.char.add("P", stratum.astype(str)).astype(object),
            "stratum": np.char.add("P", stratum.astype(str)).astype(object),
            "cluster": np.char.add("C", psu.astype(str)).astype(object)}
    cuts = np.array([-1.5, -0.7, 0.0, 1.2])
    for c in range(N_COMP):
        for i in range(PER_COMP):
            x = latent + rng.normal(0, 0.8, n)
            code = np.searchsorted(cuts, x)
            code[rng.random(n) < 0.06] = 5
            col = CODES[code]
            col[rng.random(n) < 0.03] = None
            data[f"c{c}_i{i}"] = pd.Categorical(col) if categorical else pd.array(col, dtype="str")
    frame = pd.DataFrame(data)
    counts = frame["stratum"].value_counts()
    strata = pd.DataFrame({"stratum": counts.index, "unit": counts.index, "group": "nguoi_dan",
                           "population_size": (counts.to_numpy() * 40).astype(np.int64),
                           "sample_size": (counts.to_numpy() * 1.3).astype(np.int64)})
    return frame, strata


def definitions() -> tuple[dict, dict]:
    """A questionnaire (5 likert matrices of 5 rows) and its SIPAS-style framework."""
    scale = [{"code": c, "label": {"vi": f"Mức {c}", "en": f"Level {c}"}} for c in "123"]
    scale += [{"code": c, "label": {"vi": f"Mức {c}", "en": f"Level {c}"}, "score": "satisfied"}
              for c in "45"]
    scale += [{"code": "9", "label": {"vi": "Không có ý kiến", "en": "No opinion"}, "excluded": True}]
    sections, comps = [], []
    for c in range(N_COMP):
        rows = [{"id": f"c{c}_i{i}", "label": {"vi": f"Mục {c}.{i}", "en": f"Item {c}.{i}"},
                 "score": {"node": f"s.c{c}.i{i}", "method": "satisfied"}} for i in range(PER_COMP)]
        sections.append({"id": f"p{c}", "items": [{"id": f"m{c}", "type": "likert", "scale": "sat",
                                                   "label": {"vi": "M", "en": "M"}, "rows": rows}]})
        comps.append({"code": f"s.c{c}", "level": "component", "name": {"vi": f"Yếu tố {c}", "en": f"C{c}"},
                      "children": [{"code": f"s.c{c}.i{i}", "level": "item",
                                    "name": {"vi": f"Mục {c}.{i}", "en": f"Item {c}.{i}"}}
                                   for i in range(PER_COMP)]})
    questionnaire = {"id": "bench", "version": "1", "framework": "bench", "scales": {"sat": scale},
                     "sections": sections}
    framework = {"id": "bench", "index": "sipas", "status": "verified", "name": {"vi": "B", "en": "B"},
                 "nodes": [{"code": "s", "level": "overall", "name": {"vi": "SIPAS", "en": "SIPAS"},
                            "children": comps}]}
    return questionnaire, framework


def peak_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_ours(n: int, categorical: bool = True) -> dict:
    """Time weights + SIPAS indices in this process."""
    sys.path.insert(0, str(ROOT))
    from analysis.indices import sipas_indices
    from analysis.weights import wave_design

    frame, strata = make_data(n, categorical=categorical)
    q, fw = definitions()
    after_data = peak_mb()
    t0 = time.perf_counter()
    wd = wave_design(frame, strata)
    t1 = time.perf_counter()
    table = sipas_indices(wd, q, fw, by="unit")
    t2 = time.perf_counter()
    overall = table[(table["code"] == "s") & (table["unit"] == "ALL")].iloc[0]
    return {"weights_s": t1 - t0, "indices_s": t2 - t1, "total_s": t2 - t0, "rows": len(table),
            "peak_mb": peak_mb(), "peak_after_data_mb": after_data,
            "overall": [float(overall["estimate"]), float(overall["se"])]}


def child_samplics(n: int, max_seconds: float) -> dict:
    """Time samplics' per-item Taylor means of the satisfied indicator by province."""
    import warnings

    warnings.simplefilter("ignore")
    from samplics import PopParam
    from samplics.estimation import TaylorEstimator

    frame, strata = make_data(n)
    r = frame["stratum"].value_counts()
    pop = strata.set_index("stratum")["population_size"]
    w = (pop / r).reindex(frame["stratum"]).to_numpy()
    items = [c for c in frame.columns if c.startswith("c")]
    ys, xs = {}, {}
    for item in items:
        col = frame[item]
        ys[item] = col.isin(["4", "5"]).to_numpy(dtype=float)
        xs[item] = (col.notna() & (col != "9")).to_numpy(dtype=float)
    t0 = time.perf_counter()
    done = 0
    for item in items:
        # the item index is the ratio sum(w satisfied) / sum(w valid), as in analysis.indices
        est = TaylorEstimator(PopParam.ratio)
        est.estimate(y=ys[item], x=xs[item], samp_weight=w, stratum=frame["stratum"].to_numpy(str),
                     psu=frame["cluster"].to_numpy(str), domain=frame["unit"].to_numpy(str))
        done += 1
        if time.perf_counter() - t0 > max_seconds:
            break
    elapsed = time.perf_counter() - t0
    return {"items_done": done, "items": len(items), "elapsed_s": elapsed,
            "extrapolated_s": elapsed * len(items) / done, "peak_mb": peak_mb(),
            "version": __import__("samplics").__version__}


def run_child(python: str, kind: str, n: int, max_seconds: float) -> dict:
    """Run one measurement in a fresh process and parse its JSON line."""
    cmd = [python, str(pathlib.Path(__file__).resolve()), "--child", kind, "--n", str(n),
           "--max-seconds", str(max_seconds)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def example_chart(out_dir: str) -> str:
    """Draw docs/charts/sipas-units-example.png from synthetic SIPAS answers (real questionnaire)."""
    import yaml

    sys.path.insert(0, str(ROOT))
    from analysis import plots, synthetic
    from analysis.indices import sipas_indices
    from analysis.weights import wave_design

    with open(ROOT / "questionnaires/sipas-service.yaml", encoding="utf-8") as fh:
        q = yaml.safe_load(fh)
    with open(ROOT / "questionnaires/frameworks/sipas-2023.yaml", encoding="utf-8") as fh:
        fw = yaml.safe_load(fh)
    units = {"u01": "Sở Tư pháp", "u02": "Sở Y tế", "u03": "Sở Xây dựng", "u04": "Phường Cẩm Thành",
             "u05": "Xã Lý Sơn (đặc khu)", "u06": "Xã Ba Tơ", "u07": "Phường Nghĩa Lộ", "u08": "Xã Sơn Hà"}
    responses, strata = synthetic.responses(q, units, per_unit=60, seed=11)
    table = sipas_indices(wave_design(responses, strata), q, fw)
    path = pathlib.Path(out_dir) / "sipas-units-example.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    plots.dot_whisker(table[table["code"] == "sipas"], path,
                      "Chỉ số SIPAS theo đơn vị (dữ liệu giả lập) / SIPAS by unit (synthetic data)")
    return str(path)


def main() -> None:
    """Run the benchmark and print (and optionally write) the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["ours", "ours_text", "samplics"])
    parser.add_argument("--samplics-python")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--example-chart", metavar="DIR", help="only draw the example chart into DIR")
    args = parser.parse_args()
    if args.example_chart:
        print(example_chart(args.example_chart))
        return
    if args.child in ("ours", "ours_text"):
        print(json.dumps(child_ours(args.n, categorical=args.child == "ours")))
        return
    if args.child == "samplics":
        print(json.dumps(child_samplics(args.n, args.max_seconds)))
        return
    runs = [run_child(sys.executable, "ours", args.n, args.max_seconds) for _ in range(args.repeat)]
    result = {"n": args.n, "ours": runs,
              "ours_text_codes": run_child(sys.executable, "ours_text", args.n, args.max_seconds)}
    if args.samplics_python:
        result["samplics"] = run_child(args.samplics_python, "samplics", args.n, args.max_seconds)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
