"""Benchmark of replicate weights and replicate variances on 1,000,000 synthetic rows.

Two designs: 34 strata with 3,300 PSUs (clustered), and 34 strata whose 1,000,000 rows are each
their own PSU (no clusters, a wave without villages: the jackknife then has 1,000,000 replicates
and runs in closed form). Timed, in one process, with the linearised variance as the yardstick:
``estimate.mean`` of 5 variables by the 34 provinces and pooled, with ``variance=None``
(linearisation), JKn and the Rao–Wu bootstrap (200 replicates), and building the (n x 200)
exported bootstrap weights of the clustered design. Not part of the test suite.

    python benchmarks/replicates_benchmark.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from analysis import Design, estimate
from analysis.replicates import make_replicates


def make_data(n: int, seed: int = 2026) -> pd.DataFrame:
    """Rows with a province stratum, a PSU and five numeric answers with PSU effects."""
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, 3300, n)
    stratum = psu % 34
    frame = {"stratum": stratum, "psu": psu, "row": np.arange(n), "w": rng.uniform(1, 5, n),
             "province": stratum}
    for j in range(5):
        frame[f"y{j}"] = rng.normal(0, 0.3, 3300)[psu] + rng.normal(0, 1, n)
    return pd.DataFrame(frame)


def timed(fn, repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = make_data(args.rows)
    ys = [f"y{j}" for j in range(5)]
    for label, ids in (("3,300 PSUs", "psu"), ("1 row = 1 PSU", "row")):
        design = Design(data, weights="w", strata="stratum", ids=ids, nest=True)
        jkn = make_replicates(design, "jkn")
        boot = make_replicates(design, "bootstrap", replicates=200)
        for name, variance in (("linearised", None), ("JKn", jkn), ("bootstrap 200", boot)):
            seconds = timed(lambda v=variance, d=design: (estimate.mean(d, ys, by="province", variance=v),
                                                          estimate.mean(d, ys, variance=v)), args.repeat)
            print(f"{label:14s} {name:14s} mean of 5 variables by 34 provinces + pooled: {seconds:.2f} s")
        if ids == "psu":
            seconds = timed(lambda b=boot: b.matrix(), args.repeat)
            print(f"{label:14s} bootstrap 200 exported weight matrix (n x 200): {seconds:.2f} s")


if __name__ == "__main__":
    main()
