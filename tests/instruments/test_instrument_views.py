"""Staff questionnaire pages: the list, paper forms, XLSForm download and the upload flow."""

import io
from pathlib import Path

import pytest

from survey.auth.models import AuditLog
from survey.definitions import load
from survey.instruments import service
from survey.instruments.models import QuestionnaireVersion
from survey.instruments.xlsform_import import import_xlsform
from tests.factories import CSRF, log_in
from tests.instruments.test_xlsform_import import build, with_unsupported

BUNDLED = sorted((Path(__file__).resolve().parents[2] / "questionnaires").glob("*.yaml"))


@pytest.fixture
def bundled(session):
    """Publish every bundled questionnaire."""
    definitions = [load.load_file(path) for path in BUNDLED]
    for definition in definitions:
        service.publish(session, definition)
    session.commit()
    return definitions


def test_print_page_renders_every_bundled_questionnaire(client, session, bundled):
    """Each paper form shows its form code, question numbers and option codes beside boxes."""
    log_in(client, session, "data_entry")
    for definition in bundled:
        page = client.get(f"/staff/questionnaires/{definition.id}/{definition.version}/print")
        assert page.status_code == 200, definition.id
        assert page.text.count(f"{definition.id} v{definition.version}") >= 2
        numbers = definition.numbers()
        first = next(i for i in definition.items() if i.type != "note")
        assert f'<span class="number">{numbers[first.id]}</span>' in page.text
        assert f'☐</span> <span class="code">{first.options[0].code}</span>' in page.text \
            or '<table class="matrix">' in page.text


def test_print_page_phrases_skip_instructions(client, session, bundled):
    """A simple relevance is printed as an instruction in Vietnamese."""
    log_in(client, session, "analyst")
    page = client.get("/staff/questionnaires/sipas-service/2025.2/print").text
    assert "Chỉ trả lời phần này nếu ở câu 1.2 Ông/Bà không chọn «Cổng dịch vụ công trực tuyến»" in page
    staff = '<span class="number">4.</span> <span class="primary">Công chức trực tiếp giải quyết công việc'
    assert staff in page  # the fourth section, its "3." dropped: never "4. 3."
    assert "Số phiếu" in page and "khuyết danh" in page


def test_print_page_in_english(client, session, bundled):
    """With ?lang=en the questionnaire's English text comes first."""
    log_in(client, session, "analyst")
    page = client.get("/staff/questionnaires/sipas-service/2025.2/print?lang=en").text
    assert '<html lang="en">' in page and '<span class="primary">Where did you file the application?' in page


def test_print_page_requires_login(client, bundled):
    """An anonymous visitor is sent to the login page."""
    response = client.get("/staff/questionnaires/sipas-service/2025.2/print")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_print_page_of_unknown_version_is_404(client, session, bundled):
    """An unknown version answers 404."""
    log_in(client, session, "coordinator")
    assert client.get("/staff/questionnaires/sipas-service/9.9/print").status_code == 404


def test_list_links_print_and_export(client, session, bundled):
    """The list page links every version's paper form and XLSForm."""
    log_in(client, session, "data_entry")
    page = client.get("/staff/questionnaires").text
    assert "/staff/questionnaires/par-hdnd-tinh/2025.2/print" in page
    assert "/staff/questionnaires/par-hdnd-tinh/2025.2/xlsform" in page


def test_export_downloads_an_xlsform(client, session, bundled):
    """The download is an .xlsx that imports back to the same questionnaire."""
    log_in(client, session, "analyst")
    response = client.get("/staff/questionnaires/sipas-policy/2025.2/xlsform")
    assert response.status_code == 200
    assert "sipas-policy-2025.2.xlsx" in response.headers["Content-Disposition"]
    assert import_xlsform(response.data).definition.id == "sipas-policy"


def upload(client, data: bytes, partial=False, token=None):
    """Post an XLSForm to the import form."""
    token = token or CSRF.search(client.get("/staff/questionnaires").text).group(1)
    form = {"csrf_token": token, "file": (io.BytesIO(data), "thu.xlsx")}
    if partial:
        form["accept_partial"] = "y"
    return client.post("/staff/questionnaires/import", data=form, content_type="multipart/form-data")


def test_upload_publishes_and_audits(client, session):
    """A clean XLSForm is published and the import recorded in the audit log."""
    log_in(client, session, "coordinator")
    response = upload(client, build())
    assert response.status_code == 200 and "pyxform" in response.text  # its warnings stay in view
    assert session.query(QuestionnaireVersion).one().version == "2"
    assert session.query(AuditLog).filter_by(action="questionnaire.imported").one().target == "thu:2"


def test_upload_with_unsupported_rows_shows_report_and_stores_nothing(client, session):
    """Unsupported rows are listed with their row numbers and nothing is stored by default."""
    log_in(client, session, "coordinator")
    response = upload(client, with_unsupported())
    assert response.status_code == 422 and "trang survey, dòng 10: không giữ được" in response.text
    assert session.query(QuestionnaireVersion).count() == 0
    client.get("/staff/questionnaires?lang=en")
    assert "survey row 11: unsupported: type" in upload(client, with_unsupported()).text


def test_upload_accepted_partially(client, session):
    """Ticking "accept partially" stores the representable part."""
    log_in(client, session, "coordinator")
    response = upload(client, with_unsupported(), partial=True)
    assert response.status_code == 200 and "trang survey, dòng 12: không giữ được" in response.text
    assert session.query(QuestionnaireVersion).count() == 1


def test_upload_without_csrf_is_refused(client, session):
    """A forged upload without a valid CSRF token stores nothing."""
    log_in(client, session, "coordinator")
    response = upload(client, build(), token="forged")
    assert response.status_code == 400 and session.query(QuestionnaireVersion).count() == 0


def test_upload_needs_coordinator(client, session):
    """A data-entry clerk may print but not import questionnaires."""
    log_in(client, session, "data_entry")
    assert upload(client, build()).status_code == 403
