"""Column extraction, domain coding and result tables shared by the estimators."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .design import Design, _as_list

STAT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "df", "n"]


def domains(design: Design, by) -> tuple[np.ndarray, int, pd.DataFrame | None, np.ndarray]:
    """Domain code per row, number of domains, their labels and the rows with a domain."""
    cols = _as_list(by)
    if not cols:
        return np.zeros(design.n, dtype=np.int64), 1, None, np.ones(design.n, dtype=bool)
    if len(cols) == 1:
        coded = _coded_domain(design.data[cols[0]])
        if coded is not None:
            codes, labels = coded
            ok = codes >= 0
            return (np.where(ok, codes, 0) if not ok.all() else codes), len(labels), \
                pd.DataFrame({cols[0]: labels}), ok
    grouped = design.data.groupby(cols, sort=True, observed=True, dropna=True)
    codes = grouped.ngroup().to_numpy()
    labels = grouped.size().index.to_frame(index=False)
    ok = codes >= 0
    # rows with a missing domain are outside every domain: code 0 with a False mask
    return np.where(ok, codes, 0).astype(np.int64), len(labels), labels, ok


def _coded_domain(series: pd.Series):
    """Sorted group codes (-1 missing) and labels of a categorical or small-integer column.

    The same codes and labels as ``groupby(sort=True, observed=True, dropna=True)`` gives,
    from the column's own codes with one ``np.bincount`` instead of hashing its values;
    ``None`` for other columns.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw = series.cat.codes.to_numpy()
        n_cat = len(series.cat.categories)
        if raw.dtype == np.int8:  # -1 (missing) reads as 255 through an unsigned view
            present = np.bincount(raw.view(np.uint8), minlength=256)[:n_cat] > 0
        else:
            present = np.bincount(raw + 1, minlength=n_cat + 1)[1:] > 0
        used = np.flatnonzero(present)
        labels = pd.Categorical.from_codes(used, dtype=series.dtype)
        if len(used) == n_cat:
            return raw.astype(np.int64), labels
        rank = np.full(n_cat + 1, -1, dtype=np.int64)  # index -1 (missing) -> -1
        rank[used] = np.arange(len(used))
        return rank[raw], labels
    if not isinstance(series.dtype, np.dtype):  # nullable and other extension types: groupby's labels
        return None
    values = series.to_numpy()
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high < 4 * len(values) + 1024:
            present = np.bincount(values, minlength=high + 1) > 0
            rank = np.cumsum(present) - 1
            return rank[values].astype(np.int64), np.flatnonzero(present).astype(values.dtype)
    return None


def is_categorical(series: pd.Series) -> bool:
    """Whether a column is analysed as a factor (one row per level) rather than a number."""
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def numeric_matrix(design: Design, var) -> tuple[np.ndarray, list]:
    """Numeric columns as an (n, k) float matrix with NaN for missing values."""
    names = _as_list(var)
    for name in names:
        if is_categorical(design.data[name]):
            raise TypeError(f"column {name!r} is not numeric")
    return design.data[names].to_numpy(dtype=float, na_value=np.nan), names


def indicator_matrix(design: Design, var) -> tuple[np.ndarray, np.ndarray, list]:
    """0/1 indicators of the levels of a column, its non-missing mask and the levels."""
    series = design.data[var]
    codes, levels = pd.factorize(series, sort=True)
    valid = codes >= 0
    y = np.zeros((design.n, len(levels)))
    y[np.flatnonzero(valid), codes[valid]] = 1.0
    return y, valid, list(levels)


def t_quantile(df: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Two-sided t quantile; NaN where the degrees of freedom are not positive."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(df > 0, stats.t.ppf(0.5 + level / 2, np.where(df > 0, df, 1)), np.nan)


def assemble(labels: pd.DataFrame | None, n_dom: int, key: str | None, keys: list,
             columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long result table: one row per (domain, variable or level), domain-major."""
    k = len(keys)
    parts = []
    if labels is not None:
        parts.append(labels.iloc[np.repeat(np.arange(n_dom), k)].reset_index(drop=True))
    out = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=range(n_dom * k))
    if key is not None:
        out[key] = np.tile(np.asarray(keys, dtype=object), n_dom)
    for name, values in columns.items():
        out[name] = np.asarray(values, dtype=float).reshape(-1)
    out["n"] = out["n"].astype(np.int64)
    return out
