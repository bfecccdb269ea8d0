"""Fuzzing the respondent pages (/r/<token>): random bodies, encodings and page orders.

Each example makes a new invitation, then walks its pages in a random order (out of order, skipping,
replaying, after submission), posting random bodies with a valid, missing or wrong CSRF token. After
every request: no 5xx. After every example: the database invariants of tests/fuzz/helpers.py (every
stored value within its item's options or bounds, submitted responses whole, at most one response
per invitation unit).
"""

from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import select

from survey.definitions import load
from survey.sampling.models import InvitationUnit
from tests.fuzz.helpers import (
    FUZZ_QUESTIONNAIRE,
    assert_no_server_error,
    check_database,
    csrf_of,
    fresh_address,
    fuzz_settings,
)
from tests.fuzz.strategies import PRINTABLE, bodies, walk

DEFINITION = load.from_document(FUZZ_QUESTIONNAIRE)
PAGES = len(DEFINITION.sections)
def step_strategy():
    """One thing a browser does: look at a page, post a page (any number, the body any), start, resume."""
    page = st.integers(min_value=0, max_value=PAGES + 1)
    post = st.tuples(st.just("post"), page, st.integers(0, PAGES - 1).flatmap(
        lambda i: bodies(DEFINITION, i)) | bodies(DEFINITION))
    return st.one_of(post, post, post, st.tuples(st.just("get"), page, st.none()),
                     st.tuples(st.just("walk"), st.none(), walk(DEFINITION)),
                     st.tuples(st.sampled_from(["start", "resume", "done", "landing"]), st.none(), st.none()),
                     st.tuples(st.just("other_unit"), st.none(), st.none()))


def run_steps(client, token: str, unit_id: int, other_unit: int, steps) -> None:
    """Play the steps against one invitation's unit, asserting no server error on each."""
    csrf = csrf_of(client, token)
    for kind, number, body in steps:
        if kind == "post":
            url = f"/r/{token}/u/{unit_id}/p/{number}"
            response = client.post(url, **body.request_kwargs(csrf))
        elif kind == "walk":  # the pages in order, valid answers, submit at the end (used=y shows page 2)
            for index, page_body in enumerate(body, start=1):
                url = f"/r/{token}/u/{unit_id}/p/{index}"
                response = client.post(url, **page_body.request_kwargs(csrf))
                assert_no_server_error(response, f"walk {url}")
        elif kind == "get":
            url = f"/r/{token}/u/{unit_id}/p/{number}"
            response = client.get(url)
        elif kind == "start":
            url = f"/r/{token}/u/{unit_id}/start"
            response = client.post(url, data={"csrf_token": csrf})
        elif kind == "other_unit":
            url = f"/r/{token}/u/{other_unit}/start"
            response = client.post(url, data={"csrf_token": csrf})
        elif kind == "landing":
            url = f"/r/{token}"
            response = client.get(url)
        else:
            url = f"/r/{token}/u/{unit_id}/{kind}" if kind == "done" else f"/r/{token}/u/{unit_id}"
            response = client.get(url)
        assert_no_server_error(response, f"{kind} {url}")
        event(f"{kind} -> {response.status_code}")


@fuzz_settings(examples=100)
@given(steps=st.lists(step_strategy(), min_size=1, max_size=8), begin=st.booleans())
def test_respondent_pages_survive_anything(app, session, world, steps, begin):
    """Random page orders and bodies: never a 5xx, never a bad value stored, one response per unit."""
    _, (unit_id,), token = world.invite()
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = fresh_address()
    if begin:
        steps = [("start", None, None), *steps]
    run_steps(client, token, unit_id, unit_id + 1000, steps)
    event(f"units done so far: {check_database(session)['done'] > 0}")


@fuzz_settings(examples=40)
@given(steps=st.lists(step_strategy(), min_size=1, max_size=6), tabs=st.integers(2, 3))
def test_several_tabs_of_one_invitation(app, session, world, steps, tabs):
    """One invitation answered in several tabs (separate sessions) at random: still one response per unit."""
    _, (unit_id,), token = world.invite()
    clients = [app.test_client() for _ in range(tabs)]
    address = fresh_address()
    for client in clients:
        client.environ_base["REMOTE_ADDR"] = address
        client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": csrf_of(client, token)})
    for index, step in enumerate(steps):
        run_steps(clients[index % tabs], token, unit_id, unit_id + 1000, [step])
    counts = check_database(session)
    done = session.scalar(select(InvitationUnit.status).filter_by(unit_id=unit_id).order_by(
        InvitationUnit.invitation_id.desc()).limit(1))
    assert done in ("in_progress", "done") and counts["done"] >= 0


@fuzz_settings(examples=60)
@given(token=PRINTABLE, unit=st.integers(0, 2**40), number=st.integers(0, 2**40),
       method=st.sampled_from("GP"))
def test_unknown_tokens_and_numbers(app, token, unit, number, method):
    """Tokens, unit ids and page numbers nobody was given answer 404 (or 429), never 5xx."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = fresh_address()
    for url in (f"/r/{token}", f"/r/{token}/u/{unit}", f"/r/{token}/u/{unit}/p/{number}",
                f"/r/{token}/u/{unit}/done"):
        response = client.open(url, method="GET" if method == "G" else "POST")
        assert_no_server_error(response, url)
        assert response.status_code in (400, 404, 405, 429), (url, response.status_code)
