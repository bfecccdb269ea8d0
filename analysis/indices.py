"""SIPAS satisfaction indices and PAR INDEX survey points with design-based SEs.

Both indices are trees of ratio estimators combined linearly, estimated with
:func:`analysis._composite.estimate_tree`: the linearised scores of all
items are built at once and combined with the aggregation weights, and the
variance core is called once for all levels, so correlated items are not
treated as independent (Taylor linearisation of a function of ratio
estimators; Wolter 2007, sec. 6.5; Lumley 2010, sec. 3.5).  Intervals are
``estimate +/- t_df se`` with the design df of the domain (PSUs minus strata),
clipped to the index range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._cells import tree_table
from ._composite import ALL, Tree, leaf_matrices, tree_covariance
from .design import Design, _as_list
from .instruments import Framework, Instrument, item_scores, parse_framework, parse_questionnaire
from .ranking import rank_units

__all__ = ["ALL", "as_design", "as_framework", "as_instruments", "par_points", "rank_units",
           "sipas_indices", "unit_covariance", "units_share_psus"]


def as_design(design_or_df) -> Design:
    """A :class:`Design` from a Design, a WaveDesign, or a data frame (unweighted SRS)."""
    if isinstance(design_or_df, Design):
        return design_or_df
    if hasattr(design_or_df, "design"):
        return design_or_df.design
    return Design(pd.DataFrame(design_or_df))


def as_instruments(questionnaire) -> list[Instrument]:
    """Parsed instruments from one or several published documents (dicts) or Instrument objects."""
    items = questionnaire if isinstance(questionnaire, list | tuple) else [questionnaire]
    return [q if isinstance(q, Instrument) else parse_questionnaire(q) for q in items]


def as_framework(framework) -> Framework:
    """A parsed framework from its published document (a dict) or a Framework."""
    return framework if isinstance(framework, Framework) else parse_framework(framework)


def _linked(instruments: list[Instrument], fw: Framework, method: str) -> dict[str, list]:
    """Framework node -> questionnaire items scoring it with ``method``."""
    out: dict[str, list] = {}
    for inst in instruments:
        for item in inst.scored():
            if item.method == method and item.node in fw.nodes:
                out.setdefault(item.node, []).append(item)
    return out


def _finish(table: pd.DataFrame, fw: Framework, by: list, design: Design) -> pd.DataFrame:
    """Add level and names, the unit name, and order rows by domain then framework order."""
    order = {c: i for i, c in enumerate(fw.nodes)}
    order["survey_total"] = -1
    table["level"] = [fw.nodes[c].level if c in fw.nodes else "overall" for c in table["code"]]
    table["name_vi"] = [fw.nodes[c].name_vi if c in fw.nodes else "Tổng điểm điều tra xã hội học"
                        for c in table["code"]]
    table["name_en"] = [fw.nodes[c].name_en if c in fw.nodes else "Total survey points"
                        for c in table["code"]]
    if "unit" in by and "unit_name" in design.data.columns:
        names = design.data.drop_duplicates("unit").set_index("unit")["unit_name"]
        table["unit_name"] = table["unit"].map(names).fillna("Toàn bộ / All").astype(object)
    table["_order"] = table["code"].map(order)
    table["_all"] = (table[by] == ALL).any(axis=1) if by else False
    table = table.sort_values(["_all", *by, "_order"], kind="stable").drop(columns=["_order", "_all"])
    front = ["level", "code", "name_vi", "name_en", *by] + (["unit_name"] if "unit_name" in table else [])
    return table[front + [c for c in table.columns if c not in front]].reset_index(drop=True)


def sipas_indices(design_or_df, questionnaire, framework, by="unit",
                  weights: dict | None = None, variance=None) -> pd.DataFrame:
    """SIPAS item, component, part and overall indices (percent) with SEs and 95% CIs.

    Item index = weighted share satisfied among valid answers, the ratio
    ``sum(w s) / sum(w v)`` (options marked ``satisfied`` count; excluded options
    and missing answers leave the denominator).  Component, part and overall
    indices are weighted means of their children with the framework's
    ``weight`` (``aggregation.default_weight`` when absent; ``in_total: false``
    children are reported but not counted), overridable by ``weights``.  SEs by
    Taylor linearisation of the composite of ratio estimators (Woodruff 1971;
    Lumley 2010, sec. 3.5), matching R's ``svycontrast(svyratio(...))``.

    Parameters
    ----------
    design_or_df : Design, WaveDesign or pandas.DataFrame
        A data frame is analysed as an unweighted simple random sample.
    questionnaire : dict or list of dict
        Published questionnaire document(s) whose items score framework nodes.
    framework : dict
        The SIPAS framework document (``sipas-2023.yaml``).
    by : str or list of str, default "unit"
        Domain columns; pooled rows carry ``ALL``.
    weights : dict, optional
        Node code -> aggregation weight, replacing the framework's.
    variance : str or ReplicateWeights, optional
        Replicate SEs and intervals (:mod:`analysis.replicates`) instead of the linearisation.

    Returns
    -------
    pandas.DataFrame
        ``level, code, name_vi, name_en, <by>, [unit_name], estimate, se,
        ci_low, ci_high, df, n_valid, complete`` (estimates in percent).
    """
    design = as_design(design_or_df)
    fw = as_framework(framework)
    by = _as_list(by)
    linked = _linked(as_instruments(questionnaire), fw, "satisfied")
    table = tree_table(design, sipas_tree(fw, weights), linked, by, {c: 100.0 for c in fw.nodes}, variance)
    return _finish(table, fw, by, design)


def sipas_tree(fw: Framework, weights: dict | None = None) -> Tree:
    """The SIPAS index tree: items as leaves (percent), weighted means above them."""
    leaves = [c for c, nd in fw.nodes.items() if not nd.children]
    composites = [c for c, nd in fw.nodes.items() if nd.children]
    weight = {c: nd.weight for c, nd in fw.nodes.items()} | dict(weights or {})
    return Tree(leaves, composites, {c: fw.nodes[c].children for c in composites}, weight,
                {c: nd.in_total for c, nd in fw.nodes.items()}, {c: 100.0 for c in leaves}, "mean")


def _survey_tree(fw: Framework) -> tuple[Tree, dict[str, float]]:
    """Sum tree of survey nodes: leaves, survey criteria, field roll-ups and the total."""
    survey = [c for c, nd in fw.nodes.items() if nd.method == "survey"]
    leaves = [c for c in survey if not any(k in survey for k in fw.nodes[c].children)]
    children: dict[str, list[str]] = {}
    for c in survey:
        kids = [k for k in fw.nodes[c].children if k in survey]
        if kids:
            children[c] = kids
    fields: dict[str, list[str]] = {}
    for c in survey:
        parent = fw.nodes[c].parent
        if parent is not None and parent in survey:
            continue
        top = ([c, *fw.ancestors(c)])[-1]
        if top != c:
            fields.setdefault(top, []).append(c)
    children |= fields
    children["survey_total"] = list(fields)
    composites = [c for c in fw.nodes if c in children] + ["survey_total"]
    maxes = {c: fw.nodes[c].max_points or 0.0 for c in leaves}

    def total(code):
        return maxes[code] if code in maxes else sum(total(k) for k in children[code])

    tree = Tree(leaves, composites, children, {}, {c: fw.nodes[c].in_total for c in fw.nodes},
                maxes, "sum")
    return tree, {c: total(c) for c in leaves + composites}


def par_points(design_or_df, questionnaires, framework, by="unit", variance=None) -> pd.DataFrame:
    """PAR INDEX points of every survey-method node per assessed unit, with SEs and CIs.

    Node points = ``max_points x`` weighted mean option fraction over valid
    answers (a ratio estimator; excluded options such as "don't know" leave the
    denominator), pooling every questionnaire item linked to the node.  A
    survey criterion is the sum of its survey sub-criteria; each field gets a
    roll-up of its survey points (``max_points`` there is the field's survey
    maximum only), and ``survey_total`` adds all fields.  SEs by joint Taylor
    linearisation as in :func:`sipas_indices`.

    Parameters
    ----------
    design_or_df : Design, WaveDesign or pandas.DataFrame
    questionnaires : dict or list of dict
        The XHH questionnaire documents (``method: fraction`` items).
    framework : dict
        ``par-province-2024.yaml``.
    by : str or list of str, default "unit"
    variance : str or ReplicateWeights, optional
        Replicate SEs and intervals (:mod:`analysis.replicates`) instead of the linearisation.

    Returns
    -------
    pandas.DataFrame
        ``level, code, name_vi, name_en, <by>, [unit_name], max_points, estimate
        (points), se, ci_low, ci_high, percent, df, n_valid, complete``.
    """
    design = as_design(design_or_df)
    fw = as_framework(framework)
    by = _as_list(by)
    tree, maxes = _survey_tree(fw)
    linked = _linked(as_instruments(questionnaires), fw, "fraction")
    table = tree_table(design, tree, linked, by, maxes, variance)
    table.insert(table.columns.get_loc("estimate"), "max_points", table["code"].map(maxes))
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100 * table["estimate"] / table["max_points"]
    table.insert(table.columns.get_loc("ci_high") + 1, "percent", pct)
    return _finish(table, fw, by, design)


def units_share_psus(design_or_df, by="unit") -> bool:
    """Whether any first-stage PSU holds (positively weighted) rows of more than one unit."""
    design = as_design(design_or_df)
    cols = _as_list(by)
    if not cols or any(c not in design.data.columns for c in cols):
        return False
    unit = design.data.groupby(cols, sort=False, observed=True, dropna=True).ngroup().to_numpy()
    keep = (unit >= 0) & (design.weights > 0)
    cluster = design.stages[0].cluster[keep]
    first = np.full(design.stages[0].n_clusters, -1, dtype=np.int64)
    first[cluster] = unit[keep]  # some unit of each PSU; a PSU shared if any row differs
    return bool((first[cluster] != unit[keep]).any())


def unit_covariance(design_or_df, questionnaire, framework, code: str | None = None, by="unit",
                    weights: dict | None = None) -> pd.DataFrame:
    """Covariance matrix of one index node's estimates across units (SIPAS or PAR survey points).

    Units that share PSUs (a village or a stratum spanning communes) have correlated estimates;
    this is the matrix :func:`analysis.ranking.rank_units` takes as ``cov`` for its pairwise
    tests.  ``code`` defaults to the overall node (the SIPAS root, or ``survey_total`` for PAR);
    its scale is that of the index table (percent for SIPAS, points for PAR).  Computed from the
    row-level scores (:func:`analysis._composite.tree_covariance`).
    """
    design = as_design(design_or_df)
    fw = as_framework(framework)
    if fw.index == "sipas":
        tree, method = sipas_tree(fw, weights), "satisfied"
        code = code or fw.roots[0]
    else:
        tree, method = _survey_tree(fw)[0], "fraction"
        code = code or "survey_total"
    linked = _linked(as_instruments(questionnaire), fw, method)
    s, v = leaf_matrices(design.data, tree.leaves, linked, item_scores)
    return tree_covariance(design, tree, s, v, _as_list(by), code)
