"""The self-assessment workflow through the pages: score, evidence, refused submission, approval,
appraisal, lock; reasons after submission; scope; deadlines and reminders; points for the index."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from survey.assessment import service
from survey.assessment.models import Assessment, AssessmentEvent
from survey.auth.models import AuditLog, UserUnit
from tests.assessment.helpers import complete
from tests.factories import csrf_token, log_in, log_out, make_assessment, make_staff, make_unit

FIRST, SECOND = "par.1.1.1", "par.1.1.2"


def _post(client, assessment, path: str, **data):
    """Post a form of the assessment page with its token."""
    token = csrf_token(client, f"/staff/assessments/{assessment.id}")
    return client.post(f"/staff/assessments/{assessment.id}{path}", data={"csrf_token": token, **data})


def _status(client, assessment) -> str:
    page = client.get(f"/staff/assessments/{assessment.id}").text
    return re.search(r'class="assessment-status">([^<]+)<', page).group(1)


def test_page_shows_the_tree_rules_evidence_and_countdown(client, session):
    """Every self-assessed node with its max, rule, evidence description; a countdown to the deadline."""
    assessment = make_assessment(session)
    assessment.deadline = date.today() + timedelta(days=12)
    session.commit()
    log_in(client, session, "assessor")
    page = client.get(f"/staff/assessments/{assessment.id}").text
    assert page.count('<details class="node"') == 56
    assert "Ban hành kế hoạch CCHC năm đúng thời hạn" in page
    assert "Quyết định ban hành kế hoạch CCHC năm (số, ngày, cơ quan ban hành)" in page
    assert "Còn 12 ngày đến hạn của Bộ Nội vụ" in page
    assert "Còn thiếu trước khi gửi / phê duyệt (56 tiêu chí)" in page


def test_declared_data_suggests_and_the_score_is_checked(client, session):
    """A ratio of 85% suggests half the points; a score off the step or above max is refused."""
    assessment = make_assessment(session)
    log_in(client, session, "assessor")
    saved = _post(client, assessment, f"/items/{SECOND}", numerator="85", denominator="100", self_score="0.5")
    assert saved.status_code == 303
    entry = service.item(assessment, SECOND)
    session.refresh(entry)
    assert (entry.suggested, entry.self_score) == (0.5, 0.5)
    off_step = _post(client, assessment, f"/items/{SECOND}", self_score="0.7")
    assert off_step.status_code == 422 and "bội số của 0,5" in off_step.text
    too_high = _post(client, assessment, f"/items/{SECOND}", self_score="2")
    assert too_high.status_code == 422 and "điểm phải từ 0 đến 1" in too_high.text
    session.refresh(entry)
    assert entry.self_score == 0.5


def test_acceptance_flow_with_audit(app, session):
    """Assessor scores and uploads, is refused with the list, completes, submits; the approver
    approves, enters two appraisals with notes, marks appraised and locks; every step is audited."""
    unit = make_unit(session, name="Sở Nội vụ")
    assessment = make_assessment(session, unit=unit)
    assessor_client = app.test_client()
    assessor = log_in(assessor_client, session, "assessor", all_units=False)
    session.add(UserUnit(user_id=assessor.id, unit_id=unit.id))
    session.commit()
    complete(session, assessment, assessor, skip=(FIRST,))

    refused = _post(assessor_client, assessment, "/move/submitted")
    assert refused.status_code == 422
    assert "1 tiêu chí còn thiếu điểm, tài liệu kiểm chứng hoặc giải trình" in refused.text
    assert f'href="#n-{FIRST}"' in refused.text and "chưa có điểm tự chấm" in refused.text
    assert _status(assessor_client, assessment) == "Đang tự chấm"

    scored = _post(assessor_client, assessment, f"/items/{FIRST}", answer="yes", self_score="0.5")
    assert scored.status_code == 303
    still = _post(assessor_client, assessment, "/move/submitted")
    assert still.status_code == 422 and "chưa có tài liệu kiểm chứng và chưa giải trình" in still.text
    _post(assessor_client, assessment, f"/items/{FIRST}", answer="yes", self_score="0.5",
          explanation="Kế hoạch số 01/KH-UBND ban hành ngày 05/01/2024, bản giấy lưu tại Sở.")
    assert _post(assessor_client, assessment, "/move/submitted").status_code == 303
    assert _status(assessor_client, assessment) == "Đã gửi, chờ phê duyệt"

    # After submission a changed score needs a reason.
    lower = {"numerator": "85", "denominator": "100", "self_score": "0.5", "explanation": "Báo cáo năm."}
    no_reason = _post(assessor_client, assessment, f"/items/{SECOND}", **lower)
    assert no_reason.status_code == 422 and "Cần ghi lý do" in no_reason.text
    assert _post(assessor_client, assessment, f"/items/{SECOND}", **lower,
                 reason="Số liệu nhiệm vụ quý IV được cập nhật").status_code == 303

    approver_client = app.test_client()
    log_in(approver_client, session, "approver", email="chanh.van.phong@example.vn")
    assert _post(assessor_client, assessment, "/move/approved").status_code == 403
    assert _post(approver_client, assessment, "/move/approved").status_code == 303
    assert _status(approver_client, assessment) == "Đã phê duyệt, chờ thẩm định"

    without_note = _post(approver_client, assessment, f"/items/{FIRST}/appraisal", score="0")
    assert without_note.status_code == 422 and "cần có ghi chú" in without_note.text
    assert _post(approver_client, assessment, f"/items/{FIRST}/appraisal", score="0",
                 note="Kế hoạch ban hành sau thời hạn (Bộ Nội vụ).").status_code == 303
    assert _post(approver_client, assessment, f"/items/{SECOND}/appraisal", score="0",
                 note="Tỷ lệ hoàn thành 78% theo báo cáo của Bộ.").status_code == 303
    assert _post(approver_client, assessment, "/move/appraised").status_code == 303
    page = approver_client.get(f"/staff/assessments/{assessment.id}").text
    assert re.search(r'class="self-total">45<', page)
    assert re.search(r'class="appraised-total">44<', page)
    points = service.assessment_points(session, assessment)
    assert (points[FIRST], points[SECOND], len(points)) == (0, 0, 56)
    assert _post(approver_client, assessment, "/move/locked").status_code == 303
    assert _post(approver_client, assessment, "/move/appraised").status_code == 403  # admins only

    actions = session.scalars(select(AuditLog.action).where(AuditLog.target == f"assessment:{assessment.id}")
                              .order_by(AuditLog.id)).all()
    for step in ("assessment.created", "assessment.evidence_added", "assessment.submit",
                 "assessment.score_changed", "assessment.approve", "assessment.appraisal",
                 "assessment.appraise", "assessment.lock"):
        assert step in actions, step
    assert actions.count("assessment.appraisal") == 2
    history = approver_client.get(f"/staff/assessments/{assessment.id}").text
    assert "Kế hoạch ban hành sau thời hạn (Bộ Nội vụ)." in history and "Khóa kết quả" in history


def test_going_back_needs_a_reason(client, session):
    """Returning a submitted assessment to draft is refused without a reason, done with one."""
    assessment = make_assessment(session)
    user = log_in(client, session, "assessor")
    complete(session, assessment, user)
    assert _post(client, assessment, "/move/submitted").status_code == 303
    assert _post(client, assessment, "/move/draft").status_code == 422
    assert _post(client, assessment, "/move/draft", reason="Bổ sung tài liệu tiêu chí 2.1").status_code == 303
    event = session.scalars(select(AssessmentEvent).filter_by(kind="returned")).one()
    assert (event.from_status, event.to_status, event.reason) == ("submitted", "draft",
                                                                  "Bổ sung tài liệu tiêu chí 2.1")


def test_partial_evidence_needs_an_explanation(session):
    """A node with fewer documents than its description lists, or ticked partial, needs an explanation."""
    assessment = make_assessment(session)
    user = make_staff(session, "assessor")
    complete(session, assessment, user)
    framework = service.framework_of(assessment.framework_version)
    entry = service.item(assessment, FIRST)
    node = framework.node(FIRST)
    assert service.evidence_state(entry, node) == "complete"
    entry.explanation = None
    assert service.problems(entry, node) == []
    entry.evidence_partial = True
    assert service.evidence_state(entry, node) == "partial"
    assert service.problems(entry, node) == ["no_explanation"]


def test_assessors_see_only_their_units(app, session):
    """The list and the pages of another unit's assessment are not shown to a scoped assessor."""
    unit_a, unit_b = make_unit(session, name="Xã An Phú"), make_unit(session, name="Xã Bình Minh")
    mine, theirs = make_assessment(session, unit=unit_a), make_assessment(session, unit=unit_b)
    client = app.test_client()
    user = log_in(client, session, "assessor", all_units=False)
    session.add(UserUnit(user_id=user.id, unit_id=unit_a.id))
    session.commit()
    listing = client.get("/staff/assessments/").text
    assert "Xã An Phú" in listing and "Xã Bình Minh" not in listing
    assert client.get(f"/staff/assessments/{mine.id}").status_code == 200
    assert client.get(f"/staff/assessments/{theirs.id}").status_code == 404
    assert _post(client, mine, f"/items/{FIRST}", answer="yes").status_code == 303
    token = csrf_token(client, f"/staff/assessments/{mine.id}")
    assert client.post(f"/staff/assessments/{theirs.id}/items/{FIRST}",
                       data={"csrf_token": token, "answer": "yes"}).status_code == 404


def test_deadlines_unfinished_units_and_reminders(client, session):
    """Milestones in order; the unfinished list names the unit; a reminder is recorded and shown."""
    assessment = make_assessment(session, unit=make_unit(session, name="Xã Tịnh Hòa"))
    make_staff(session, "assessor", all_units=False, scopes=[UserUnit(unit_id=assessment.unit_id)])
    log_in(client, session, "coordinator")
    today = date.today()
    wrong = _post(client, assessment, "/deadlines", submit_by=(today + timedelta(days=20)).isoformat(),
                  deadline=(today + timedelta(days=10)).isoformat())
    assert wrong.status_code == 422 and "Các mốc phải theo thứ tự" in wrong.text
    assert _post(client, assessment, "/deadlines", submit_by=(today + timedelta(days=5)).isoformat(),
                 approve_by=(today + timedelta(days=8)).isoformat(),
                 deadline=(today + timedelta(days=10)).isoformat()).status_code == 303
    listing = client.get("/staff/assessments/").text
    assert "Đơn vị chưa hoàn thành" in listing and "Xã Tịnh Hòa" in listing and "còn 5 ngày" in listing
    token = csrf_token(client, "/staff/assessments/")
    reminded = client.post(f"/staff/assessments/{assessment.id}/remind",
                           data={"csrf_token": token, "message": "Đề nghị hoàn thành trước ngày 20/12."})
    assert reminded.status_code == 303
    page = client.get(f"/staff/assessments/{assessment.id}").text
    assert "Nhắc đơn vị" in page and "Đề nghị hoàn thành trước ngày 20/12." in page
    assert "Còn 5 ngày đến hạn gửi kết quả tự chấm" in page
    assert session.scalar(select(AuditLog).filter_by(action="assessment.reminder")) is not None
    log_out(client)


def test_assessment_points_prefers_the_appraisal(session):
    """Appraised where appraised, else the self-score; unscored nodes are absent."""
    assessment = make_assessment(session)
    user = make_staff(session, "approver")
    service.save_item(session, assessment, FIRST, service.ItemInput(answer="yes", self_score=0.5), user)
    service.save_item(session, assessment, SECOND, service.ItemInput(self_score=1), user)
    assessment.status = "approved"
    service.appraise_item(session, assessment, SECOND, 0.5, "Thiếu báo cáo quý IV.", user)
    assert service.assessment_points(session, assessment) == {FIRST: 0.5, SECOND: 0.5}
    other = make_assessment(session, year=2023)
    by_unit = service.points_by_unit(session, 2024, [assessment.unit_id, other.unit_id])
    assert by_unit == {assessment.unit_id: {FIRST: 0.5, SECOND: 0.5}}


def test_cli_create_and_list(app, runner, session):
    """`flask assessments create UNIT YEAR` pins the newest version; `list` shows it; twice is refused."""
    unit = make_unit(session, code="QNG")
    make_assessment(session, year=2023)  # publishes the framework
    created = runner.invoke(args=["assessments", "create", "QNG", "2024", "--framework", "par-province"])
    assert created.exit_code == 0, created.output
    assert "QNG 2024, par-province-2024 2024.1, 56 self-assessed nodes (draft)" in created.output
    again = runner.invoke(args=["assessments", "create", "QNG", "2024"])
    assert again.exit_code != 0 and "exists" in again.output
    listed = runner.invoke(args=["assessments", "list"])
    assert f"\t{unit.code}\t2024\tpar-province-2024 2024.1\tdraft\topen nodes: 56" in listed.output


def test_coordinator_creates_an_assessment_on_the_page(client, session):
    """The list offers the units in scope and the published versions; a second one is refused."""
    unit = make_unit(session, name="Phường Trương Quang Trọng")
    existing = make_assessment(session, year=2023)  # publishes the framework
    log_in(client, session, "coordinator")
    listing = client.get("/staff/assessments/").text
    assert "Phường Trương Quang Trọng" in listing and "par-province-2024 2024.1" in listing
    form = {"unit": unit.id, "year": "2024", "version": existing.framework_version_id,
            "deadline": "2025-01-15"}
    created = _post_list(client, **form)
    assert created.status_code == 303
    assessment = session.scalars(select(Assessment).filter_by(unit_id=unit.id)).one()
    assert (assessment.year, assessment.deadline, len(assessment.items)) == (2024, date(2025, 1, 15), 56)
    again = _post_list(client, **form)
    assert again.status_code == 422 and "đã có bản tự đánh giá năm 2024" in again.text


def _post_list(client, **data):
    return client.post("/staff/assessments/", data={"csrf_token": csrf_token(client, "/staff/assessments/"),
                                                    **data})


def test_one_person_does_not_approve_their_own_submission(client, session):
    """Holding both roles, the submitter is refused approval with a clear message and nothing changes;
    another approver approves."""
    from survey.auth.models import UserRole

    assessment = make_assessment(session)
    both = log_in(client, session, "assessor", email="ca-hai@example.vn", name="Vừa chấm vừa duyệt",
                  roles=[UserRole(role="assessor"), UserRole(role="approver")])
    complete(session, assessment, both)
    assert _post(client, assessment, "/move/submitted").status_code == 303
    page = client.get(f"/staff/assessments/{assessment.id}").text
    assert "Bạn đã gửi bản tự đánh giá này nên không thể tự phê duyệt" in page
    assert f"/staff/assessments/{assessment.id}/move/approved" not in page  # no button; the post is refused
    refused = _post(client, assessment, "/move/approved")
    assert refused.status_code == 422
    assert "Bạn đã gửi bản tự đánh giá này nên không thể tự phê duyệt" in refused.text
    assert _status(client, assessment) == "Đã gửi, chờ phê duyệt"
    assert session.scalar(select(AuditLog).filter_by(action="assessment.approve")) is None
    session.refresh(assessment)  # the requests changed it in their own sessions
    with pytest.raises(service.AssessmentError) as caught:
        service.move(session, assessment, "approved", both)
    assert caught.value.reason == "own_submission"
    session.rollback()

    log_out(client)
    log_in(client, session, "approver")
    assert _post(client, assessment, "/move/approved").status_code == 303
    assert _status(client, assessment) == "Đã phê duyệt, chờ thẩm định"
