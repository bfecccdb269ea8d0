"""Reminders of an unfinished assessment go out by e-mail through a real SMTP server (aiosmtpd), in
Vietnamese, to the unit's active assessors and its focal official, and the page says who and when."""

from sqlalchemy import select

from survey.assessment.models import AssessmentEvent
from survey.auth.models import AuditLog, UserUnit
from survey.sampling import focal
from tests.factories import csrf_token, log_in, make_assessment, make_staff, make_unit
from tests.sampling.test_invitations import smtp  # noqa: F401 - fixture


def _remind(client, assessment, message=None):
    token = csrf_token(client, "/staff/assessments/")
    return client.post(f"/staff/assessments/{assessment.id}/remind",
                       data={"csrf_token": token, "message": message or ""})


def test_reminder_is_emailed_to_the_units_assessors_and_focal_official(client, session, smtp):  # noqa: F811
    """Two scoped assessors and the focal official get it; others do not; the page names them."""
    unit = make_unit(session, name="Xã Tịnh Hòa", code="TH")
    other = make_unit(session, name="Xã Nghĩa Kỳ", code="NK")
    assessment = make_assessment(session, unit=unit)
    make_staff(session, "assessor", email="cham1@example.vn", name="Lê Thị Chấm", all_units=False,
               scopes=[UserUnit(unit_id=unit.id)])
    make_staff(session, "assessor", email="cham2@example.vn", name="Trần Văn Điểm", all_units=False,
               scopes=[UserUnit(unit_id=unit.id)])
    make_staff(session, "assessor", email="nghiaky@example.vn", name="Ngoài đơn vị", all_units=False,
               scopes=[UserUnit(unit_id=other.id)])
    make_staff(session, "assessor", email="nghi@example.vn", name="Đã nghỉ", all_units=False, active=False,
               scopes=[UserUnit(unit_id=unit.id)])
    focal.add_official(session, unit, "Nguyễn Đầu Mối", email="daumoi@tinhhoa.example.vn")
    session.commit()
    log_in(client, session, "coordinator")

    response = _remind(client, assessment, "Đề nghị hoàn thành trước ngày 20/12.")
    assert response.status_code == 303
    assert "Đã gửi thư nhắc tới 3 người của" in client.get("/staff/assessments/").text
    received = {rcpt for rcpts, _ in smtp.messages for rcpt in rcpts}
    assert received == {"cham1@example.vn", "cham2@example.vn", "daumoi@tinhhoa.example.vn"}
    _, msg = next(m for m in smtp.messages if m[0] == ["cham1@example.vn"])
    # (Python's parser drops the spaces between RFC 2047 encoded words: compare without spaces)
    subject = "Nhắc hoàn thành bản tự đánh giá cải cách hành chính năm 2024: Xã Tịnh Hòa"
    assert msg["Subject"].replace(" ", "") == subject.replace(" ", "")
    body = msg.get_content()
    assert "Kính gửi Ông/Bà Lê Thị Chấm," in body and "Đề nghị hoàn thành trước ngày 20/12." in body
    assert f"http://localhost/staff/assessments/{assessment.id}" in body
    assert "tiêu chí thiếu điểm, tài liệu kiểm chứng hoặc giải trình" in body

    event = session.scalar(select(AssessmentEvent).filter_by(assessment_id=assessment.id, kind="reminder"))
    assert {(r["kind"], r["name"], r["sent"]) for r in event.recipients} == {
        ("assessor", "Lê Thị Chấm", True), ("assessor", "Trần Văn Điểm", True), ("focal", None, True)}
    page = client.get(f"/staff/assessments/{assessment.id}").text
    assert "Đã gửi thư tới:" in page and "Lê Thị Chấm" in page and "đầu mối khảo sát của đơn vị" in page
    assert "Nguyễn Đầu Mối" not in page and "daumoi@" not in page
    assert event.at.strftime("%d/%m/%Y") in page
    audit = session.scalar(select(AuditLog).filter_by(action="assessment.reminder"))
    assert audit is not None and "daumoi" not in str(audit.details)


def test_no_one_to_write_to_or_no_mail_server_records_nothing(client, session, app):
    """No assessor nor focal e-mail: refused; a mail server that is down: refused, nothing recorded."""
    unit = make_unit(session, name="Xã Tịnh Hòa", code="TH")
    assessment = make_assessment(session, unit=unit)
    log_in(client, session, "coordinator")
    _remind(client, assessment)
    assert "không gửi được thư nhắc" in client.get("/staff/assessments/").text
    make_staff(session, "assessor", email="cham1@example.vn", all_units=False,
               scopes=[UserUnit(unit_id=unit.id)])
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_BACKEND="smtp")
    _remind(client, assessment)
    assert "Không gửi được thư nhắc: máy chủ thư không nhận" in client.get("/staff/assessments/").text
    assert session.scalar(select(AssessmentEvent).filter_by(kind="reminder")) is None
