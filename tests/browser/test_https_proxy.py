"""The app as it runs in production: gunicorn in production mode behind a TLS-terminating proxy.

Chromium logs a staff member in and a respondent answers and submits, all over https://. Before
Referrer-Policy became same-origin, every form post here failed Flask-WTF's strict HTTPS referrer
check ("Phiên làm việc đã hết hạn"): the browser sent no Referer at all.
"""

import os
import re
import secrets
import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from survey.responses.models import HeldSubmission, Response
from survey.responses.release import release
from survey.sampling.models import WaveGroup
from tests.browser.conftest import PHONE
from tests.browser.helpers import press
from tests.browser.tls_proxy import Gunicorn, TLSProxy, self_signed_certificate
from tests.factories import STAFF_PASSWORD, make_invitation, make_staff

PRODUCTION_SECRET = secrets.token_urlsafe(48)


@pytest.fixture
def behind_proxy(app, tmp_path):
    """The test database served by gunicorn in production mode, behind one TLS-terminating proxy."""
    try:
        cert, key = self_signed_certificate(tmp_path)
    except FileNotFoundError as missing:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{missing} (REQUIRE_BROWSER=1)")
        pytest.skip(str(missing))
    server = Gunicorn({
        "SURVEY_ENV": "production",
        "SURVEY_SECRET_KEY": PRODUCTION_SECRET,
        "SURVEY_DATABASE_URL": app.config["DATABASE_URL"],
        "SURVEY_INSTANCE_PATH": str(tmp_path / "production-instance"),
        # As in production: limits and lock-outs shared by the workers through Redis.
        "SURVEY_RATELIMIT_STORAGE_URI": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "SURVEY_RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
        "SURVEY_PROXY_FIX_X_FOR": "1",
        "SURVEY_PROXY_FIX_X_PROTO": "1",
        "SURVEY_PROXY_FIX_X_HOST": "1",
    }, tmp_path / "gunicorn.log")
    try:
        with TLSProxy(server.port, cert, key) as proxy:
            yield proxy
    finally:
        server.stop()


@pytest.fixture
def https_context(browser):
    """A browser session that accepts the proxy's self-signed certificate; records every response."""
    context = browser.new_context(viewport=PHONE, locale="vi-VN", ignore_https_errors=True)
    context.seen = []
    context.on("response", lambda r: context.seen.append((urlsplit(r.url).path, r.status, r.headers)))
    yield context
    context.close()


def test_staff_login_over_https_behind_proxy(behind_proxy, https_context, session):
    """A coordinator logs in over HTTPS; the session cookie is Secure; URLs use the public host."""
    staff = make_staff(session, "coordinator")
    invitation, _ = make_invitation(session, PRODUCTION_SECRET)
    session.scalar(select(WaveGroup).filter_by(wave_id=invitation.wave_id)).open_link = True
    session.commit()
    page = https_context.new_page()

    page.goto(f"{behind_proxy.url}/staff/login")
    page.fill("input[name=email]", staff.email)
    page.fill("input[name=password]", STAFF_PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "Phiên làm việc đã hết hạn" not in page.text_content("body")
    assert page.url == f"{behind_proxy.url}/staff/"
    assert page.text_content("h1") == "Các đợt khảo sát"

    cookie = next(c for c in https_context.cookies() if c["name"] == "session")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    # The login post carried a same-origin Referer through the proxy, which Flask-WTF checked.
    posted = [h for m, p, h in behind_proxy.requests if m == "POST" and p == "/staff/login"]
    assert posted and posted[0]["Referer"] == f"{behind_proxy.url}/staff/login"
    path, status, headers = next(s for s in https_context.seen if s[0] == "/staff/")
    assert status == 200 and headers["strict-transport-security"] == "max-age=31536000"
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "same-origin"

    # X-Forwarded-Proto and -Host are trusted: the poster's link is the public https:// address.
    page.goto(f"{behind_proxy.url}/staff/waves/{invitation.wave.code}/{invitation.group.code}/poster")
    link = f"{behind_proxy.url}/o/{invitation.wave.code}/{invitation.group.code}"
    assert page.text_content(".poster code") == link


def test_respondent_answers_over_https_behind_proxy(behind_proxy, https_context, session):
    """A respondent starts, answers and submits over HTTPS; pages are no-store, static files are not."""
    invitation, token = make_invitation(session, PRODUCTION_SECRET)
    session.commit()
    page = https_context.new_page()

    page.goto(f"{behind_proxy.url}/r/{token}")
    with page.expect_navigation():
        page.locator("ul.units button").first.click()  # "Bắt đầu"
    assert re.search(r"/p/1$", page.url), page.text_content("main")
    page.check("input[name=used][value=y]")
    page.fill("input[name=age]", "41")
    press(page)
    assert page.url.endswith("/p/2")
    page.check("input[name=m1_signs][value='4']")
    page.check("input[name=wish][value=b]")
    press(page)
    assert page.url.startswith("https://") and page.url.endswith("/done")
    assert "đã được ghi nhận" in page.text_content("main")
    # On a shared device the next person presses Back: the server, seeing the unit answered, shows
    # the thanks page, not the answers (no-store, checked below, keeps them out of the cache).
    page.go_back()
    assert page.url.endswith("/done") and page.locator("input[name=m1_signs]").count() == 0

    session.expire_all()
    # Production holds a submission until its cell has k of them (SURVEY_RELEASE_BATCH, default 5):
    # one is held, none released; the end-of-wave release (--force) brings it out whole.
    assert session.scalar(select(func.count()).select_from(HeldSubmission)) == 1
    assert session.scalar(select(func.count()).select_from(Response)) == 0
    release(session, 5, force=True)
    session.commit()
    stored = session.scalars(select(Response).where(Response.status == "complete")).one()
    assert {a.item_id: a.value for a in stored.answers} == {
        "used": "y", "age": 41.0, "m1_signs": "4", "wish": ["b"]}

    answers = [s for s in https_context.seen if s[0].startswith("/r/")]
    assert len(answers) >= 6 and all(h["cache-control"] == "no-store" for _, _, h in answers)
    assert all("strict-transport-security" in h for _, _, h in answers)
    static = [s for s in https_context.seen if s[0].startswith("/static/")]
    assert static and all(h.get("cache-control") != "no-store" for _, _, h in static)
