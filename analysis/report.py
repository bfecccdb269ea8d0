"""One call from the app's export to tables, files for SPSS/Stata, charts and an HTML summary."""

from __future__ import annotations

import base64
import html
import pathlib
from collections.abc import Collection

import numpy as np
import pandas as pd

from . import plots
from .indices import (
    as_framework,
    as_instruments,
    par_points,
    rank_units,
    sipas_indices,
    unit_covariance,
    units_share_psus,
)
from .outputs import codebook, suppress_small_cells, write_csv, write_dta, write_sav, write_xlsx
from .quality import QualityPolicy, apply_policy, flag_responses, item_nonresponse, weight_diagnostics
from .replicates import DEFAULT_REPLICATES, DEFAULT_SEED, instructions, make_replicates, multipliers_frame
from .weights import wave_design

PROVISIONAL_NOTICE = {
    "vi": "Khung chỉ số tạm thời: một số tiêu chí, trọng số hoặc điểm tối đa được dùng ở đây có trạng thái "
          "provisional (chưa đối chiếu văn bản chính thức); kết quả có thể thay đổi khi khung được cập nhật.",
    "en": "Provisional framework: some criteria, weights or maximum points used here are marked provisional "
          "(not yet checked against the official text); results may change when the framework is updated.",
}


def _values(docs) -> list:
    """Documents from a dict keyed by id, or a list."""
    return list(docs.values()) if isinstance(docs, dict) else list(docs)


def write_report(responses: pd.DataFrame, strata: pd.DataFrame | None, questionnaires, frameworks,
                 out_dir, policy: QualityPolicy | None = None, wave: str | None = None,
                 units: Collection[str] | None = None, replicates: str | None = None,
                 n_replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED,
                 preface: list[dict] | None = None) -> dict:
    """Write every table (CSV + XLSX), the .sav/.dta, charts and ``index.html`` for one wave.

    Quality flags are computed on all responses; responses excluded by the
    policy are then treated as non-respondents of their stratum (the weights
    ``N_h / r_h`` use the kept responses).  SIPAS frameworks give
    :func:`~analysis.indices.sipas_indices`, PAR frameworks
    :func:`~analysis.indices.par_points`, both by assessed unit.

    Parameters
    ----------
    responses, strata : pandas.DataFrame
        The app's export (strata may be ``None`` for an open-link wave).
    questionnaires, frameworks : dict or list
        The published, frozen documents (dict id -> document, or a list), as the app stores and
        exports them.
    out_dir : str or path
    policy : QualityPolicy, optional
    wave : str, optional
        Needed when the export holds several waves.
    units : collection of str, optional
        Publish only these units (codes): a report for a user whose scope is some units.

        Everything is *computed on the whole wave* and then *filtered*: quality thresholds (the
        speeder cut-off is a fraction of the median time over the whole wave), weights, domain
        standard errors and ranks are those of the province's own report, so that a commune sees
        exactly the figures the province publishes for it. Computing on the scoped subset would
        give the same point estimates for most units but other SEs where a stratum spans units,
        other exclusions, and pooled figures over the scope only. What is left out: every row of
        another unit (tables, rankings, charts, quality flags, item non-response, the .sav/.dta
        with their free-text answers), the pooled ``ALL`` rows (they rest on other units'
        answers) and the names of other units in ``not_different_from``; a unit keeps its rank and
        plausible rank range among all units of the wave.
    preface : list of dict, optional
        Notices (``{"vi": ..., "en": ...}``) shown first on the HTML page, e.g. the time of computation
        and that the wave was still open (the app's report job gives them).

    Returns
    -------
    dict
        File name -> path of everything written.
    """
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    policy = policy or QualityPolicy()
    instruments = as_instruments(_values(questionnaires))
    fws = [as_framework(f) for f in _values(frameworks)]
    data = responses if wave is None else responses[responses["wave"].astype(str) == str(wave)]
    data = data.reset_index(drop=True)
    flags = flag_responses(data, instruments, policy)
    kept = apply_policy(data, flags)
    wd = wave_design(kept, strata, wave=wave)
    files: dict[str, pathlib.Path] = {}
    sheets: dict[str, pd.DataFrame] = {}
    sections, notices = [], [*(preface or []), *wd.notices]

    def table(name: str, frame: pd.DataFrame) -> None:
        files[f"{name}.csv"] = out / f"{name}.csv"
        write_csv(frame, files[f"{name}.csv"])
        sheets[name] = frame

    def chart(name: str, draw, frame, *args) -> str:
        files[f"{name}.png"] = out / f"{name}.png"
        draw(frame, files[f"{name}.png"], *args)
        return name

    scoped = units is not None
    visible = {str(u) for u in units} if scoped else set()

    def mine(frame: pd.DataFrame, column: str = "unit") -> pd.DataFrame:
        """The rows of the units in scope (all rows when the report is not scoped)."""
        if not scoped or column not in frame.columns:
            return frame
        return frame[frame[column].astype(str).isin(visible)]

    for fw in fws:
        linked = [i for i in instruments
                  if i.framework == fw.id or any(it.node in fw.nodes for it in i.scored())]
        if not linked:
            continue
        if fw.index == "sipas":
            result = sipas_indices(wd, linked, fw)
            top, comp_level = fw.roots[0], "component"
            profile = result[result["level"] == comp_level]
        else:
            result = par_points(wd, linked, fw)
            top, comp_level = "survey_total", "field"
            profile = result[result["level"] == comp_level].assign(
                estimate=lambda t: t["percent"], ci_low=lambda t: 100 * t["ci_low"] / t["max_points"],
                ci_high=lambda t: 100 * t["ci_high"] / t["max_points"])
        result = suppress_small_cells(result, policy.min_responses)
        if result["suppressed"].any() and _suppressed_notice(policy.min_responses) not in notices:
            notices.append(_suppressed_notice(policy.min_responses))
        profile = mine(profile.loc[~result.loc[profile.index, "suppressed"]])
        walk = _walk_in_part(wd.walk_ins, fw, linked, policy.min_responses)
        if walk is not None:
            walk = mine(walk)
            table(f"{fw.index}_{fw.id}_walk_in", walk)
        overall = result[result["code"] == top]
        # units sharing PSUs have correlated estimates: their covariances enter the pairwise tests
        cov = unit_covariance(wd, linked, fw, top) if units_share_psus(wd) else None
        ranked = rank_units(overall, cov=cov)
        ranked = _scoped_ranking(ranked, visible) if scoped else ranked
        result, overall = mine(result), mine(overall)
        table(f"{fw.index}_{fw.id}", result)
        table(f"ranking_{fw.id}", ranked)
        used = result.loc[result["estimate"].notna(), "code"]
        if fw.provisional([c for c in used if c in fw.nodes]) and PROVISIONAL_NOTICE not in notices:
            notices.append(PROVISIONAL_NOTICE)
        unit_title = f"{fw.nodes[top].name_vi if top in fw.nodes else 'Tổng điểm điều tra XHH'} theo đơn vị"
        xlabel = "Điểm / points" if fw.index == "par" else "Chỉ số (%) / Index (%)"
        charts = [chart(f"units_{fw.id}", plots.dot_whisker, overall, unit_title, "unit_name", xlabel),
                  chart(f"profile_{fw.id}", plots.component_profiles, profile,
                        f"{fw.name_vi}: {'lĩnh vực (% điểm XHH)' if fw.index == 'par' else 'yếu tố'}")]
        sections.append((fw, overall, ranked, result, charts, walk))
    if scoped:
        shown = data["unit"].astype(str).isin(visible).to_numpy() if "unit" in data.columns else \
            pd.Series(False, index=data.index).to_numpy()
        data, flags, kept = data.loc[shown], flags.loc[shown], mine(kept)
    charts_time = chart("responses_over_time", plots.responses_over_time, data)
    table("quality_flags", flags)
    table("item_nonresponse", item_nonresponse(data, instruments))
    if wd.weighted:
        table("strata_weights", mine(wd.strata_summary))
        groups = wd.data["unit"].astype(str) if "unit" in wd.data.columns else None
        diag = weight_diagnostics(wd.design.weights, groups, policy)
        diag = diag if not scoped else diag[diag["group"].isin(visible)]
        table("weight_diagnostics", diag)
        if diag["flagged"].any():
            notices.append(_weights_notice(diag.loc[diag["flagged"], "group"].astype(str).tolist(), policy))
    table("codebook", codebook(instruments))
    files["analysis.xlsx"] = out / "analysis.xlsx"
    write_xlsx(sheets, files["analysis.xlsx"])
    export = mine(wd.data).drop(columns=[c for c in ("psu", "fpc_population") if c in wd.data.columns])
    if replicates:
        export = _with_replicates(export, wd, replicates, n_replicates, seed, out, files,
                                  visible if scoped else None)
    files["responses.sav"] = out / "responses.sav"
    write_sav(export, instruments, files["responses.sav"])
    files["responses.dta"] = out / "responses.dta"
    write_dta(export, instruments, files["responses.dta"])
    files["policy.json"] = out / "policy.json"
    policy.write(files["policy.json"])
    files["index.html"] = out / "index.html"
    if scoped:
        notices.append(_scope_notice(sorted(visible)))
    page = _html(sections, notices, policy, flags, len(data), len(kept), out, charts_time)
    files["index.html"].write_text(page, encoding="utf-8")
    return {k: str(v) for k, v in files.items()}


MAX_EXPORTED_REPLICATES = 1000


class TooManyReplicates(ValueError):
    """A jackknife export would have more replicate columns than ``MAX_EXPORTED_REPLICATES``."""


def _with_replicates(export: pd.DataFrame, wd, kind: str, n_replicates: int, seed: int, out: pathlib.Path,
                     files: dict, visible: set[str] | None) -> pd.DataFrame:
    """The exported rows with their replicate weights; the instructions and multipliers written."""
    rw = make_replicates(wd.design, kind, replicates=n_replicates, seed=seed)
    if rw.n_replicates > MAX_EXPORTED_REPLICATES:
        raise TooManyReplicates(f"the jackknife would have {rw.n_replicates} replicates (one per PSU), more "
                         f"than {MAX_EXPORTED_REPLICATES}: export bootstrap replicate weights instead")
    rows = None
    if visible is not None:
        rows = (wd.data["unit"].astype(str).isin(visible).to_numpy() if "unit" in wd.data.columns
                else np.zeros(len(wd.data), dtype=bool))
    weights = rw.frame(rows)
    files["replicate_weights.txt"] = out / "replicate_weights.txt"
    files["replicate_weights.txt"].write_text(instructions(rw), encoding="utf-8")
    files["replicate_weights.csv"] = out / "replicate_weights.csv"
    write_csv(multipliers_frame(rw), files["replicate_weights.csv"])
    return pd.concat([export.reset_index(drop=True), weights], axis=1)


def _walk_in_part(walk_ins: pd.DataFrame, fw, linked, min_responses: int) -> pd.DataFrame | None:
    """The unweighted estimates of the responses outside every stratum (None when there are none).

    They describe those respondents only: computed as a simple random sample (weight 1) apart from
    the weighted estimates, never ranked, small cells suppressed as in the main tables, and every
    row marked ``part = walk_in_unweighted``.
    """
    if walk_ins is None or walk_ins.empty:
        return None
    result = (sipas_indices(walk_ins, linked, fw) if fw.index == "sipas"
              else par_points(walk_ins, linked, fw))
    result = suppress_small_cells(result, min_responses)
    result.insert(0, "part", "walk_in_unweighted")
    return result


def _walk_in_table(rows: pd.DataFrame, points: bool) -> str:
    """The walk-in part of a section: unweighted estimates per unit, clearly apart from the ranking."""
    digits = 2 if points else 1
    body = "".join(f"<tr><td>{html.escape(str(getattr(r, 'unit_name', r.unit)))}</td>"
                   f"<td>{_fmt(r.estimate, digits)}</td><td>{_fmt(r.ci_low, digits)} – "
                   f"{_fmt(r.ci_high, digits)}</td><td>{r.n_valid}</td></tr>"
                   for r in rows.itertuples(index=False))
    return ("<h3>Phiếu ngoài mẫu — không trọng số, không xếp hạng <i>/ Walk-in responses — unweighted, "
            "not ranked</i></h3><p>Các phiếu này không thuộc tầng mẫu nào; số liệu chỉ mô tả những người đã "
            "trả lời và không so sánh được với ước lượng có trọng số ở trên. <i>These responses belong to "
            "no sampled stratum; the figures describe those respondents only and are not comparable with "
            "the weighted estimates above.</i></p><table><tr><th>Đơn vị<br><i>Unit</i></th><th>Ước lượng"
            "<br><i>Estimate</i></th><th>KTC 95%<br><i>95% CI</i></th><th>n</th></tr>" + body + "</table>")


def _scoped_ranking(ranked: pd.DataFrame, visible: set[str]) -> pd.DataFrame:
    """The ranking rows of the units in scope, naming no other unit.

    Ranks and rank ranges stay those among all units of the wave; ``not_different_from`` keeps only
    units in scope, and the columns that describe other units' intervals are dropped.
    """
    rows = ranked[ranked["unit"].astype(str).isin(visible)].copy()
    rows["not_different_from"] = [", ".join(u for u in str(names).split(", ") if u in visible)
                                  for names in rows["not_different_from"]]
    return rows.drop(columns=["n_not_different", "different_from_next"])


def _weights_notice(groups: list[str], policy: QualityPolicy) -> dict:
    """The notice of units whose weights vary a lot (Kish's design effect or one dominant weight)."""
    listed = ", ".join(groups[:20]) + (" …" if len(groups) > 20 else "")
    return {
        "vi": f"Trọng số rất không đều ở: {listed} (hệ số thiết kế Kish do trọng số trên "
              f"{policy.max_weighting_deff:g}, hoặc một phiếu chiếm trên {policy.max_weight_share:.0%} tổng "
              "trọng số); ước lượng của các đơn vị này kém chính xác hơn cỡ mẫu cho thấy. Xem bảng "
              "weight_diagnostics.",
        "en": f"Very unequal weights in: {listed} (Kish's weighting design effect above "
              f"{policy.max_weighting_deff:g}, or one response carrying over "
              f"{policy.max_weight_share:.0%} of the weight); their estimates are less precise than the "
              "sample size suggests. See the weight_diagnostics table.",
    }


def _scope_notice(units: list[str]) -> dict:
    """The notice of a report limited to some units."""
    listed = ", ".join(units) or "—"
    return {
        "vi": f"Báo cáo theo phạm vi: chỉ gồm các đơn vị {listed}. Các ước lượng, thứ hạng và ngưỡng chất "
              "lượng được tính trên toàn bộ đợt khảo sát; số liệu chung toàn tỉnh và số liệu của đơn vị khác "
              "không được hiển thị.",
        "en": f"Scoped report: only units {listed}. Estimates, ranks and quality thresholds are computed on "
              "the whole wave; pooled figures and other units' figures are not shown.",
    }


def _suppressed_notice(threshold: int) -> dict:
    """The notice that small cells were left out of the published tables."""
    return {
        "vi": f"Ước lượng dựa trên dưới {threshold} câu trả lời hợp lệ không được công bố (ô để trống, "
              "cột suppressed), để không bảng nào cho biết một vài người cụ thể đã trả lời thế nào.",
        "en": f"Estimates resting on fewer than {threshold} valid answers are not published (left blank, "
              "column suppressed), so that no table shows how a few identifiable people answered.",
    }


def _img(out: pathlib.Path, name: str, alt: str) -> str:
    """An embedded PNG (data URI), so the page needs no other file."""
    data = base64.b64encode((out / f"{name}.png").read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _fmt(x, digits=1) -> str:
    """A number with a decimal comma (Vietnamese style), or an em dash when missing."""
    return "—" if pd.isna(x) else f"{x:,.{digits}f}".replace(",", " ").replace(".", ",")


def _units_table(ranked: pd.DataFrame, points: bool) -> str:
    """Ranked units with estimates, 95% CIs and the units they cannot be told apart from."""
    digits = 2 if points else 1
    head = ("<tr><th>Hạng<br><i>Rank</i></th><th>Khoảng hạng (Holm)<br><i>Rank range (Holm)</i></th>"
            "<th>Khoảng hạng đồng thời 95%<br><i>Joint 95% rank set</i></th><th>Đơn vị<br>"
            "<i>Unit</i></th><th>Ước lượng<br><i>Estimate</i></th><th>KTC 95%<br><i>95% CI</i></th>"
            "<th>n</th><th>Không khác biệt có ý nghĩa với<br><i>Not significantly different from</i></th>"
            "</tr>")
    rows = []
    for r in ranked.itertuples(index=False):
        name = getattr(r, "unit_name", r.unit)
        if r.rankable:
            ranks = (f"<td>{r.rank}</td><td>{r.rank_best}–{r.rank_worst}</td>"
                     f"<td>{r.joint_rank_best}–{r.joint_rank_worst}</td>")
            others = html.escape(r.not_different_from) or "—"
        else:
            ranks = f"<td colspan='3'>{html.escape(r.ranking_note)}</td>"
            others = "—"
        rows.append(f"<tr>{ranks}<td>{html.escape(str(name))}"
                    f"</td><td>{_fmt(r.estimate, digits)}</td><td>{_fmt(r.ci_low, digits)} – "
                    f"{_fmt(r.ci_high, digits)}</td><td>{r.n_valid}</td><td>{others}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _pooled_table(result: pd.DataFrame) -> str:
    """Pooled (all units) estimates of every node with 95% CIs."""
    rows = result[(result["unit"].astype(str) == "ALL") & (result["level"] != "item")]
    body = "".join(f"<tr><td>{html.escape(r.level)}</td><td>{html.escape(r.name_vi)}<br><i>"
                   f"{html.escape(r.name_en)}</i></td><td>{_fmt(r.estimate, 2)}</td>"
                   f"<td>{_fmt(r.ci_low, 2)} – "
                   f"{_fmt(r.ci_high, 2)}</td><td>{_fmt(r.se, 2)}</td><td>{r.n_valid}</td></tr>"
                   for r in rows.itertuples(index=False))
    return ("<table><tr><th>Cấp<br><i>Level</i></th><th>Tên<br><i>Name</i></th><th>Ước lượng<br><i>Estimate"
            "</i></th><th>KTC 95%<br><i>95% CI</i></th><th>SE</th><th>n</th></tr>" + body + "</table>")


def _html(sections, notices, policy, flags, n_all, n_kept, out, charts_time) -> str:
    """The self-contained summary page (Vietnamese first, English second)."""
    parts = ["<!doctype html><html lang='vi'><head><meta charset='utf-8'><title>Báo cáo phân tích / "
             "Analysis report</title><style>body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1100px;"
             "margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0;font-size:13px}"
             "td,th{border:1px solid #bbb;padding:3px 6px;vertical-align:top}th{background:#eef3f8}"
             ".notice{background:#fff4ce;border-left:4px solid #d9a400;padding:.5em 1em;margin:.5em 0}"
             "img{max-width:100%}i{color:#555}</style></head><body>",
             "<h1>Báo cáo phân tích khảo sát<br><i>Survey analysis report</i></h1>"]
    for note in notices:
        parts.append(f"<div class='notice'><p>{html.escape(note['vi'])}</p><p><i>{html.escape(note['en'])}"
                     "</i></p></div>")
    parts.append(f"<p>Số phiếu: {n_all}; dùng để ước lượng: {n_kept}. <i>Responses: {n_all}; used in the "
                 f"estimates: {n_kept}.</i> Trả lời quá nhanh / speeders: {int(flags['speeder'].sum())}; "
                 f"trả lời một kiểu / straight-liners: {int(flags['straightliner'].sum())}.</p>")
    policy_rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                          for k, v in policy.to_dict().items())
    parts.append("<h2>Chính sách chất lượng dữ liệu <i>/ Quality policy</i></h2><table>" + policy_rows +
                 "</table><p>Phiếu bị loại được coi như không trả lời trong tầng của mình. <i>Excluded "
                 "responses count as non-respondents of their stratum.</i></p>")
    for fw, _overall, ranked, result, charts, walk in sections:
        points = fw.index == "par"
        parts.append(f"<h2>{html.escape(fw.name_vi)}</h2>")
        parts.append("<p>Ước lượng kèm khoảng tin cậy 95%. Hai đơn vị được coi là khác biệt khi kiểm định "
                     "từng cặp có ý nghĩa ở mức 5% sau hiệu chỉnh Holm cho mọi cặp; khoảng hạng là các hạng "
                     "hợp lý theo kiểm định đó, khoảng hạng đồng thời (Klein và cộng sự 2020) đúng cho mọi "
                     "đơn vị cùng lúc với độ tin cậy 95%. <i>Estimates with 95% confidence intervals. Two "
                     "units differ when their pairwise test is significant at 5% after Holm's adjustment "
                     "over all pairs; the rank range holds the ranks those tests allow, and the joint rank "
                     "set (Klein et al. 2020) holds for every unit at once with 95% confidence.</i>"
                     + (" Điểm: phần điều tra XHH. <i>Points: survey part only.</i>" if points else "")
                     + "</p>")
        if len(_overall) and not _overall["complete"].all():
            parts.append("<div class='notice'><p>Chỉ số tổng hợp chỉ gồm các thành phần có dữ liệu (thiếu "
                         "một số mục, yếu tố hoặc phần). <i>The composite covers only the components with "
                         "data (some items, components or parts are missing).</i></p></div>")
        parts.append(_units_table(ranked, points))
        parts.append(_img(out, charts[0], "units"))
        if (result["unit"].astype(str) == "ALL").any():
            parts.append(_pooled_table(result))
        parts.append(_img(out, charts[1], "profiles"))
        if walk is not None and len(walk):
            parts.append(_walk_in_table(walk[walk["code"] == (fw.roots[0] if not points else "survey_total")],
                                        points))
    parts.append("<h2>Tiến độ thu phiếu <i>/ Responses over time</i></h2>" + _img(out, charts_time, "time"))
    parts.append("<p><i>Files: CSV (UTF-8 BOM), analysis.xlsx, responses.sav, responses.dta, policy.json, "
                 "codebook.csv" + (", replicate_weights.txt (Stata / R / SPSS), replicate_weights.csv"
                                   if (out / "replicate_weights.txt").exists() else "")
                 + ".</i></p></body></html>")
    return "\n".join(parts)
