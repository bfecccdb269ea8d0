"""The self-assessment for the ministry's scoring software: the table as XLSX, the evidence as a ZIP.

The table follows the usual layout of a self-assessment report: one row per field, criterion and
sub-criterion with the maximum, the self-score and the appraisal (sums on the parent rows), the
evidence and the explanation; a sheet listing the explanations; a sheet of difficulties and
proposals. The evidence package holds one folder per self-assessed criterion or sub-criterion code
(`1.1.1/`), each document once per node it supports, and `danh-muc.csv`, the index of every file
with its number, date, issuer and the pages that apply. Text cells cannot run as formulas.
"""

import csv
import io
import zipfile
from typing import BinaryIO

import pandas as pd

from analysis.outputs import escape_formula, write_xlsx
from survey.assessment import service
from survey.assessment.models import Assessment
from survey.assessment.storage import EvidenceStorage

COLUMNS = ("Mã", "Cấp", "Lĩnh vực, tiêu chí, tiêu chí thành phần", "Điểm tối đa", "Điểm tự chấm",
           "Điểm thẩm định", "Tài liệu kiểm chứng", "Giải trình", "Ghi chú thẩm định")
LEVELS = {"field": "Lĩnh vực", "criterion": "Tiêu chí", "sub_criterion": "Tiêu chí thành phần"}
INDEX_COLUMNS = ("thu_muc", "tep", "ma_tieu_chi", "tieu_chi", "so_hieu", "ngay_ban_hanh", "co_quan_ban_hanh",
                 "trang_muc_ap_dung", "sha256")


def short(code: str) -> str:
    """The code as the ministry writes it (par.1.1.1 -> 1.1.1)."""
    return code.split(".", 1)[1] if code.startswith("par.") else code


def _evidence_text(entry) -> str:
    """Documents of a node, one per line: file, number, date, issuer, pages."""
    lines = []
    for link in entry.links:
        d = link.document
        parts = [d.file_name, d.number, d.issued_on.strftime("%d/%m/%Y") if d.issued_on else None, d.issuer,
                 f"phần áp dụng: {link.pages}" if link.pages else None]
        lines.append(", ".join(p for p in parts if p))
    return "\n".join(lines)


def rows(assessment: Assessment) -> list[dict]:
    """One row per node that holds self-assessed nodes (sums on the parents), for the XLSX and the
    printable page: code, level, name, depth, max, self, appraisal, evidence, explanation, note."""
    framework = service.framework_of(assessment.framework_version)
    items = {entry.node_code: entry for entry in assessment.items}
    found = []
    for node in framework.walk():
        leaves = [items[n.code] for n in node.walk() if n.code in items]
        if not leaves:
            continue
        own = items.get(node.code)
        scored = [e.self_score for e in leaves if e.self_score is not None]
        appraised = [e.appraisal_score for e in leaves if e.appraisal_score is not None]
        found.append({
            "code": short(node.code), "level": node.level, "name": node.name.vi,
            "depth": node.code.count(".") - 1,
            "max": sum(framework.node(e.node_code).max_points or 0 for e in leaves),
            "self": sum(scored) if scored else None, "appraisal": sum(appraised) if appraised else None,
            "evidence": _evidence_text(own) if own else "",
            "explanation": (own.explanation or "") if own else "",
            "note": (own.appraisal_note or "") if own else "",
        })
    return found


def table(assessment: Assessment) -> pd.DataFrame:
    """The rows as the XLSX sheet's columns."""
    return pd.DataFrame([{
        "Mã": r["code"], "Cấp": LEVELS.get(r["level"], r["level"]), COLUMNS[2]: r["name"],
        "Điểm tối đa": r["max"], "Điểm tự chấm": r["self"], "Điểm thẩm định": r["appraisal"],
        "Tài liệu kiểm chứng": r["evidence"], "Giải trình": r["explanation"], "Ghi chú thẩm định": r["note"],
    } for r in rows(assessment)], columns=list(COLUMNS))


def xlsx(assessment: Assessment) -> bytes:
    """The self-assessment workbook: the table, the explanations, difficulties and proposals."""
    scores = table(assessment)
    explained = scores[scores["Giải trình"] != ""][["Mã", COLUMNS[2], "Giải trình"]]
    difficulties = pd.DataFrame({"Khó khăn, vướng mắc và kiến nghị, đề xuất":
                                 [assessment.difficulties or ""]})
    out = io.BytesIO()
    write_xlsx({"Bảng tự chấm điểm": scores, "Giải trình": explained, "Khó khăn, kiến nghị": difficulties},
               out)
    return out.getvalue()


def evidence_zip(assessment: Assessment, storage: EvidenceStorage, out: BinaryIO) -> None:
    """Write the evidence package into `out`: one folder per node code with its documents, an index."""
    index = io.StringIO()
    writer = csv.writer(index, lineterminator="\r\n")
    writer.writerow(INDEX_COLUMNS)
    framework = service.framework_of(assessment.framework_version)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for entry in assessment.items:
            folder = short(entry.node_code)
            used = set()
            for link in entry.links:
                d = link.document
                name = d.file_name if d.file_name not in used else f"{d.id}-{d.file_name}"
                used.add(name)
                with storage.open(d.sha256) as source, package.open(f"{folder}/{name}", "w") as target:
                    while chunk := source.read(1024 * 1024):
                        target.write(chunk)
                writer.writerow([escape_formula(v) for v in (
                    folder, name, folder, framework.node(entry.node_code).name.vi, d.number or "",
                    d.issued_on.isoformat() if d.issued_on else "", d.issuer or "", link.pages or "",
                    d.sha256)])
        package.writestr("danh-muc.csv", "\ufeff" + index.getvalue())
