"""Evidence uploads: type from content, 20 MB, harmless names, files served only within scope."""

import io
import re
import unicodedata

from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from survey.assessment.models import EvidenceDocument
from survey.assessment.storage import LocalStorage, storage_for
from survey.auth.models import UserUnit
from tests.assessment.helpers import PDF, PNG, office
from tests.factories import csrf_token, log_in, make_assessment, make_staff, make_unit

CODE = "par.1.1.1"


def _upload(client, assessment, data: bytes, name: str, code: str = CODE, **fields):
    """Post a file to a node's upload form, with the page's form token.

    The body is encoded in memory: the test client would otherwise spool a large one to a temporary
    file it never closes.
    """
    token = csrf_token(client, f"/staff/assessments/{assessment.id}")
    sent = FileStorage(io.BytesIO(data), filename=name)
    boundary, body = encode_multipart({"csrf_token": token, "file": sent, **fields})
    answer = client.post(f"/staff/assessments/{assessment.id}/items/{code}/evidence", data=body,
                         content_type=f"multipart/form-data; boundary={boundary}")
    answer.close()
    return answer


def _documents(session) -> int:
    return session.scalar(select(func.count()).select_from(EvidenceDocument))


def test_pdf_is_stored_under_its_hash_outside_the_web_root(app, client, session):
    """A PDF is accepted, stored under its SHA-256 in the instance folder, with its metadata."""
    assessment = make_assessment(session)
    log_in(client, session, "assessor")
    answer = _upload(client, assessment, PDF, "QĐ 12.pdf", number="12/QĐ-UBND", issued_on="2024-01-10",
                     issuer="UBND tỉnh", pages="Điều 2")
    assert answer.status_code == 303
    document = session.scalars(select(EvidenceDocument)).one()
    assert (document.media_type, document.file_name, document.number) == ("application/pdf", "QĐ 12.pdf",
                                                                          "12/QĐ-UBND")
    storage = storage_for(app)
    assert isinstance(storage, LocalStorage) and storage.exists(document.sha256)
    assert str(storage.root).startswith(app.instance_path)
    assert document.links[0].pages == "Điều 2"


def test_renamed_executable_is_refused(app, client, session):
    """A Windows program named .pdf, and a zip dressed as .docx, are refused; nothing is stored."""
    assessment = make_assessment(session)
    log_in(client, session, "assessor")
    program = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
    for data, name in ((program, "ke-hoach.pdf"), (office(main=False), "bao-cao.docx"),
                       (b"plain text", "ghi-chu.png")):
        answer = _upload(client, assessment, data, name)
        assert answer.status_code == 422
        assert "Chỉ nhận tệp PDF, DOCX, XLSX, JPG hoặc PNG" in answer.text
    assert _documents(session) == 0
    assert not [p for p in storage_for(app).root.rglob("*") if p.is_file()]


def test_office_files_pass_on_their_content(client, session):
    """A real DOCX and XLSX package pass, whatever they are called."""
    assessment = make_assessment(session)
    log_in(client, session, "assessor")
    assert _upload(client, assessment, office("docx"), "tai-lieu").status_code == 303
    assert _upload(client, assessment, office("xlsx"), "so-lieu.pdf").status_code == 303
    names = sorted(session.scalars(select(EvidenceDocument.file_name)))
    assert names == ["so-lieu.xlsx", "tai-lieu.docx"]


def test_a_25_mb_file_is_refused_with_a_clear_message(app, client, session):
    """25 MB: 413 with the Vietnamese explanation on the assessment page, not a bare error; nothing stored."""
    assessment = make_assessment(session)
    log_in(client, session, "assessor")
    answer = _upload(client, assessment, PDF + b"0" * (25 * 1024 * 1024), "ban-quet.pdf")
    assert answer.status_code == 413
    assert "Tệp quá lớn: tối đa 20 MB mỗi tệp" in answer.text
    assert "Tự đánh giá, chấm điểm CCHC năm 2024" in answer.text
    assert _documents(session) == 0


def test_a_file_just_under_20_mb_passes(client, session):
    """The limit is 20 MB for this route, above the app's general 16 MB."""
    assessment = make_assessment(session)
    log_in(client, session, "assessor")
    assert _upload(client, assessment, PDF + b"0" * (19 * 1024 * 1024), "ban-quet.pdf").status_code == 303


def test_name_with_dots_slashes_and_unicode_is_made_harmless(app, client, session):
    """`../` and folders are dropped, the name is NFC and without controls; the file lives under its hash."""
    assessment = make_assessment(session)
    log_in(client, session, "assessor")
    name = "../../etc/" + unicodedata.normalize("NFD", "Quyết định\u202e số 5") + ".exe.pdf"
    assert _upload(client, assessment, PDF, name).status_code == 303
    document = session.scalars(select(EvidenceDocument)).one()
    assert document.file_name == "Quyết định số 5.exe.pdf"
    assert unicodedata.is_normalized("NFC", document.file_name)
    assert "/" not in document.file_name and ".." not in document.file_name
    stored = [p for p in storage_for(app).root.rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [document.sha256]
    served = client.get(f"/staff/assessments/{assessment.id}/documents/{document.id}")
    served.close()
    assert served.headers["Content-Disposition"].startswith("inline")
    assert "filename*=UTF-8''Quy%E1%BA%BFt" in served.headers["Content-Disposition"]


def test_files_are_served_only_within_scope_with_safe_headers(app, session):
    """Same unit: inline PDF, nosniff, restrictive CSP; DOCX as an attachment; other unit: 404."""
    unit_a, unit_b = make_unit(session), make_unit(session)
    assessment = make_assessment(session, unit=unit_a)
    own = app.test_client()
    user = log_in(own, session, "assessor", all_units=False)
    session.add(UserUnit(user_id=user.id, unit_id=unit_a.id))
    session.commit()
    assert _upload(own, assessment, PDF, "a.pdf").status_code == 303
    assert _upload(own, assessment, office("docx"), "b.docx").status_code == 303
    assert _upload(own, assessment, PNG, "c.png").status_code == 303
    pdf, docx, png = session.scalars(select(EvidenceDocument).order_by(EvidenceDocument.id)).all()
    url = f"/staff/assessments/{assessment.id}/documents/"

    def get(client, document):
        response = client.get(url + str(document.id))
        response.get_data()
        response.close()
        return response

    shown = get(own, pdf)
    assert shown.status_code == 200 and shown.data == PDF
    assert shown.headers["Content-Type"] == "application/pdf"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert re.search(r"default-src 'none'", shown.headers["Content-Security-Policy"])
    assert shown.headers["Cache-Control"] == "no-store"
    assert get(own, png).headers["Content-Disposition"].startswith("inline")
    assert get(own, docx).headers["Content-Disposition"].startswith("attachment")

    other = app.test_client()
    stranger = make_staff(session, "assessor", email="b@example.vn", all_units=False)
    session.add(UserUnit(user_id=stranger.id, unit_id=unit_b.id))
    session.commit()
    other.post("/staff/login", data={"csrf_token": csrf_token(other), "email": stranger.email,
                                     "password": "mật-khẩu-đủ-dài"})
    assert get(other, pdf).status_code == 404
    assert other.get(f"/staff/assessments/{assessment.id}").status_code == 404
    analyst = app.test_client()
    log_in(analyst, session, "analyst", email="analyst@example.vn")
    assert get(analyst, pdf).status_code == 403


def test_other_routes_keep_the_general_limit_with_a_message(client, session):
    """Elsewhere the general 16 MB limit holds, and its 413 page says why in Vietnamese."""
    log_in(client, session, "coordinator")
    answer = client.post("/staff/questionnaires/import", data=b"x" * (17 * 1024 * 1024),
                         content_type="application/x-www-form-urlencoded")
    answer.close()
    assert answer.status_code == 413
    assert "vượt quá giới hạn cho phép" in answer.get_data(as_text=True)
