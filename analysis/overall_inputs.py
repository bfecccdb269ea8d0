"""The survey-measured parts of the overall index, from the analysis estimates of a wave.

How survey results become framework points (the mapping :mod:`analysis.overall` relies on):

- ``method: survey`` nodes of the PAR framework are scored by the officials' questionnaire items
  (``score: {node, method: fraction}``); :func:`analysis.indices.par_points` gives each survey leaf's
  points = max_points × weighted mean option fraction, its SE, each field's survey roll-up and
  ``survey_total``, all from one joint linearisation, so the roll-ups' SEs include the covariances
  between nodes answered by the same respondents. :func:`survey_parts` reads that table.
- ``method: sipas`` nodes with ``scoring_rule: sipas_percent`` and ``derived_from: {framework,
  node}`` take points = max_points × (SIPAS index of that node) / 100. :func:`sipas_parts` estimates
  those SIPAS indices and, in the same linearisation, the per-field and total sums of the derived
  points (aliases of the SIPAS nodes weighted by the PAR max_points), so that the covariance between,
  say, the service and the policy part of SIPAS (same citizens) is kept.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from ._cells import tree_table
from ._composite import ALL
from .design import _as_list
from .indices import _linked, as_design, as_framework, as_instruments, sipas_tree
from .overall import Part

TOTAL = "survey_total"


def _units(table: pd.DataFrame, by: str = "unit"):
    """(unit, rows) of every unit in a long estimate table; pooled rows are skipped."""
    rows = table[table[by].astype(str) != ALL]
    return rows.groupby(rows[by].astype(str), sort=False)


def _finite(value) -> float:
    """A float, NaN for missing values."""
    return float(value) if value is not None and not pd.isna(value) else math.nan


def survey_parts(par_table: pd.DataFrame, framework) -> dict[str, Part]:
    """Unit -> survey Part from :func:`analysis.indices.par_points`: leaf points, field and total SEs."""
    fw = as_framework(framework)
    leaves = {
        c
        for c, nd in fw.nodes.items()
        if nd.method == "survey" and not any(fw.nodes[k].method == "survey" for k in nd.children)
    }
    out = {}
    for unit, rows in _units(par_table):
        points, se, field_se, total_se, df, n = {}, {}, {}, None, None, None
        for r in rows.itertuples(index=False):
            if r.code in leaves:
                points[r.code], se[r.code] = _finite(r.estimate), _finite(r.se)
            elif r.code in fw.roots:
                field_se[r.code] = _finite(r.se)
            elif r.code == TOTAL:
                total_se, df, n = _finite(r.se), _finite(r.df), _finite(getattr(r, "n_valid", None))
        out[unit] = Part(points, se, total_se, field_se, df, n)
    return out


def derived_nodes(par_document: dict, sipas_id: str) -> dict[str, tuple[str, float]]:
    """PAR sipas node -> (SIPAS node code, max_points) for the nodes derived from that SIPAS framework."""
    found = {}

    def walk(raw: dict) -> None:
        source = raw.get("derived_from")
        if source and source.get("framework") == sipas_id and raw.get("max_points") is not None:
            found[str(raw["code"])] = (str(source["node"]), float(raw["max_points"]))
        for child in raw.get("children") or []:
            walk(child)

    for node in par_document.get("nodes") or []:
        walk(node)
    return found


def sipas_parts(
    design_or_df, questionnaires, sipas_framework: dict, par_framework: dict, by: str = "unit"
) -> dict[str, Part]:
    """Unit -> SIPAS Part: points of each derived PAR node, per field and in total, with joint SEs."""
    fw = as_framework(sipas_framework)
    par = as_framework(par_framework)
    derived = {
        code: spec
        for code, spec in derived_nodes(par_framework, fw.id).items()
        if spec[0] in fw.nodes and code in par.nodes
    }
    if not derived:
        return {}
    tree = sipas_tree(fw)
    tree = replace(
        tree, composites=list(tree.composites), children=dict(tree.children), weight=dict(tree.weight)
    )
    fields: dict[str, list[str]] = {}
    for code, (node, top) in derived.items():
        alias = f"points:{code}"
        tree.children[alias], tree.weight[alias] = [node], top
        tree.composites.append(alias)
        fields.setdefault(([code, *par.ancestors(code)])[-1], []).append(alias)
    for root, aliases in fields.items():
        tree.children[f"field:{root}"] = aliases
        tree.composites.append(f"field:{root}")
    tree.children[TOTAL] = [a for aliases in fields.values() for a in aliases]
    tree.composites.append(TOTAL)
    design = as_design(design_or_df)
    linked = _linked(as_instruments(questionnaires), fw, "satisfied")
    table = tree_table(design, tree, linked, _as_list(by))
    scale = {
        f"field:{root}": sum(derived[a[len("points:") :]][1] for a in aliases) / 100
        for root, aliases in fields.items()
    }
    scale[TOTAL] = sum(top for _, top in derived.values()) / 100
    out = {}
    for unit, rows in _units(table, by):
        est = dict(zip(rows["code"], rows["estimate"], strict=True))
        se = dict(zip(rows["code"], rows["se"], strict=True))
        df = dict(zip(rows["code"], rows["df"], strict=True))
        n_valid = dict(zip(rows["code"], rows["n_valid"], strict=True))
        points = {c: _finite(est.get(f"points:{c}")) * top / 100 for c, (_, top) in derived.items()}
        ses = {c: _finite(se.get(f"points:{c}")) * top / 100 for c, (_, top) in derived.items()}
        out[unit] = Part(
            points,
            ses,
            _finite(se.get(TOTAL)) * scale[TOTAL],
            {root: _finite(se.get(f"field:{root}")) * scale[f"field:{root}"] for root in fields},
            _finite(df.get(TOTAL)),
            _finite(n_valid.get(TOTAL)),
        )
    return out
