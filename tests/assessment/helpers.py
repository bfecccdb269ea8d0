"""Shared pieces of the self-assessment tests: small valid files and a way to complete every node."""

import io
import zipfile

from survey.assessment import service
from survey.assessment.storage import storage_for

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
OOXML = "application/vnd.openxmlformats-officedocument"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def office(kind: str = "docx", main: bool = True) -> bytes:
    """A minimal Office Open XML package (or a zip that only pretends to be one)."""
    part, content_type = {
        "docx": ("word/document.xml", f"{OOXML}.wordprocessingml.document.main+xml"),
        "xlsx": ("xl/workbook.xml", f"{OOXML}.spreadsheetml.sheet.main+xml"),
    }[kind]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        declared = f'<Override PartName="/{part}" ContentType="{content_type}"/>' if main else ""
        package.writestr("[Content_Types].xml", f"<Types>{declared}</Types>")
        package.writestr(part if main else "other.xml", "<x/>")
    return out.getvalue()


def declared_for_max(node) -> dict:
    """Declared data that earns a node its maximum under its rule."""
    return {"yes_no": {"answer": "yes"}, "ratio_bands": {"numerator": 10, "denominator": 10},
            "linear": {"numerator": 10, "denominator": 10}, "graded": {"level": 0},
            "deduction": {"count": 0}}[node.scoring_rule.type]


def complete(session, assessment, user, skip: tuple[str, ...] = ()) -> None:
    """Score every node at its maximum with one shared PDF as evidence and an explanation; commit."""
    framework = service.framework_of(assessment.framework_version)
    codes = [entry.node_code for entry in assessment.items if entry.node_code not in skip]
    service.add_document(session, storage_for(), assessment, user, PDF, "bao-cao-cchc-2024.pdf",
                         service.DocumentInput(number="123/BC-UBND"), [(code, "Mục II") for code in codes])
    for code in codes:
        node = framework.node(code)
        service.save_item(session, assessment, code, service.ItemInput(
            **declared_for_max(node), self_score=node.max_points,
            explanation="Tài liệu kiểm chứng chung: báo cáo CCHC năm."), user)
    session.commit()
