"""The self-assessment table as XLSX and the evidence package as a ZIP."""

import csv
import io
import re
import zipfile
from pathlib import Path

from openpyxl import load_workbook

from survey.assessment import service
from survey.assessment.storage import storage_for
from tests.assessment.helpers import PDF, PNG, complete
from tests.factories import csrf_token, log_in, make_assessment


def _scored(client, session, assessment, explanation: str, difficulties: str):
    """Log in an assessor, score every node at its maximum but par.1.1.1 (0, with the explanation),
    and save the difficulties; commit."""
    user = log_in(client, session, "assessor")
    complete(session, assessment, user)
    service.save_item(session, assessment, "par.1.1.1", service.ItemInput(
        answer="no", self_score=0, explanation=explanation), user)
    service.set_difficulties(session, assessment, user, difficulties)
    session.commit()
    return assessment


def test_table_has_every_level_with_sums_and_explanations(client, session):
    """Fields, criteria and sub-criteria with max and sums; explanations listed; formulas escaped."""
    assessment = _scored(client, session, make_assessment(session), "=HYPERLINK(\"x\") chưa ban hành",
                         "Thiếu nhân lực chuyên trách.")
    answer = client.get(f"/staff/assessments/{assessment.id}/table.xlsx")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].startswith("attachment; filename=\"tu-cham-")
    book = load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == ["Bảng tự chấm điểm", "Giải trình", "Khó khăn, kiến nghị"]
    rows = {row[0]: row for row in book["Bảng tự chấm điểm"].iter_rows(min_row=2, values_only=True)}
    assert rows["1"][1:5] == ("Lĩnh vực", "Công tác chỉ đạo, điều hành cải cách hành chính", 6.5, 6)
    assert rows["1.1.1"][3:5] == (0.5, 0)
    assert rows["1.1.1"][7] == "'=HYPERLINK(\"x\") chưa ban hành"
    assert "bao-cao-cchc-2024.pdf, 123/BC-UBND, phần áp dụng: Mục II" in rows["1.1.1"][6]
    assert sum(r[3] for code, r in rows.items() if code.count(".") == 0) == 45.5
    assert book["Khó khăn, kiến nghị"]["A2"].value == "Thiếu nhân lực chuyên trách."


def test_evidence_package_has_a_folder_per_node_and_an_index(app, client, session):
    """One folder per node code with its files; one document in several folders; the index names them."""
    assessment = make_assessment(session)
    user = log_in(client, session, "assessor")
    service.add_document(session, storage_for(app), assessment, user, PDF, "ke-hoach.pdf",
                         service.DocumentInput(number="01/KH-UBND"),
                         [("par.1.1.1", "tr. 2"), ("par.1.1.2", None)])
    service.add_document(session, storage_for(app), assessment, user, PNG, "anh.png", service.DocumentInput(),
                         [("par.1.1.1", None)])
    session.commit()
    answer = client.get(f"/staff/assessments/{assessment.id}/evidence.zip")
    data = answer.get_data()
    answer.close()
    package = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(package.namelist()) == ["1.1.1/anh.png", "1.1.1/ke-hoach.pdf", "1.1.2/ke-hoach.pdf",
                                          "danh-muc.csv"]
    assert package.read("1.1.2/ke-hoach.pdf") == PDF
    index = list(csv.DictReader(io.StringIO(package.read("danh-muc.csv").decode("utf-8-sig"))))
    assert [(r["thu_muc"], r["tep"], r["so_hieu"], r["trang_muc_ap_dung"]) for r in index][:2] == [
        ("1.1.1", "ke-hoach.pdf", "01/KH-UBND", "tr. 2"), ("1.1.1", "anh.png", "", "")]


def test_report_text_is_saved(client, session):
    """The difficulties and proposals form saves the text."""
    assessment = make_assessment(session)
    log_in(client, session, "assessor")
    token = csrf_token(client, f"/staff/assessments/{assessment.id}")
    saved = client.post(f"/staff/assessments/{assessment.id}/report",
                        data={"csrf_token": token, "difficulties": "Phần mềm của Bộ mở muộn."})
    assert saved.status_code == 303
    session.refresh(assessment)
    assert assessment.difficulties == "Phần mềm của Bộ mở muộn."


def test_printable_report_has_the_table_explanations_and_proposals(client, session):
    """An A4 page without script: every level with max, self-score, appraisal and explanation, the total,
    the list of explanations, difficulties and proposals; linked from the assessment page; scoped."""

    from survey.auth.models import UserUnit
    from tests.factories import make_unit

    assessment = _scored(client, session,
                         make_assessment(session, unit=make_unit(session, name="Sở Tư pháp", code="STP")),
                         "<b>Chưa</b> ban hành kế hoạch đúng hạn.",
                         "Thiếu nhân lực chuyên trách.\nĐề nghị tập huấn.")
    url = f"/staff/assessments/{assessment.id}/print"
    assert f'href="{url}"' in client.get(f"/staff/assessments/{assessment.id}").text
    page = client.get(url)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.text
    assert "<script" not in html and re.search(r'href="/static/assessment-print\.[0-9a-f]+\.css"', html)
    assert "BÁO CÁO KẾT QUẢ TỰ ĐÁNH GIÁ, CHẤM ĐIỂM CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM 2024" in html
    assert "Công tác chỉ đạo, điều hành cải cách hành chính" in html  # a field
    assert "Ban hành kế hoạch CCHC năm đúng thời hạn" in html  # a sub-criterion
    row = re.search(r'<td class="code">1\.1\.1</td>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num[^"]*">([^<]*)</td>', row) == ["0,5", "0", ""]
    assert "&lt;b&gt;Chưa&lt;/b&gt; ban hành kế hoạch đúng hạn." in row  # escaped, never markup
    assert re.search(r'total-self">([^<]*)<', html).group(1) == "45"  # 45.5 at the maximum, minus 0.5
    explanations = html.split("II. DANH SÁCH GIẢI TRÌNH")[1].split("III.")[0]
    assert "&lt;b&gt;Chưa&lt;/b&gt; ban hành" in explanations and "Tài liệu kiểm chứng chung" in explanations
    assert "<p>Thiếu nhân lực chuyên trách.</p><p>Đề nghị tập huấn.</p>" in html
    css = (Path(client.application.static_folder) / "assessment-print.css").read_text(encoding="utf-8")
    assert "@page { size: A4" in css and "@media print" in css

    other = make_assessment(session, unit=make_unit(session, name="Sở Y tế", code="SYT"))
    log_in(client, session, "approver", email="scoped@example.vn", all_units=False,
           scopes=[UserUnit(unit_id=assessment.unit_id)])
    assert client.get(url).status_code == 200
    assert client.get(f"/staff/assessments/{other.id}/print").status_code == 404
