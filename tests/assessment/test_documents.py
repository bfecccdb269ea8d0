"""Evidence documents after upload: metadata corrected, an unlinked document deleted with its file (when
no other row uses the content), and no orphaned file when the database write of an upload fails."""

import hashlib
import io

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from survey.assessment import service
from survey.assessment.models import EvidenceDocument
from survey.assessment.storage import storage_for
from survey.auth.models import AuditLog
from tests.assessment.helpers import PDF, PNG
from tests.factories import csrf_token, log_in, make_assessment, make_staff, make_unit

CODE = "par.1.1.1"


def _post(client, assessment, path: str, **data):
    token = csrf_token(client, f"/staff/assessments/{assessment.id}")
    return client.post(f"/staff/assessments/{assessment.id}{path}", data={"csrf_token": token, **data})


def _add(app, session, assessment, user, data=PDF, links=((CODE, None),)):
    found = service.add_document(session, storage_for(app), assessment, user, data, "qd.pdf",
                                 service.DocumentInput(number="1/QĐ"), list(links))
    session.commit()
    return found


def test_number_date_and_issuer_are_corrected_and_audited(app, client, session):
    """The edit form changes the metadata; a bad date writes nothing; a finished assessment refuses."""
    assessment = make_assessment(session)
    user = log_in(client, session, "assessor")
    document = _add(app, session, assessment, user)
    page = client.get(f"/staff/assessments/{assessment.id}").text
    assert f'action="/staff/assessments/{assessment.id}/documents/{document.id}"' in page
    bad = _post(client, assessment, f"/documents/{document.id}", number="2/QĐ", issued_on="31/02/2024")
    assert bad.status_code == 422 and "ngày ban hành" in bad.text
    good = _post(client, assessment, f"/documents/{document.id}", number=" 15/QĐ-UBND ",
                 issued_on="2024-01-15", issuer="UBND tỉnh")
    assert good.status_code == 303
    session.refresh(document)
    assert (document.number, document.issued_on.isoformat(), document.issuer) == (
        "15/QĐ-UBND", "2024-01-15", "UBND tỉnh")
    audit = session.scalar(select(AuditLog).filter_by(action="assessment.evidence_edited"))
    assert audit.details["before"]["number"] == "1/QĐ"
    assessment.status = "approved"
    session.commit()
    locked = _post(client, assessment, f"/documents/{document.id}", number="x")
    assert locked.status_code == 422 and "không sửa được" in locked.text


def test_only_an_unlinked_document_is_deleted_and_its_file_only_when_unused(app, client, session):
    """Linked: refused with the nodes. Unlinked: the row goes; the file stays while another assessment's
    row uses the same content, and goes with the last row."""
    storage = storage_for(app)
    assessment = make_assessment(session)
    other = make_assessment(session, unit=make_unit(session, name="Sở Y tế", code="SYT"))
    user = log_in(client, session, "assessor")
    mine = _add(app, session, assessment, user)
    theirs = _add(app, session, other, user)
    only = _add(app, session, assessment, user, data=PNG)
    key, png_key = hashlib.sha256(PDF).hexdigest(), hashlib.sha256(PNG).hexdigest()
    mine_id, theirs_id, only_link = mine.id, theirs.id, only.links[0].id

    linked = _post(client, assessment, f"/documents/{mine.id}/remove")
    assert linked.status_code == 422 and "Tài liệu đang được dùng cho tiêu chí par.1.1.1" in linked.text
    assert session.get(EvidenceDocument, mine.id) is not None
    link_id = mine.links[0].id
    assert _post(client, assessment, f"/links/{link_id}/remove").status_code == 303
    assert _post(client, assessment, f"/documents/{mine.id}/remove").status_code == 303
    session.expire_all()
    assert session.get(EvidenceDocument, mine_id) is None
    assert storage.exists(key)  # the other assessment's document has the same content

    service.unlink(session, assessment, user, only_link)
    session.commit()
    assert _post(client, assessment, f"/documents/{only.id}/remove").status_code == 303
    assert not storage.exists(png_key)
    assert session.scalar(select(AuditLog).filter_by(action="assessment.evidence_deleted")) is not None
    assert storage.exists(key) and session.get(EvidenceDocument, theirs_id) is not None
    assert _post(client, assessment, f"/documents/{theirs_id}/remove").status_code == 422  # not this one's
    assert session.get(EvidenceDocument, theirs_id) is not None


def test_a_failed_flush_leaves_no_file(app, session):
    """The rows are flushed before the file is written: a failing flush stores nothing."""
    assessment = make_assessment(session)
    user = make_staff(session, "assessor")
    data = PDF + b"% failing flush\n"

    def refuse(flushing, context, instances):
        if any(isinstance(o, EvidenceDocument) for o in flushing.new):
            raise RuntimeError("the database is gone")

    event.listen(session, "before_flush", refuse)
    try:
        with pytest.raises(RuntimeError):
            service.add_document(session, storage_for(app), assessment, user, data, "a.pdf",
                                 service.DocumentInput(), [(CODE, None)])
    finally:
        event.remove(session, "before_flush", refuse)
    session.rollback()
    assert not storage_for(app).exists(hashlib.sha256(data).hexdigest())


def test_a_failed_commit_of_an_upload_removes_its_file(app, client, session):
    """The upload's commit fails: the view rolls back and removes the file it wrote."""
    assessment = make_assessment(session)
    log_in(client, session, "assessor")
    data = PDF + b"% failing commit\n"
    token = csrf_token(client, f"/staff/assessments/{assessment.id}")
    boundary, body = encode_multipart({"csrf_token": token, "file": FileStorage(io.BytesIO(data), "b.pdf")})

    def refuse(committing):
        if any(isinstance(o, EvidenceDocument) for o in committing):
            raise RuntimeError("the commit failed")

    event.listen(Session, "before_commit", refuse)  # every session: the request has its own
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        answer = client.post(f"/staff/assessments/{assessment.id}/items/{CODE}/evidence", data=body,
                             content_type=f"multipart/form-data; boundary={boundary}")
        answer.close()
    finally:
        event.remove(Session, "before_commit", refuse)
    assert answer.status_code == 500
    assert not storage_for(app).exists(hashlib.sha256(data).hexdigest())
    assert session.scalar(select(EvidenceDocument).filter_by(sha256=hashlib.sha256(data).hexdigest())) is None
