"""Charts with 95% confidence intervals on every estimate (matplotlib, Agg, no network).

Figures are drawn on :class:`matplotlib.figure.Figure` with the Agg canvas,
never through pyplot, so importing this module changes no global backend.
Text uses DejaVu Sans, which ships with matplotlib and covers Vietnamese
diacritics, so no web font or system font is needed.
"""

from __future__ import annotations

import textwrap

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

FONT = {"font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 10}
_ALL = "ALL"


def _figure(width: float, height: float) -> Figure:
    """A figure with an Agg canvas attached."""
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path) -> None:
    """Write a PNG without metadata that would change between runs."""
    fig.savefig(path, format="png", metadata={"Software": None})


def dot_whisker(table: pd.DataFrame, path, title: str, unit_label: str = "unit_name",
                xlabel: str = "Chỉ số (%) / Index (%)", pooled: bool = True) -> None:
    """Dot-and-whisker chart of one estimate per unit, sorted, with its 95% CI.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per unit: ``estimate``, ``ci_low``, ``ci_high`` and a label column.
    path : str or path
    title : str
    unit_label : str
        Column used as the y-axis label (falls back to ``unit``).
    xlabel : str
    pooled : bool
        Draw the pooled ``ALL`` estimate as a vertical reference line.
    """
    with matplotlib.rc_context(FONT):
        label = unit_label if unit_label in table.columns else "unit"
        units = table[(table["unit"].astype(str) != _ALL) & table["estimate"].notna()]
        units = units.sort_values("estimate")
        fig = _figure(7.5, max(2.5, 0.32 * len(units) + 1.4))
        ax = fig.add_subplot()
        y = np.arange(len(units))
        est = units["estimate"].to_numpy(float)
        err = np.vstack([est - units["ci_low"].to_numpy(float), units["ci_high"].to_numpy(float) - est])
        ax.errorbar(est, y, xerr=err, fmt="o", color="#1f4e79", ecolor="#7f9fbf", capsize=3, ms=5)
        ax.set_yticks(y, units[label].astype(str).tolist())
        whole = table[table["unit"].astype(str) == _ALL]
        if pooled and len(whole):
            ax.axvline(float(whole["estimate"].iloc[0]), color="#c00000", lw=1, ls="--",
                       label="Toàn bộ / All")
            ax.legend(loc="lower right", frameon=False)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
        fig.text(0.01, 0.005, "Thanh ngang: khoảng tin cậy 95% / whiskers: 95% confidence interval",
                 fontsize=7, color="#555555")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        _save(fig, path)


def component_profiles(table: pd.DataFrame, path, title: str, per_row: int = 3,
                       max_units: int = 24) -> None:
    """Small multiples: each unit's component indices with 95% CIs.

    Parameters
    ----------
    table : pandas.DataFrame
        SIPAS table rows of ``level == "component"`` (with ``name_vi``, ``unit``).
    path : str or path
    title : str
    per_row : int
    max_units : int
        Units drawn (the first ones by code); the tables hold them all.
    """
    with matplotlib.rc_context(FONT):
        rows = table[table["estimate"].notna()]
        units = [u for u in dict.fromkeys(rows["unit"].astype(str)) if u != _ALL][:max_units]
        units = units or [_ALL]
        names = list(dict.fromkeys(rows["name_vi"]))
        n_rows = int(np.ceil(len(units) / per_row))
        fig = _figure(2.6 * per_row + 2.2, 0.4 * len(names) * n_rows + 1.2 * n_rows + 0.6)
        axes = fig.subplots(n_rows, per_row, sharex=True, sharey=True, squeeze=False)
        y = np.arange(len(names))[::-1]  # first component at the top
        for ax, unit in zip(axes.flat, units, strict=False):
            part = rows[rows["unit"].astype(str) == unit].set_index("name_vi").reindex(names)
            est = part["estimate"].to_numpy(float)
            err = np.vstack([est - part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float) - est])
            ax.errorbar(est, y, xerr=err, fmt="o", color="#1f4e79", ecolor="#7f9fbf", capsize=2, ms=4)
            heading = part["unit_name"].dropna().iloc[0] if "unit_name" in part and \
                part["unit_name"].notna().any() else unit
            ax.set_title(str(heading), fontsize=9)
            ax.set_yticks(y, [textwrap.fill(str(n), 30) for n in names])
            ax.set_xlim(0, 100)
            ax.grid(axis="x", alpha=0.3)
        for ax in list(axes.flat)[len(units):]:
            ax.set_visible(False)
        fig.suptitle(title)
        fig.tight_layout()
        _save(fig, path)


def responses_over_time(data: pd.DataFrame, path,
                        title: str = "Số phiếu theo ngày / Responses per day") -> None:
    """Daily and cumulative counts of responses from ``submitted_on``."""
    with matplotlib.rc_context(FONT):
        days = pd.to_datetime(data["submitted_on"], errors="coerce").dropna().dt.normalize()
        counts = days.value_counts().sort_index()
        fig = _figure(7.5, 3.2)
        ax = fig.add_subplot()
        if len(counts):
            full = counts.reindex(pd.date_range(counts.index.min(), counts.index.max()), fill_value=0)
            ax.bar(full.index, full.to_numpy(), color="#7f9fbf", label="Trong ngày / per day")
            ax2 = ax.twinx()
            ax2.plot(full.index, full.cumsum().to_numpy(), color="#1f4e79", label="Cộng dồn / cumulative")
            ax2.set_ylabel("Cộng dồn / cumulative")
            ax2.legend(loc="upper left", frameon=False)
        ax.set_ylabel("Số phiếu / responses")
        ax.set_title(title)
        fig.autofmt_xdate()
        fig.tight_layout()
        _save(fig, path)
