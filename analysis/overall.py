"""The overall PAR index of each unit for one year, with the sampling error of its survey part.

Pure computation: no database, no design. Inputs per unit are the framework document, the
self-assessment points per self-assessed node (the appraised score where there is one), the
points of the survey-measured parts with their standard errors (sociological survey ``survey``
nodes and SIPAS-derived ``sipas`` nodes, from :mod:`analysis.overall_inputs`) and the external
points entered by staff. Every counted leaf of the framework takes its points from the source its
``method`` names; a leaf without a value counts 0 and is listed in ``missing``.

Outputs: points and component index (% of the field's max) per field, total points, total index
(% of the framework's max), the grade from the framework's ``grades`` bands (data, never code),
a 95% interval, the change against the previous year and a ranking.

Sampling error. Self-assessed and external points are fixed numbers; the survey points are linear
in estimated ratios, so by the delta method the variance of the total is the variance of the sum
of the survey points. Within one part (one sample) the covariances between nodes are kept when the
part gives the SE of its total from the joint linearisation (``Part.total_se``, as
:func:`analysis.indices.par_points` does for ``survey_total``); otherwise the nodes are taken as
independent and the result says so (``variance`` = ``"independent"``). Different parts (officials'
survey, citizens' SIPAS) are separate samples and are independent. The interval is
on the logit scale of ``index / 100`` with ``t_df``, ``df`` the Welch–Satterthwaite combination of
the parts' design degrees of freedom (``Part.df``; the normal 1.96 when a part gives none); where the
SE is 0, the index at 0 or 100, or a part has no degrees of freedom, Clopper–Pearson on the effective
sample size (``Part.n``) as :mod:`analysis._intervals` describes; no interval (NaN) when that is
unknown.

Ranking (as issue 12 asks), within each group of units (``UnitInput.group``: provincial agencies
apart from communes, as provinces rank them): units are compared pairwise,
``z = (x_i - x_j) / sqrt(se_i² + se_j²)`` (units are separate domains with their own samples, so
independent), with Holm's step-down adjustment over all pairs at 5% family-wise error. A unit's
plausible rank range runs from one plus the number of units significantly above it to the number
of units not significantly below it; the units it is not significantly different from are listed.
A unit without a standard error (no survey data where the framework needs it) or without degrees of
freedom "cannot be ranked", never "tied with nobody". Joint 95% confidence sets for ranks (Klein,
Wright & Wieczorek 2020) are set too. The implementation is :mod:`analysis.ranking`'s, shared with the
wave's tables.

Change against the previous year: the unit's own previous index, else, for a unit formed by a
merger (2025), the **unweighted mean** of its predecessors' previous indices (the units table holds
no population to weigh by); such a value is marked provisional. The SE of the change assumes the two
years' samples are independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._frame import t_quantile
from ._intervals import bounded_interval
from .instruments import Framework, parse_framework
from .ranking import ALPHA, holm_pairs, rank_ranges, satterthwaite

__all__ = ["ALPHA", "Part", "UnitInput", "UnitResult", "holm_pairs", "overall", "rank", "satterthwaite",
           "unit_index"]

Z95 = 1.959963984540054
# Leaf method -> where its points come from.
SOURCES = {"self_assessed": "self", "survey": "survey", "sipas": "sipas", "external": "external"}
MEASURED = ("survey", "sipas")


@dataclass(frozen=True)
class Part:
    """The points of one survey-measured part of a unit (one sample) with their standard errors."""

    points: dict[str, float]
    se: dict[str, float] = field(default_factory=dict)
    total_se: float | None = None  # SE of the part's total with covariances (joint linearisation)
    field_se: dict[str, float] = field(default_factory=dict)  # field code -> SE of the part in it
    df: float | None = None  # design degrees of freedom of the part's total (None: large)
    n: float | None = None  # valid answers behind the part's total (for the effective-n interval)


@dataclass(frozen=True)
class UnitInput:
    """Everything one unit's index is computed from."""

    unit: str
    name: str = ""
    self_points: dict[str, float] = field(default_factory=dict)
    external: dict[str, float] = field(default_factory=dict)
    parts: dict[str, Part] = field(default_factory=dict)  # "survey" / "sipas" -> Part
    group: str = ""  # units are ranked within their group (agencies apart from communes)


@dataclass
class FieldResult:
    """Points and component index of one field."""

    code: str
    name: str
    name_en: str
    points: float
    max_points: float
    index: float
    se: float


@dataclass
class UnitResult:
    """The overall index of one unit."""

    unit: str
    name: str
    fields: list[FieldResult]
    points: float
    max_points: float
    index: float
    se: float
    ci_low: float
    ci_high: float
    grade: str | None
    grade_range: tuple[str | None, str | None]
    missing: list[str]
    variance: str  # "joint", "independent" or "none" (no survey part)
    group: str = ""
    df: float | None = None  # degrees of freedom of the interval (None: normal)
    previous: float | None = None
    previous_se: float | None = None
    previous_from: list[str] = field(default_factory=list)
    previous_provisional: bool = False
    change: float | None = None
    change_low: float | None = None
    change_high: float | None = None
    rank: int | None = None
    rank_best: int | None = None
    rank_worst: int | None = None
    joint_rank_best: int | None = None  # joint 95% confidence set for ranks (Klein et al. 2020)
    joint_rank_worst: int | None = None
    not_different_from: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Tell whether every counted leaf had a value."""
        return not self.missing

    @property
    def rankable(self) -> bool:
        """Tell whether the unit has an index, a standard error, an interval and degrees of freedom.

        A unit with no design degrees of freedom (one sampled cluster) has an interval from its
        effective sample size, but no reference distribution for a pairwise test: it cannot be ranked.
        """
        return (math.isfinite(self.index) and math.isfinite(self.se) and math.isfinite(self.ci_low)
                and (self.df is None or self.df > 0))


def counted_leaves(fw: Framework) -> dict[str, str]:
    """Counted leaf code -> its field (root) code; leaves under an ``in_total: false`` node are left out."""
    out = {}
    for code, node in fw.nodes.items():
        if node.children:
            continue
        chain = [code, *fw.ancestors(code)]
        if all(fw.nodes[c].in_total for c in chain):
            out[code] = chain[-1]
    return out


def grade_of(index: float, grades: list[dict]) -> str | None:
    """The code of the highest band whose ``min`` the index reaches (bands from the framework)."""
    if not math.isfinite(index):
        return None
    for band in sorted(grades, key=lambda b: -float(b["min"])):
        if index >= float(band["min"]) - 1e-9:
            return str(band["code"])
    return None


def _value(leaf: str, method: str | None, unit: UnitInput) -> float | None:
    """The points of one leaf from the source its method names, or None."""
    source = SOURCES.get(method or "")
    if source == "self":
        return unit.self_points.get(leaf)
    if source == "external":
        return unit.external.get(leaf)
    if source in MEASURED and source in unit.parts:
        value = unit.parts[source].points.get(leaf)
        return None if value is None or not math.isfinite(value) else value
    return None


def quantile(df: float | None) -> float:
    """The two-sided 95% t quantile (normal when df is None; NaN when df is not positive)."""
    if df is None:
        return Z95
    return float(t_quantile(np.array([df]))[0])


def _part_variance(part: Part, leaves: list[str], total: bool, field_code: str | None) -> tuple[float, bool]:
    """Variance of the part's points over some leaves, and whether covariances were included."""
    given = part.total_se if total else part.field_se.get(field_code or "")
    if given is not None and math.isfinite(given):
        return given**2, True
    ses = [part.se.get(c, math.nan) for c in leaves if c in part.points]
    return sum(s * s for s in ses), False


def unit_index(fw: Framework, grades: list[dict], unit: UnitInput) -> UnitResult:
    """Compute one unit's fields, total, interval and grade."""
    leaves = counted_leaves(fw)
    values, missing = {}, []
    for leaf in leaves:
        value = _value(leaf, fw.nodes[leaf].method, unit)
        if value is None:
            missing.append(leaf)
        values[leaf] = value or 0.0
    by_method: dict[str, list[str]] = {}
    for leaf in leaves:
        method = fw.nodes[leaf].method
        if method in MEASURED and leaf not in missing:
            by_method.setdefault(method, []).append(leaf)
    fields, joint = [], []
    for root in fw.roots:
        mine = [c for c, f in leaves.items() if f == root]
        variance = 0.0
        for method, measured in by_method.items():
            inside = [c for c in measured if c in mine]
            if inside:
                v, j = _part_variance(unit.parts[method], inside, False, root)
                variance += v
        node = fw.nodes[root]
        top = node.max_points or sum(fw.nodes[c].max_points or 0.0 for c in mine)
        points = sum(values[c] for c in mine)
        fields.append(
            FieldResult(
                root,
                node.name_vi,
                node.name_en,
                points,
                top,
                100 * points / top if top else math.nan,
                math.sqrt(variance),
            )
        )
    variance, pieces = 0.0, []
    for method, measured in by_method.items():
        v, j = _part_variance(unit.parts[method], measured, True, None)
        variance += v
        joint.append(j)
        pieces.append((v, unit.parts[method].df))
    total = sum(values.values())
    top = sum(f.max_points for f in fields if fw.nodes[f.code].in_total)
    scale = 100 / top if top else math.nan
    index, se = total * scale, math.sqrt(variance) * scale
    df = satterthwaite(pieces)
    index, low, high = _index_interval(index, se, df, [unit.parts[m].n for m in by_method])
    kind = "none" if not joint else ("joint" if all(joint) else "independent")
    return UnitResult(
        unit.unit,
        unit.name,
        fields,
        total,
        top,
        index,
        se,
        low,
        high,
        grade_of(index, grades),
        (grade_of(low, grades), grade_of(high, grades)),
        missing,
        kind,
        unit.group,
        df,
    )


def _index_interval(index: float, se: float, df: float | None, ns: list) -> tuple[float, float, float]:
    """The index clamped to 0–100 and its 95% interval (:func:`analysis._intervals.bounded_interval`).

    Logit scale with the Satterthwaite df (normal when None). Where that cannot be formed (index at
    0 or 100, SE 0, no df) Clopper–Pearson on the effective n, with n the smallest number of valid
    answers among the measured parts (NaN, hence no interval, when a part does not give it). An
    index with no measured part has no sampling error: its interval is the index itself.
    """
    if not ns:
        index = min(100.0, max(0.0, index)) if math.isfinite(index) else index
        return index, index, index
    n = min((math.nan if v is None else float(v)) for v in ns)
    est, low, high = (float(v) for v in bounded_interval(index, se, math.inf if df is None else df, n, 100.0))
    if math.isnan(low) and math.isfinite(est) and se > 0 and (df is None or df > 0):
        # at a bound with no count given (the effective-n interval needs n): the t interval, clamped
        half = quantile(df) * se
        return est, max(0.0, est - half), min(100.0, est + half)
    return est, low, high


def previous_value(
    unit: str, previous: dict[str, tuple[float, float]], predecessors: dict[str, list[str]]
) -> tuple[float | None, float | None, list[str], bool]:
    """The previous year's (index, se) of a unit, the units it comes from, and whether it is provisional.

    The unit's own value when it has one; else the unweighted mean of the predecessors that have one
    (SE of that mean with independent predecessors), provisional.
    """
    if unit in previous:
        index, se = previous[unit]
        return index, se, [unit], False
    found = [p for p in predecessors.get(unit, []) if p in previous]
    if not found:
        return None, None, [], False
    k = len(found)
    index = sum(previous[p][0] for p in found) / k
    ses = [previous[p][1] for p in found]
    se = math.sqrt(sum(s * s for s in ses)) / k if all(math.isfinite(s) for s in ses) else math.nan
    return index, se, found, True


def rank(results: list[UnitResult], alpha: float = ALPHA) -> None:
    """Set rank, plausible rank range and the units not told apart, in place (unrankable: None).

    :func:`analysis.ranking.rank_ranges`: Holm-adjusted pairwise tests, as for the wave's tables.
    """
    ok = [r for r in results if r.rankable]
    found = rank_ranges({r.unit: r.index for r in ok}, {r.unit: r.se for r in ok},
                        {r.unit: r.df for r in ok}, alpha)
    for r in ok:
        got = found[r.unit]
        r.rank, r.rank_best, r.rank_worst = got["rank"], got["rank_best"], got["rank_worst"]
        r.joint_rank_best, r.joint_rank_worst = got["joint_rank_best"], got["joint_rank_worst"]
        r.not_different_from = got["not_different_from"]


def overall(
    framework: dict | Framework,
    units: list[UnitInput],
    previous: dict[str, tuple[float, float]] | None = None,
    predecessors: dict[str, list[str]] | None = None,
    alpha: float = ALPHA,
) -> list[UnitResult]:
    """The overall index of every unit, ranked, with the change against the previous year.

    Parameters
    ----------
    framework : dict or Framework
        The published framework document (its ``grades`` bands are read from the document).
    units : list of UnitInput
    previous : dict, optional
        Unit code -> (index, se) of the previous year.
    predecessors : dict, optional
        Unit code -> codes of the units it was formed from.
    alpha : float
        Family-wise error of the pairwise comparisons.

    Returns
    -------
    list of UnitResult
        Sorted by index, highest first (units without an index last); ranked within each group.
    """
    document = framework if isinstance(framework, dict) else {}
    fw = parse_framework(framework) if isinstance(framework, dict) else framework
    grades = list(document.get("grades") or [])
    results = [unit_index(fw, grades, u) for u in units]
    for r in results:
        prev, prev_se, sources, provisional = previous_value(r.unit, previous or {}, predecessors or {})
        if prev is None:
            continue
        r.previous, r.previous_se, r.previous_from, r.previous_provisional = (
            prev,
            prev_se,
            sources,
            provisional,
        )
        r.change = r.index - prev
        half = Z95 * math.hypot(r.se, prev_se) if prev_se is not None else math.nan
        r.change_low, r.change_high = r.change - half, r.change + half
    for group in dict.fromkeys(r.group for r in results):
        rank([r for r in results if r.group == group], alpha)
    return sorted(
        results, key=lambda r: (not math.isfinite(r.index), -r.index if math.isfinite(r.index) else 0)
    )
