"""The analysts' results page: a report folder's tables shown in sections, in the reader's language.

The report (``analysis.report.write_report``) writes tables for machines (CSV with column codes). This
module turns them into what an analyst reads: one section at a time (summary, one per framework,
rankings, data quality, downloads), Vietnamese headings, numbers in the reader's locale (Babel:
``85,3`` in Vietnamese, ``85.3`` in English), intervals as ``82,1–88,4``, and four markers that never
look alike (see :data:`MARKERS`), explained in a legend on the page and in ``legend.csv`` and the
``Chú giải`` sheet of ``analysis.xlsx``.

``meta.json``, written by the report job next to the tables (survey/responses/report_meta.py, with the
markers and the legend files), records when the report was computed, the wave's status at that time
and which framework nodes rest on provisional numbers, so that the page describes the report it
shows, not today's wave.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey.responses.report_meta import INTERIM_STATUSES, LEGEND, MARKERS, META

ALL = "ALL"
LEVEL_NAMES = {"overall": _l("Tổng"), "part": _l("Phần"), "component": _l("Yếu tố"), "item": _l("Câu hỏi"),
               "field": _l("Lĩnh vực"), "criterion": _l("Tiêu chí"),
               "sub_criterion": _l("Tiêu chí thành phần")}
#: How the page cuts a unit's table by level (top first) and which level makes the units × parts table.
LEVELS = {"sipas": ("overall", "part", "component", "item"),
          "par": ("overall", "field", "criterion", "sub_criterion")}
MATRIX_LEVEL = {"sipas": "component", "par": "field"}
NONRESPONSE_SHOWN = 15


BY_KEY = {m.key: m for m in MARKERS}


def read_meta(folder: Path) -> dict | None:
    """Return a report's meta.json, or None for a report computed before it was written."""
    try:
        return json.loads((folder / META).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def is_interim(meta: dict | None) -> bool:
    """Tell whether the report was computed while its wave was still open."""
    return bool(meta) and meta.get("wave_status") in INTERIM_STATUSES


def legend(meta: dict | None) -> list[dict]:
    """The page's legend: each marker's symbol, name and explanation in the reader's language."""
    k = (meta or {}).get("min_responses", "?")
    return [{"key": m.key, "symbol": m.symbol, "label": str(m.label),
             "explanation": str(m.explanation) % {"k": k}} for m in MARKERS]


def computed_at(meta: dict | None, folder: Path) -> datetime | None:
    """The time the report was computed (meta.json, else the HTML report's file time)."""
    if meta and meta.get("computed_at"):
        return datetime.fromisoformat(meta["computed_at"])
    page = folder / "index.html"
    return datetime.fromtimestamp(page.stat().st_mtime, UTC) if page.exists() else None


# ---- numbers -------------------------------------------------------------------------------------

def _missing(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def number(value, digits: int = 1) -> str:
    """A number in the reader's locale with `digits` decimals (``85,3`` in Vietnamese), or an em dash."""
    if _missing(value):
        return "—"
    return format_decimal(float(value), format="#,##0." + "0" * digits if digits else "#,##0")


def interval(low, high, digits: int = 1) -> str:
    """An interval as ``82,1–88,4`` (an en dash between two numbers), or an em dash when missing."""
    if _missing(low) or _missing(high):
        return "—"
    return f"{number(low, digits)}–{number(high, digits)}"


def _bool(value) -> bool:
    return str(value).strip().lower() in ("true", "1")


def _read(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"unit": str, "code": str})


@dataclass
class Figure:
    """One row of a results table: a unit's (or a node's) figure with its markers."""

    unit: str
    name: str
    label: str
    code: str
    level: str
    estimate: str
    ci: str
    n: int
    markers: list[str]
    percent: str = ""
    max_points: str = ""


def markers_of(row, provisional: set[str]) -> list[str]:
    """The markers of one table row: suppressed, no interval, provisional (interim is the page's)."""
    found = []
    if _bool(row.get("suppressed")):
        found.append("suppressed")
    elif not _missing(row.get("estimate")):
        df = row.get("df")
        if _missing(row.get("ci_low")) or (not _missing(df) and float(df) <= 0):
            found.append("no_interval")
    if str(row.get("code")) in provisional:
        found.append("provisional")
    return found


def figure(row, index: str, provisional: set[str]) -> Figure:
    """A table row as shown: PAR survey points with two decimals, SIPAS indices with one."""
    digits = 2 if index == "par" else 1
    n = row.get("n_valid")
    english = str(get_locale() or "vi") == "en" and not _missing(row.get("name_en"))
    name = row.get("unit") if _missing(row.get("unit_name")) else row.get("unit_name")
    return Figure(unit=str(row.get("unit")), name=str(name),
                  label=str(row.get("name_en") if english else row.get("name_vi")),
                  code=str(row.get("code")), level=str(row.get("level")),
                  estimate=number(row.get("estimate"), digits),
                  ci=interval(row.get("ci_low"), row.get("ci_high"), digits),
                  n=0 if _missing(n) else int(float(n)), markers=markers_of(row, provisional),
                  percent=number(row.get("percent"), 1) if "percent" in row else "",
                  max_points=number(row.get("max_points"), 2) if "max_points" in row else "")


def _has_data(row) -> bool:
    """Whether a unit took part: an estimate, or a suppressed one (a row without answers is left out)."""
    return not _missing(row.get("estimate")) or _bool(row.get("suppressed"))


# ---- sections ------------------------------------------------------------------------------------

@dataclass
class FrameworkResults:
    """One framework's results in a report folder."""

    id: str
    index: str
    name: str
    table: pd.DataFrame
    ranking: pd.DataFrame | None
    provisional: set[str]

    @property
    def slug(self) -> str:
        return f"fw-{self.id}"

    def level_rows(self, level: str) -> pd.DataFrame:
        return self.table[self.table["level"] == level]

    def units(self) -> list[Figure]:
        """The overall figure of every unit that took part, by name; the pooled row first when present."""
        rows = self.level_rows("overall")
        shown = [figure(r, self.index, self.provisional) for r in rows.to_dict("records")
                 if r["unit"] == ALL or _has_data(r)]
        return sorted(shown, key=lambda f: (f.unit != ALL, f.name))

    def top_provisional(self) -> bool:
        """Whether the overall figure rests on provisional numbers (marked once, in its column heading)."""
        top = self.level_rows("overall")
        return bool(len(top)) and str(top["code"].iloc[0]) in self.provisional

    def counts(self) -> dict:
        """How many units have a figure, none at all, a suppressed one, one without an interval."""
        shown = [f for f in self.units() if f.unit != ALL]
        return {"units": len(shown), "no_data": self.no_data(),
                "suppressed": sum("suppressed" in f.markers for f in shown),
                "no_interval": sum("no_interval" in f.markers for f in shown)}

    def no_data(self) -> int:
        """How many units of the table have no answer at all for this framework."""
        rows = self.level_rows("overall")
        return sum(1 for r in rows.to_dict("records") if r["unit"] != ALL and not _has_data(r))

    def matrix(self) -> tuple[list[tuple[str, str]], list[tuple[Figure, list[Figure]]]]:
        """Units × components (SIPAS) or fields (PAR): the columns, then each unit with its cells."""
        rows = self.level_rows(MATRIX_LEVEL[self.index])
        columns = list(dict.fromkeys(zip(rows["code"], rows["name_vi"], strict=True)))
        cells = {(r["unit"], r["code"]): figure(r, self.index, self.provisional)
                 for r in rows.to_dict("records")}
        body = [(unit, [cells.get((unit.unit, code)) for code, _name in columns]) for unit in self.units()]
        return columns, body

    def unit_detail(self, unit: str) -> list[Figure]:
        """Every level of one unit's figures that rest on answers, top level first, in framework order."""
        rows = self.table[self.table["unit"] == unit]
        order = {level: i for i, level in enumerate(LEVELS[self.index])}
        rows = rows.assign(_order=rows["level"].map(order).fillna(len(order)))
        return [figure(r, self.index, self.provisional)
                for r in rows.sort_values("_order", kind="stable").to_dict("records") if _has_data(r)]

    def ranked(self) -> list[dict]:
        """The ranking rows with "hạng 3, có thể từ 2 đến 6" and the joint 95% rank set."""
        if self.ranking is None:
            return []
        names = dict(zip(self.table["unit"], self.table["unit_name"], strict=False))
        out = []
        for r in self.ranking.to_dict("records"):
            fig = figure(r, self.index, self.provisional)
            rankable = _bool(r.get("rankable"))
            if rankable:
                rank = _("hạng %(rank)s, có thể từ %(best)s đến %(worst)s", rank=int(r["rank"]),
                         best=int(r["rank_best"]), worst=int(r["rank_worst"]))
                joint = _("từ %(best)s đến %(worst)s", best=int(r["joint_rank_best"]),
                          worst=int(r["joint_rank_worst"]))
            else:
                rank, joint = _("không xếp hạng được"), "—"
                if "no_interval" not in fig.markers and "suppressed" not in fig.markers:
                    fig.markers.insert(0, "no_interval")
            others = [names.get(u, u) for u in str(r.get("not_different_from") or "").split(", ") if u
                      and u != "nan"]
            out.append({"figure": fig, "rankable": rankable, "rank": rank, "joint": joint, "others": others})
        return out


def frameworks(folder: Path, meta: dict | None) -> list[FrameworkResults]:
    """The frameworks whose tables are in the report folder (SIPAS first, then PAR)."""
    provisional = (meta or {}).get("provisional", {})
    found = []
    for index in ("sipas", "par"):
        for path in sorted(folder.glob(f"{index}_*.csv")):
            fw_id = path.stem[len(index) + 1:]
            if fw_id.endswith("_walk_in"):
                continue
            table = _read(path)
            if table is None or table.empty:
                continue
            top = table[table["level"] == "overall"]
            name = str(top["name_vi"].iloc[0]) if len(top) else fw_id
            found.append(FrameworkResults(fw_id, index, name, table, _read(folder / f"ranking_{fw_id}.csv"),
                                          set(provisional.get(fw_id, []))))
    return found


def quality(folder: Path) -> dict:
    """Counts of the quality flags, the weight diagnostics and the items left blank most often."""
    flags = _read(folder / "quality_flags.csv")
    out = {"responses": 0, "speeders": 0, "straightliners": 0, "excluded": 0, "weights": [], "blank": [],
           "blank_total": 0}
    if flags is not None:
        out.update(responses=len(flags), speeders=int(flags["speeder"].map(_bool).sum()),
                   straightliners=int(flags["straightliner"].map(_bool).sum()),
                   excluded=int(flags["excluded"].map(_bool).sum()))
    weights = _read(folder / "weight_diagnostics.csv")
    if weights is not None:
        out["weights"] = [{"group": r["group"], "n": int(r["n"]), "effective_n": number(r["effective_n"], 1),
                           "deff": number(r["deff_weighting"], 2),
                           "share": number(100 * float(r["largest_weight_share"]), 1),
                           "flagged": _bool(r["flagged"])} for r in weights.to_dict("records")]
    blank = _read(folder / "item_nonresponse.csv")
    if blank is not None:
        blank = blank[blank["missing"] > 0].sort_values("rate", ascending=False, kind="stable")
        out["blank_total"] = len(blank)
        out["blank"] = [{"questionnaire": r["questionnaire"], "item": r["item"], "label": r["label_vi"],
                         "missing": int(r["missing"]), "eligible": int(r["eligible"]),
                         "rate": number(r["rate"], 1)}
                        for r in blank.head(NONRESPONSE_SHOWN).to_dict("records")]
    return out


def describe_file(name: str) -> object:
    """What a downloadable file holds, for the downloads list."""
    if name == "analysis.xlsx":
        return _l("Bảng tính Excel: mọi bảng, tiêu đề tiếng Việt, kèm trang chú giải")
    if name == "index.html":
        return _l("Báo cáo tóm tắt (HTML, có biểu đồ)")
    if name == LEGEND:
        return _l("Chú giải các ký hiệu và thời điểm tính (CSV)")
    if name.endswith(".sav"):
        return _l("Dữ liệu từng phiếu cho SPSS")
    if name.endswith(".dta"):
        return _l("Dữ liệu từng phiếu cho Stata")
    if name.endswith(".png"):
        return _l("Biểu đồ (PNG)")
    if name == "replicate_weights.txt":
        return _l("Hướng dẫn dùng trọng số lặp trong Stata, R và SPSS")
    if name == "replicate_weights.csv":
        return _l("Hệ số của từng trọng số lặp (CSV)")
    if name == META or name == "policy.json":
        return _l("Thông tin kỹ thuật (JSON)")
    return _l("Bảng cho máy (CSV, mã cột tiếng Anh)")
