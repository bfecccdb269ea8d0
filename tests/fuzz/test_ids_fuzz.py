"""Numbers in paths: every `<int:...>` route, any number, answers without a server error.

Regression: an id past the database's integers (/staff/entry/next/10^30/1, /staff/jobs/10^30, ...)
failed with a 500 (OverflowError on SQLite, "integer out of range" on PostgreSQL); now it matches no
route and answers 404 (survey/converters.py).
"""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey.converters import MAX_ID
from tests.conftest import TEST_SECRET
from tests.factories import log_in, make_invitation
from tests.fuzz.helpers import assert_no_server_error, fuzz_settings


@pytest.fixture
def admin(app, session):
    """An administrator's client (every staff page is open to it) and an invitation token."""
    _, token = make_invitation(session, TEST_SECRET)
    session.commit()
    client = app.test_client()
    log_in(client, session, "admin")
    return client, token


def int_rules(app) -> list[str]:
    """The GET rules with a number in the path."""
    return sorted(r.rule for r in app.url_map.iter_rules() if "<int" in r.rule and "GET" in r.methods)


def url_for_numbers(rule: str, token: str, numbers) -> str:
    """The rule with the numbers in its number places, the token and "x" in the others."""
    numbers = iter(numbers)
    url = re.sub(r"<int[^>]*>", lambda _: str(next(numbers)), rule)
    return re.sub(r"<[^>]+>", lambda m: token if m.group() == "<token>" else "x", url)


def test_ids_past_the_database_integers_are_404(app, admin):
    """Each number route with 2^31, 2^63 and 10^30: 404 as for any unknown id (405 where only another
    method's rule matches the path)."""
    client, token = admin
    for rule in int_rules(app):
        for number in (MAX_ID + 1, 2**63, 10**30):
            url = url_for_numbers(rule, token, [number] * 4)
            assert client.get(url).status_code in (404, 405), url


@fuzz_settings(examples=60)
@given(data=st.data(), numbers=st.lists(st.integers(0, 2**80), min_size=4, max_size=4))
def test_any_number_in_any_number_route(app, admin, data, numbers):
    """A random number route with random numbers: never a 5xx."""
    client, token = admin
    rule = data.draw(st.sampled_from(int_rules(app)), label="rule")
    url = url_for_numbers(rule, token, numbers)
    assert_no_server_error(client.get(url), url)


@pytest.mark.parametrize("url", ["/o/%00/g", "/o/W/%00", "/r/%00abc", "/staff/waves/%00", "/o/W%1b/g"])
def test_a_control_character_in_a_text_part_is_a_404(app, url):
    """Regression: a NUL in a wave code made PostgreSQL refuse the look-up with a 500 (the fuzz of
    unknown open links found it); a text part with a control character matches no route."""
    for method in ("GET", "POST"):
        assert app.test_client().open(url, method=method).status_code == 404
