"""The reference survey data sets and R's printed precision, shared by the estimator tests."""

import pathlib

import pandas as pd

DATA = pathlib.Path(__file__).parent / "data"


def load(name: str) -> pd.DataFrame:
    """Read a reference data set copied from /work/shared/data/reference-surveys."""
    return pd.read_csv(DATA / f"{name}.csv", dtype={"cds": str})


def printed(value: float, text: str) -> bool:
    """Whether ``value`` rounds to R's printed ``text`` at its number of decimals."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(value - float(text)) <= 0.5 * 10.0**-decimals * (1 + 1e-9)
