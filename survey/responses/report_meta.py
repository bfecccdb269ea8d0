"""What a wave's report records about itself: the preface of its HTML summary, ``meta.json`` and the legend.

The report job (:func:`survey.responses.export.write_wave_report`) starts the HTML summary with the
time of computation and whether the wave was still open (:func:`preface`), and writes ``meta.json``
next to the tables (:func:`write_meta`): when the report was computed, the wave's status at that time
and which framework nodes rest on provisional numbers, so that the results page
(survey/dashboard/results.py) describes the report it shows, not today's wave. The four markers a
figure can carry (see :data:`MARKERS`) are explained in ``legend.csv`` and the ``Chú giải`` sheet of
``analysis.xlsx``, written here too, and on the results page.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

META = "meta.json"
LEGEND = "legend.csv"
LEGEND_SHEET = "Chú giải"
INTERIM_STATUSES = ("draft", "open")


@dataclass(frozen=True)
class Marker:
    """One state a figure can be in, its symbol and its explanation."""

    key: str
    symbol: str
    label: object  # a lazy string
    explanation: object


MARKERS = (
    Marker("suppressed", "⊘", _l("Không công bố"),
           _l("Dưới %(k)s câu trả lời hợp lệ: ước lượng không được công bố để không lộ câu trả lời của "
              "một vài người.")),
    Marker("no_interval", "†", _l("Không có khoảng tin cậy"),
           _l("Không đủ bậc tự do theo thiết kế mẫu (0 bậc tự do): không có khoảng tin cậy theo thiết kế "
              "(khoảng hiển thị, nếu có, chỉ dựa trên cỡ mẫu hiệu dụng); đơn vị không xếp hạng được.")),
    Marker("provisional", "‡", _l("Khung chỉ số tạm thời"),
           _l("Số liệu dựa trên tiêu chí, điểm tối đa hoặc trọng số có trạng thái tạm thời (provisional) "
              "trong khung chỉ số: có thể thay đổi khi khung được cập nhật.")),
    Marker("interim", "◷", _l("Kết quả giữa kỳ"),
           _l("Đợt khảo sát còn mở khi tính báo cáo: phiếu còn đến, số liệu sẽ thay đổi.")),
)


def provisional_codes(document: dict) -> list[str]:
    """Return the codes of the framework nodes whose figure rests on provisional numbers.

    A node's figure uses its own numbers and those of every node below it, so a node is marked when
    it or a descendant is provisional (maximum points, weights or scoring rule); every node when the
    framework itself is provisional. The PAR survey total (a figure the analysis adds above the
    fields) is marked when any node is.
    """
    from analysis.overall_inputs import TOTAL
    from survey.definitions import frameworks as fw

    built = fw.build(document)
    marked = set()

    def visit(node) -> bool:
        below = [visit(child) for child in node.children]
        if built.status == "provisional" or node.is_provisional or any(below):
            marked.add(node.code)
            return True
        return False

    for root in built.nodes:
        visit(root)
    if marked and built.index == "par":
        marked.add(TOTAL)
    return sorted(marked)


def write_meta(folder: Path, wave, frameworks: dict, responses: int, min_responses: int,
               computed_at: datetime | None = None) -> dict:
    """Record when and under which wave status the report in `folder` was computed; write the legend."""
    meta = {"computed_at": (computed_at or datetime.now(UTC)).isoformat(timespec="seconds"),
            "wave": wave.code, "wave_status": wave.status, "responses": responses,
            "min_responses": min_responses,
            "provisional": {code: provisional_codes(doc) for code, doc in frameworks.items()}}
    (folder / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    write_legend(folder, meta)
    return meta


def preface(status: str, now: datetime) -> dict:
    """The HTML report's first notice: when it was computed, and whether the wave was still open."""
    stamp = now.strftime("%Y-%m-%d %H:%M UTC")
    if status in INTERIM_STATUSES:
        return {"vi": f"◷ Kết quả giữa kỳ: tính lúc {stamp}, khi đợt khảo sát còn mở; phiếu còn đến, số liệu "
                      "sẽ thay đổi.",
                "en": f"◷ Interim results: computed at {stamp} while the wave was still open; responses are "
                      "still arriving and the figures will change."}
    return {"vi": f"Tính lúc {stamp}; đợt khảo sát đã đóng.",
            "en": f"Computed at {stamp}; the wave was closed."}


def legend_rows(meta: dict) -> list[tuple[str, str, str, str]]:
    """The legend as (symbol, key, Vietnamese, English), followed by the time of computation."""
    rows = []
    k = meta.get("min_responses", "")
    for marker in MARKERS:
        texts = []
        for language in ("vi", "en"):
            with force_locale(language):
                texts.append(f"{marker.label}: {str(marker.explanation) % {'k': k}}")
        rows.append((marker.symbol, marker.key, *texts))
    status = meta.get("wave_status", "")
    rows.append(("", "computed_at", f"Thời điểm tính: {meta['computed_at']} (UTC); trạng thái đợt: {status}",
                 f"Computed at: {meta['computed_at']} (UTC); wave status: {status}"))
    return rows


def write_legend(folder: Path, meta: dict) -> None:
    """Write legend.csv and add the legend as a sheet of analysis.xlsx, when the workbook is there."""
    rows = legend_rows(meta)
    with (folder / LEGEND).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["marker", "state", "vi", "en"])
        writer.writerows(rows)
    workbook = folder / "analysis.xlsx"
    if workbook.exists():
        from openpyxl import load_workbook
        from openpyxl.styles import Font

        book = load_workbook(workbook)
        sheet = book.create_sheet(LEGEND_SHEET, 0)
        sheet.append(["Ký hiệu", "Trạng thái", "Giải thích", "Explanation"])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(list(row))
        sheet.column_dimensions["C"].width = sheet.column_dimensions["D"].width = 90
        book.save(workbook)
