"""`flask setup` (what `make run` does): migrate, load, seed once, print working links."""

import re

from sqlalchemy import func, select

from survey import demo
from survey.db import db
from survey.models import Base


def row_counts(app) -> dict:
    """Count the rows of every table."""
    with app.app_context():
        return {t.name: db.session.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables}


def test_setup_twice_adds_no_rows(fresh):
    """A second setup adds nothing and prints the same links."""
    runner = fresh.test_cli_runner()
    first = runner.invoke(args=["setup", "--port", "8123"])
    assert first.exit_code == 0, first.output
    counts = row_counts(fresh)
    assert counts["units"] > 10 and counts["invitations"] > 10 and counts["users"] == 1
    second = runner.invoke(args=["setup", "--port", "8123"])
    assert second.exit_code == 0, second.output
    assert "already seeded, nothing added" in second.output
    assert row_counts(fresh) == counts
    links = re.findall(r"http://127\.0\.0\.1:8123/r/[\w-]+", first.output)
    assert len(links) == 2 and links == re.findall(r"http://127\.0\.0\.1:8123/r/[\w-]+", second.output)


def test_printed_links_and_login_work(fresh):
    """The printed invitation links open their landing pages and the demo login reaches home."""
    output = fresh.test_cli_runner().invoke(args=["setup"]).output
    client = fresh.test_client()
    citizen, leader = re.findall(r"/r/[\w-]+", output)
    page = client.get(citizen)
    assert page.status_code == 200 and page.text.count('class="status not_started"') == 1
    assert "Sở Nội vụ tỉnh Quảng Ngãi tổ chức khảo sát này" in page.text
    leader_page = client.get(leader).text
    assert leader_page.count('class="status not_started"') == 3
    login = client.get("/staff/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login.text).group(1)
    response = client.post("/staff/login", data={"csrf_token": token,
                                                 "email": demo.COORDINATOR_EMAIL,
                                                 "password": demo.COORDINATOR_PASSWORD},
                           follow_redirects=True)
    assert response.status_code == 200
    assert demo.WAVE_CODE in response.text and "Người dân" in response.text
    assert "Tỷ lệ" in response.text and re.search(r"<td>\d+%</td>", response.text)


def test_wrong_password_is_refused(fresh):
    """A wrong password shows an error and does not log in."""
    fresh.test_cli_runner().invoke(args=["setup"])
    client = fresh.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/staff/login").text).group(1)
    response = client.post("/staff/login", data={"csrf_token": token,
                                                 "email": demo.COORDINATOR_EMAIL,
                                                 "password": "wrong"})
    assert "không đúng" in response.text
    assert client.get("/staff/").status_code == 302


def test_unknown_token_is_404(client):
    """A guessed token answers 404 with a helpful page."""
    response = client.get("/r/" + "A" * 24)
    assert response.status_code == 404 and "Không tìm thấy trang" in response.text
