"""API tokens: created by a user for themselves (shown once, stored as a keyed hash), expiry,
revocation, last use; the CLI command."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from survey.auth import api_tokens
from survey.auth.models import AuditLog
from survey.sampling.tokens import token_hash
from tests.conftest import TEST_SECRET
from tests.factories import csrf_token, log_in, make_staff

SECRET = re.compile(r'class="secret">([^<]+)<')


def create(client, name: str = "Bảng tổng hợp", days: str = "30"):
    """Create a token on the page."""
    return client.post("/staff/tokens/", data={"csrf_token": csrf_token(client, "/staff/tokens/"),
                                               "name": name, "days": days})


def test_created_token_is_shown_once_and_stored_as_a_keyed_hash(client, session):
    """The page shows the token once (201); the database keeps its keyed hash, name, expiry; audited."""
    user = log_in(client, session, "analyst")
    made = create(client)
    assert made.status_code == 201
    secret = SECRET.search(made.text).group(1)
    assert secret.startswith("par_") and len(secret) > 40
    row = session.scalar(select(api_tokens.ApiToken))
    assert row.token_hash == token_hash(TEST_SECRET, secret, "api") != token_hash(TEST_SECRET, secret)
    assert secret not in str([getattr(row, c.name) for c in row.__table__.columns])
    assert row.name == "Bảng tổng hợp" and row.user_id == user.id
    assert timedelta(days=29) < api_tokens._aware(row.expires_at) - datetime.now(UTC) <= timedelta(days=30)
    listed = client.get("/staff/tokens/").text
    assert secret not in listed and row.hint in listed and "Đang dùng được" in listed
    entry = session.scalar(select(AuditLog).filter_by(action="api_token.created"))
    assert entry.user_id == user.id and secret not in str(entry.details)


def test_token_use_is_noted_and_revocation_stops_it(client, session):
    """Using a token notes when; revoking it on the page makes the API answer 401."""
    log_in(client, session, "coordinator")
    secret = SECRET.search(create(client).text).group(1)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    row = session.scalar(select(api_tokens.ApiToken))
    session.refresh(row)
    assert row.last_used_at is not None
    revoked = client.post(f"/staff/tokens/{row.id}/revoke",
                          data={"csrf_token": csrf_token(client, "/staff/tokens/")})
    assert revoked.status_code == 303
    assert client.get("/api/v1/units", headers=headers).status_code == 401
    assert "Đã thu hồi" in client.get("/staff/tokens/").text
    entry = session.scalar(select(AuditLog).filter_by(action="api_token.revoked"))
    assert entry.target == f"api_token:{row.id}"


def test_nobody_revokes_or_sees_another_users_token(app, client, session):
    """Another user's token is not on one's page and cannot be revoked (404)."""
    owner = make_staff(session, "analyst", email="owner@example.vn")
    theirs = api_tokens.create(session, TEST_SECRET, owner, "của người khác", 30)
    session.commit()
    log_in(client, session, "admin")
    assert "của người khác" not in client.get("/staff/tokens/").text
    answer = client.post(f"/staff/tokens/{theirs.row.id}/revoke",
                         data={"csrf_token": csrf_token(client, "/staff/tokens/")})
    assert answer.status_code == 404
    session.refresh(theirs.row)
    assert theirs.row.revoked_at is None


def test_expiry_and_bad_input(client, session):
    """A token lasts 1 to 365 days and needs a name; an expired one is refused and shown as expired."""
    user = log_in(client, session, "analyst")
    for name, days in (("x", "0"), ("x", "366"), ("", "30")):
        assert create(client, name, days).status_code == 422
    assert session.scalar(select(api_tokens.ApiToken)) is None
    made = api_tokens.create(session, TEST_SECRET, user, "cũ", 1)
    made.row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    assert client.get("/api/v1/units", headers={"Authorization": f"Bearer {made.secret}"}).status_code == 401
    assert "Đã hết hạn" in client.get("/staff/tokens/").text


def test_cli_token_create(app, runner, session):
    """`flask users token create LOGIN --name N` prints a working token once."""
    make_staff(session, "analyst", email="cli@example.vn")
    result = runner.invoke(args=["users", "token", "create", "CLI@example.vn", "--name", "máy chủ báo cáo",
                                 "--days", "10"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    answer = app.test_client().get("/api/v1/units", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    refused = runner.invoke(args=["users", "token", "create", "cli@example.vn", "--name", "x",
                                  "--days", "400"])
    assert refused.exit_code != 0 and "1 to 365" in refused.output
    assert runner.invoke(args=["users", "token", "create", "nobody@example.vn", "--name", "x"]).exit_code != 0
