"""/staff/frameworks: a changed table shows its differences and is published on apply; bad rows by row."""

import io
import re

from sqlalchemy import select

from survey.auth.models import AuditLog
from survey.instruments.framework_table import to_xlsx
from survey.instruments.models import FrameworkVersion
from tests.factories import csrf_token, log_in
from tests.instruments.test_framework_import_cli import SOURCE, published
from tests.instruments.test_framework_table import edit, row_index

HIDDEN = re.compile(r'<input[^>]*name="(payload|base|filename|framework|version|mode|status|source)"[^>]*'
                    r'value="([^"]*)"')


def upload(client, data: bytes, version="2025.1", name="phu-luc.xlsx"):
    """Post a table to the import form."""
    return client.post("/staff/frameworks/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/staff/frameworks"), "framework": "par-province-2024",
        "version": version, "mode": "tree", "status": "verified", "source": SOURCE,
        "file": (io.BytesIO(data), name)})


def changed_points(document) -> bytes:
    """The exported table with 0.25 point moved from par.1.1.2 to par.1.1.1."""
    def change(rows):
        rows[row_index(rows, "par.1.1.1")][4] = 0.75
        rows[row_index(rows, "par.1.1.2")][4] = 0.75
    return edit(to_xlsx(document), change)


def test_diff_then_apply_publishes_a_new_version(client, session):
    """The diff page lists both changes and stores nothing; apply publishes 2025.1 with an audit entry."""
    document = published(session)
    log_in(client, session, "coordinator")
    page = client.get("/staff/frameworks")
    assert page.status_code == 200 and "2024.1" in page.text
    exported = client.get("/staff/frameworks/par-province-2024/2024.1.xlsx")
    assert exported.status_code == 200 and exported.data[:2] == b"PK"
    diff = upload(client, changed_points(document))
    assert diff.status_code == 200, diff.text
    assert "par.1.1.1" in diff.text and "max_points" in diff.text and "0.75" in diff.text
    assert len(session.scalars(select(FrameworkVersion)).all()) == 1
    fields = dict(HIDDEN.findall(diff.text))
    applied = client.post("/staff/frameworks/apply", data={
        **fields, "csrf_token": csrf_token(client, "/staff/frameworks")})
    assert applied.status_code == 302
    versions = session.scalars(select(FrameworkVersion).order_by(FrameworkVersion.id)).all()
    assert [v.version for v in versions] == ["2024.1", "2025.1"]
    par_1 = versions[1].definition["nodes"][0]["children"][0]["children"]
    assert [n["max_points"] for n in par_1[:2]] == [0.75, 0.75]
    assert session.scalars(select(AuditLog).filter_by(action="framework.imported")).one().details["file"] == \
        "phu-luc.xlsx"


def test_malformed_table_is_refused_by_row_and_writes_nothing(client, session):
    """A non-number and an unknown parent: 422, each with its row, no new version, no audit entry."""
    document = published(session)
    log_in(client, session, "coordinator")

    def change(rows):
        rows[row_index(rows, "par.1.1.1")][4] = "một"
        rows.append(["par.42.1", None, "Không có cha", "No parent", 1, "self_assessed", "yes_no", None, None])
    refused = upload(client, edit(to_xlsx(document), change))
    assert refused.status_code == 422
    assert "Dòng 4: Điểm tối đa &#39;một&#39; không phải là số ≥ 0." in refused.text
    assert "Không có tiêu chí cha par.42 của par.42.1 ở các dòng phía trên." in refused.text
    assert len(session.scalars(select(FrameworkVersion)).all()) == 1
    assert session.scalars(select(AuditLog).filter_by(action="framework.imported")).first() is None


def test_apply_after_another_version_was_published_shows_the_diff_again(client, session):
    """The version compared with is no longer the newest: 409 and the differences against the new one."""
    document = published(session)
    log_in(client, session, "coordinator")
    fields = dict(HIDDEN.findall(upload(client, changed_points(document)).text))
    fields["base"] = "0" * 64
    fields["csrf_token"] = csrf_token(client, "/staff/frameworks")
    again = client.post("/staff/frameworks/apply", data=fields)
    assert again.status_code == 409
    assert len(session.scalars(select(FrameworkVersion)).all()) == 1
