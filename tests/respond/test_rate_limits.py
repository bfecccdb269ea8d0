"""Respondent rate limits: a valid link has its own budget; the address only pays for failed look-ups.

After an SMS blast a whole province may come from one address (a carrier's NAT, or the reverse
proxy itself when no proxy is trusted): that must not throttle anyone with a valid link, while
guessing tokens from one address stays slow.
"""

import re

import pytest

from tests.conftest import TEST_SECRET
from tests.factories import csrf_token, make_group, make_invitation, make_version, make_wave

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PROXY = {"REMOTE_ADDR": "10.0.0.1"}  # the one address everybody seems to come from
BAD = "x" * 24  # well-formed, matches no invitation


def invitations(session, count: int) -> list[tuple[int, str]]:
    """Invite `count` people of one wave and group, each to rate a unit; return (unit id, token)s."""
    wave, group, version = make_wave(session), make_group(session), make_version(session)
    made = [make_invitation(session, TEST_SECRET, wave=wave, group=group, version=version)
            for _ in range(count)]
    session.commit()
    return [(invitation.units[0].unit_id, token) for invitation, token in made]


def bad_lookups(token: str = BAD) -> list[str]:
    """Respondent URLs whose token matches nothing, over every respondent route that reads a token."""
    return [f"/r/{token}", f"/r/{token}/u/1", f"/r/{token}/u/1/p/1", f"/r/{token}/u/1/done", "/r/short"]


def test_many_respondents_behind_one_address_are_not_throttled(app, session):
    """45 respondents from one address (more than 30 a minute) open, start and answer their links."""
    codes = []
    for unit_id, token in invitations(session, 45):
        phone = app.test_client()  # each person has their own browser
        landing = phone.get(f"/r/{token}", environ_base=PROXY)
        form = CSRF.search(landing.text).group(1)
        started = phone.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": form},
                             environ_base=PROXY)
        first = started.headers["Location"]
        shown = phone.get(first, environ_base=PROXY)
        saved = phone.post(first, data={"csrf_token": form, "used": "n", "action": "submit"},
                           environ_base=PROXY)
        codes.append((landing.status_code, started.status_code, shown.status_code, saved.status_code))
    assert set(codes) == {(200, 302, 200, 302)}


def test_repeated_bad_tokens_from_one_address_are_throttled(app, session):
    """30 failed look-ups a minute from one address, over any respondent route, then 429 there only."""
    [(_, valid)] = invitations(session, 1)
    client = app.test_client()
    urls = bad_lookups() * 6
    codes = [client.get(url, environ_base=PROXY).status_code for url in urls[:30]]
    assert set(codes) == {404}
    assert client.get(f"/r/{'y' * 24}/u/1/p/1", environ_base=PROXY).status_code == 429
    started = client.post(f"/r/{BAD}/u/1/start", data={"csrf_token": csrf_token(client)}, environ_base=PROXY)
    assert started.status_code == 429
    # The address has spent its budget: it is refused until the minute is over, valid link or not.
    assert client.get(f"/r/{valid}", environ_base=PROXY).status_code == 429
    # Another address is not affected.
    elsewhere = {"REMOTE_ADDR": "10.0.0.2"}
    assert client.get(f"/r/{valid}", environ_base=elsewhere).status_code == 200
    assert client.get(f"/r/{BAD}", environ_base=elsewhere).status_code == 404


def test_valid_lookups_do_not_spend_the_address_budget(app, session):
    """Valid links opened between guesses do not count: the address still has 30 failures to spend."""
    people = invitations(session, 40)
    client = app.test_client()
    for _, token in people:
        assert client.get(f"/r/{token}", environ_base=PROXY).status_code == 200
    codes = [client.get(f"/r/{'z' * 20}{n:04d}", environ_base=PROXY).status_code for n in range(31)]
    assert codes == [404] * 30 + [429]


def test_a_valid_link_has_its_own_limit(app, session):
    """One link reloaded 30 times a minute is limited; another link from the same address is not."""
    [(_, first), (_, second)] = invitations(session, 2)
    client = app.test_client()
    codes = [client.get(f"/r/{first}", environ_base=PROXY).status_code for _ in range(31)]
    assert codes == [200] * 30 + [429]
    assert client.get(f"/r/{second}", environ_base=PROXY).status_code == 200
    # The link's own budget is not the address's: guesses from the address are still counted afresh.
    assert client.get(f"/r/{BAD}", environ_base=PROXY).status_code == 404


def test_trusted_proxy_gives_each_client_its_own_failure_budget(configured, session):
    """With SURVEY_PROXY_FIX_X_FOR=1, failed look-ups count per client address behind the proxy."""
    app = configured(PROXY_FIX_X_FOR=1)
    [(_, valid)] = invitations(session, 1)
    client = app.test_client()

    def through_proxy(url, client_address):
        return client.get(url, environ_base=PROXY,
                          headers={"X-Forwarded-For": client_address}).status_code

    assert [through_proxy(url, "203.0.113.5") for url in bad_lookups() * 6] == [404] * 30
    assert through_proxy(f"/r/{BAD}", "203.0.113.5") == 429
    assert through_proxy(f"/r/{BAD}", "203.0.113.6") == 404
    assert through_proxy(f"/r/{valid}", "203.0.113.6") == 200


@pytest.mark.parametrize("trusted", [0, 1], ids=["no-proxy-trusted", "one-proxy-trusted"])
def test_forged_forwarded_for_does_not_reset_the_budget(configured, session, trusted):
    """A client cannot escape the limit by inventing X-Forwarded-For values."""
    app = configured(PROXY_FIX_X_FOR=trusted)
    client = app.test_client()
    # Directly (no proxy in front) the forged header is ignored; through the trusted proxy, the
    # proxy appends the real address, which is the one that counts.
    def forged(n):
        fake = f"198.51.100.{n}"
        return {"X-Forwarded-For": f"{fake}, 203.0.113.9" if trusted else fake}

    codes = [client.get(f"/r/{'w' * 20}{n:04d}", environ_base=PROXY, headers=forged(n)).status_code
             for n in range(31)]
    assert codes == [404] * 30 + [429]
