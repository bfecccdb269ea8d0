"""Behind a reverse proxy: which X-Forwarded-* headers are trusted, and CSRF stays strict over HTTPS."""

import pytest
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix

from survey.config import ConfigError
from survey.sampling.models import WaveGroup
from tests.conftest import TEST_SECRET, RequestContextClient
from tests.factories import STAFF_PASSWORD, csrf_token, log_in, make_invitation, make_staff

PUBLIC = "khaosat.sonoivu.example.vn"
# What a TLS-terminating proxy on 10.0.0.1 adds to a request from a phone at 203.0.113.7.
FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC}
PROXY = {"REMOTE_ADDR": "10.0.0.1"}


class ThroughProxy(RequestContextClient):
    """A client whose every request goes through the TLS-terminating proxy (from 10.0.0.1, forwarded)."""

    def open(self, *args, **kwargs):
        """Add what the proxy adds."""
        kwargs["headers"] = FORWARDED | dict(kwargs.get("headers") or {})
        kwargs.setdefault("environ_base", PROXY)
        return super().open(*args, **kwargs)


@pytest.fixture
def poster_path(session):
    """The path of an open link's poster, whose text shows the link as an absolute URL."""
    invitation, _ = make_invitation(session, TEST_SECRET)
    session.scalar(select(WaveGroup).filter_by(wave_id=invitation.wave_id)).open_link = True
    session.commit()
    return (f"/staff/waves/{invitation.wave.code}/{invitation.group.code}/poster",
            f"/o/{invitation.wave.code}/{invitation.group.code}")


def test_forwarded_headers_are_ignored_by_default(client, session, poster_path):
    """Without SURVEY_PROXY_FIX_*, a client cannot pose as HTTPS or another host with forged headers."""
    poster, link = poster_path
    log_in(client, session, "coordinator")
    page = client.get(poster, headers=FORWARDED, environ_base=PROXY)
    assert page.status_code == 200
    assert f"<code class=\"link\">http://localhost{link}</code>" in page.text and PUBLIC not in page.text
    assert not isinstance(client.application.wsgi_app, ProxyFix)


def test_trusted_proxy_sets_scheme_and_host(configured, session, poster_path):
    """With one trusted proxy, the public scheme and host come from X-Forwarded-Proto and -Host."""
    poster, link = poster_path
    app = configured(PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1, PROXY_FIX_X_HOST=1)
    client = app.test_client()
    log_in(client, session, "coordinator")
    page = client.get(poster, headers=FORWARDED, environ_base=PROXY)
    assert f"<code class=\"link\">https://{PUBLIC}{link}</code>" in page.text


def test_proxy_settings_come_from_the_environment(configured, monkeypatch):
    """SURVEY_PROXY_FIX_* variables set how many proxies each header trusts; nonsense is refused."""
    monkeypatch.setenv("SURVEY_PROXY_FIX_X_FOR", "2")
    monkeypatch.setenv("SURVEY_PROXY_FIX_X_PROTO", "1")
    wrapped = configured().wsgi_app
    assert isinstance(wrapped, ProxyFix)
    trusted = (wrapped.x_for, wrapped.x_proto, wrapped.x_host, wrapped.x_port, wrapped.x_prefix)
    assert trusted == (2, 1, 0, 0, 0)
    for wrong in ("-1", "yes", "true", "1.5"):
        monkeypatch.setenv("SURVEY_PROXY_FIX_X_HOST", wrong)
        with pytest.raises(ConfigError, match="PROXY_FIX_X_HOST"):
            configured()


@pytest.fixture
def production(configured):
    """The app in production mode behind one trusted TLS-terminating proxy; a client that goes through it."""
    app = configured(ENV="production", TESTING=False, PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1,
                     PROXY_FIX_X_HOST=1, RATELIMIT_SINGLE_PROCESS=True)  # one process: the test client
    app.test_client_class = ThroughProxy
    return app.test_client()


def login_form(client, staff, referer=None):
    """Post the login form with a fresh form token and the given Referer (None: no header)."""
    token = csrf_token(client)
    return client.post("/staff/login", headers={"Referer": referer} if referer else {},
                       data={"csrf_token": token, "email": staff.email, "password": STAFF_PASSWORD})


@pytest.mark.parametrize("referer", [None, "https://attacker.example/staff/login",
                                     f"http://{PUBLIC}/staff/login"],
                         ids=["no-referer", "other-site", "plain-http"])
def test_https_posts_need_a_same_origin_referer(production, session, referer):
    """Over HTTPS, Flask-WTF's strict check stays on: a post without a same-origin Referer is refused."""
    staff = make_staff(session, "coordinator")
    refused = login_form(production, staff, referer)
    assert refused.status_code == 400 and "Phiên làm việc đã hết hạn" in refused.text


def test_https_login_with_same_origin_referer(production, session):
    """The Referer a browser sends under Referrer-Policy: same-origin passes; cookies are Secure."""
    staff = make_staff(session, "coordinator")
    landing = production.get("/staff/login")
    assert landing.headers["Referrer-Policy"] == "same-origin"
    assert landing.headers["Strict-Transport-Security"] == "max-age=31536000"
    accepted = login_form(production, staff, f"https://{PUBLIC}/staff/login")
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/staff/"
    cookie = accepted.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = production.get("/staff/")
    assert home.status_code == 200 and home.headers["Cache-Control"] == "no-store"
