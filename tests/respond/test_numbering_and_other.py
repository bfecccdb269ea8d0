"""Respondent pages (issue 13.3): one numbering, a stable progress total, "other, please specify",
conditions in words where a follow-up cannot be hidden, and the deadline and contact on entry and
error pages. Without JavaScript (the test client); tests/browser/test_respondent_page.py with it."""

import re
from datetime import date, timedelta

from sqlalchemy import select

from survey.responses.models import Answer, Response
from survey.sampling.models import Wave
from tests.conftest import TEST_SECRET
from tests.factories import csrf_token, make_invitation, make_version, make_wave


def _options(*pairs):
    return [{"code": code, "label": {"vi": vi, "en": en}} for code, vi, en in pairs]


FORM = {
    "id": "numbered", "version": "1", "title": {"vi": "Phiếu đánh số", "en": "Numbered form"},
    "sections": [
        {"id": "first", "title": {"vi": "Hồ sơ của Ông/Bà", "en": "Your case"}, "items": [
            {"id": "intro", "type": "note",
             "label": {"vi": "Xin trả lời về lần gần nhất.", "en": "Last time."}},
            {"id": "result", "type": "single_choice", "required": True, "other_specify": "X",
             "label": {"vi": "Kết quả được trả thế nào?", "en": "How was the result delivered?"},
             "options": _options(("1", "Đúng hẹn", "On time"), ("2", "Sớm hơn hẹn", "Early"),
                                 ("3", "Trễ hẹn", "Late"), ("X", "Khác", "Other"))},
            {"id": "apology", "type": "single_choice", "relevant": "${result} = '3'",
             "label": {"vi": "Có văn bản xin lỗi không?", "en": "Was there an apology?"},
             "options": _options(("1", "Có", "Yes"), ("2", "Không", "No"))},
        ]},
        {"id": "on_time", "title": {"vi": "2. Khi đúng hẹn", "en": "2. When on time"},
         "relevant": "${result} = '1'", "items": [
             {"id": "pleased", "type": "single_choice", "label": {"vi": "Hài lòng?", "en": "Pleased?"},
              "options": _options(("1", "Có", "Yes"), ("2", "Không", "No"))}]},
        {"id": "last", "title": {"vi": "Mong đợi", "en": "Wishes"}, "items": [
            {"id": "wish", "type": "multiple_choice", "max": 2, "other_specify": "X",
             "label": {"vi": "Mong muốn gì?", "en": "What do you wish?"},
             "options": _options(("a", "Nhanh hơn", "Faster"), ("b", "Rẻ hơn", "Cheaper"),
                                 ("X", "Nội dung khác", "Something else"))}]},
    ],
}


def _start(client, session, **wave):
    """Invite a respondent to FORM in a wave with a contact; return (token, first page URL, csrf)."""
    wave = make_wave(session, contact_phone="1900 9999", contact_email="cchc@snv.example.vn", **wave)
    invitation, token = make_invitation(session, TEST_SECRET, wave=wave, version=make_version(session, FORM))
    session.commit()
    form = csrf_token(client, f"/r/{token}")
    url = client.post(f"/r/{token}/u/{invitation.units[0].unit_id}/start",
                      data={"csrf_token": form}).headers["Location"]
    return token, url, form, invitation


def _heading(text: str) -> str:
    inner = re.search(r"(?s)<h1[^>]*>(.*?)</h1>", text).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", inner)).strip()


def _numbers(text: str) -> list[str]:
    return re.findall(r'<span class="number">([0-9.]+)</span>', text)


def test_heading_questions_and_progress_share_one_number(client, session):
    """Section 1 holds 1.1 and 1.2 (the note and the "other" text have none); progress is "Phần 1/3"."""
    _, url, _, _ = _start(client, session)
    page = client.get(url).text
    assert _heading(page) == "1. Hồ sơ của Ông/Bà"
    assert "Phần 1/3" in page and _numbers(page) == ["1.", "1.1", "1.2"]


def test_progress_total_is_stable_and_a_title_number_is_not_repeated(client, session):
    """Answers that skip section 2 keep the total at 3 and say that 2 was skipped; answers that show it
    give "2. Khi đúng hẹn" (its written "2." dropped), never "2. 2."."""
    _, url, form, _ = _start(client, session)
    skipped = client.post(url, data={"csrf_token": form, "result": "2", "action": "next"})
    last = client.get(skipped.headers["Location"]).text
    assert skipped.headers["Location"].endswith("/p/3")
    assert "Phần 3/3" in last and _heading(last) == "3. Mong đợi"
    assert "Phần 2 không áp dụng với Ông/Bà nên được bỏ qua." in last
    shown = client.post(url, data={"csrf_token": form, "result": "1", "action": "next"})
    middle = client.get(shown.headers["Location"]).text
    assert "Phần 2/3" in middle and _heading(middle) == "2. Khi đúng hẹn" and "bỏ qua" not in middle
    assert _numbers(middle) == ["2.", "2.1"]


def test_follow_up_on_the_page_says_when_to_answer_it(client, session):
    """Without JavaScript the late-file follow-up stays on the page, saying when it applies in words."""
    _, url, _, _ = _start(client, session)
    page = client.get(url).text
    condition = "Chỉ trả lời nếu ở câu 1.1 Ông/Bà chọn «Trễ hẹn»"
    assert f'<p class="condition" id="q-apology-condition">{condition}</p>' in page
    # the "other" text says when in its own label, so it carries no condition line
    assert "Nếu chọn «Khác», xin ghi rõ:" in page and 'id="q-result_other-condition"' not in page


def test_other_needs_its_text_and_the_text_is_kept_with_the_answer(client, session):
    """"Khác" without text: 422 saying so, nothing lost; with text: both stored; another option: the
    text is ignored (not stored)."""
    _, url, form, _ = _start(client, session)
    empty = client.post(url, data={"csrf_token": form, "result": "X", "result_other": " ", "action": "next"})
    assert empty.status_code == 422
    assert "Ông/Bà đã chọn «Khác»: xin ghi rõ đó là gì vào ô bên dưới, hoặc bỏ chọn «Khác»." in empty.text
    assert re.search(r'<input checked id="result-3"[^>]*value="X"', empty.text)  # the choice is kept
    written = client.post(url, data={"csrf_token": form, "result": "X", "result_other": "Qua bưu điện",
                                     "action": "next"})
    assert written.status_code == 302
    session.expire_all()
    answers = {a.item_id: a.value for a in session.scalars(select(Answer))}
    assert answers["result"] == "X" and answers["result_other"] == "Qua bưu điện"
    client.post(url, data={"csrf_token": form, "result": "2", "result_other": "bỏ đi", "action": "next"})
    session.expire_all()
    answers = {a.item_id: a.value for a in session.scalars(select(Answer))}
    assert answers["result"] == "2" and "result_other" not in answers


def test_other_of_a_multiple_choice_and_its_maximum(client, session):
    """A multiple choice's "other" text is required only while "Nội dung khác" is ticked; its maximum
    counts "other" as one choice."""
    _, url, form, _ = _start(client, session)
    last = client.post(url, data={"csrf_token": form, "result": "2", "action": "next"}).headers["Location"]
    many = client.post(last, data={"csrf_token": form, "wish": ["a", "b", "X"], "wish_other": "Thân thiện",
                                   "action": "submit"})
    assert many.status_code == 422 and "Vui lòng chọn nhiều nhất 2 phương án." in many.text
    bare = client.post(last, data={"csrf_token": form, "wish": ["a", "X"], "action": "submit"})
    assert bare.status_code == 422 and "xin ghi rõ đó là gì" in bare.text
    done = client.post(last, data={"csrf_token": form, "wish": ["a", "X"], "wish_other": "Thân thiện",
                                   "action": "submit"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/done")
    session.expire_all()
    response = session.scalars(select(Response).where(Response.status == "complete")).one()
    assert {a.item_id: a.value for a in response.answers} == {
        "result": "2", "wish": ["a", "X"], "wish_other": "Thân thiện"}


def test_landing_and_error_pages_give_the_deadline_and_contact(client, session):
    """The landing page, a 404 under a valid link and the closed page name the deadline and contact."""
    token, _, _, invitation = _start(client, session)
    closes = invitation.wave.closes_on.strftime("%d/%m/%Y")
    for response in (client.get(f"/r/{token}"), client.get(f"/r/{token}/u/999999")):
        assert f"Hạn trả lời: {closes}." in response.text
        assert 'href="tel:19009999">1900 9999</a>' in response.text
        assert 'href="mailto:cchc@snv.example.vn">cchc@snv.example.vn</a>' in response.text
    assert client.get(f"/r/{token}/u/999999").status_code == 404
    wave = session.get(Wave, invitation.wave_id)
    wave.closes_on = date.today() - timedelta(days=1)
    session.commit()
    closed = client.get(f"/r/{token}/u/{invitation.units[0].unit_id}/p/1")
    assert closed.status_code == 410 and "1900 9999" in closed.text


def test_a_wrong_link_names_the_contact_of_the_one_open_wave(client, session):
    """An unknown token (a link cut or mistyped): 404 with the open wave's deadline and contact;
    with two waves open, or none, no wave is guessed."""
    wave = make_wave(session, contact_phone="1900 9999")
    make_wave(session, status="closed")
    session.commit()
    for path in ("/r/" + "x" * 24, "/r/short"):
        page = client.get(path)
        assert page.status_code == 404
        closes = wave.closes_on.strftime("%d/%m/%Y")
        assert "1900 9999" in page.text and f"Hạn trả lời: {closes}." in page.text
    make_wave(session, contact_phone="1800 1111")
    session.commit()
    page = client.get("/r/" + "y" * 24)
    assert page.status_code == 404 and "1900 9999" not in page.text and "Hạn trả lời" not in page.text


def test_without_a_contact_the_deadline_still_shows(client, session):
    """A wave without hotline or e-mail: the deadline alone, no empty contact line."""
    wave = make_wave(session)
    invitation, token = make_invitation(session, TEST_SECRET, wave=wave)
    session.commit()
    page = client.get(f"/r/{token}").text
    assert f"Hạn trả lời: {wave.closes_on.strftime('%d/%m/%Y')}." in page and "Cần hỗ trợ" not in page
