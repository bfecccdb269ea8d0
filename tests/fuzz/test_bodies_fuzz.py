"""Oversized and oddly encoded bodies against the respondent, open-link and data-entry pages.

A body larger than MAX_CONTENT_LENGTH, a form field larger than MAX_FORM_MEMORY_SIZE or a form with
more parts than MAX_FORM_PARTS answers 413 (the error page), never 500, and stores nothing.
"""

import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from survey.responses.models import Answer
from tests.factories import log_in
from tests.fuzz.helpers import assert_no_server_error, check_database, csrf_of, fresh_address, fuzz_settings

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
LIMIT = 64 * 1024


@pytest.fixture
def small_limit(app):
    """Lower MAX_CONTENT_LENGTH for these tests (read at each request), so that bodies stay small."""
    app.config["MAX_CONTENT_LENGTH"] = LIMIT
    app.config["MAX_FORM_MEMORY_SIZE"] = LIMIT // 2
    return LIMIT


def started(app, world):
    """A respondent with a started draft: (client, csrf token, page 1 URL)."""
    _, (unit_id,), token = world.invite()
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = fresh_address()
    csrf = csrf_of(client, token)
    client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": csrf})
    return client, csrf, f"/r/{token}/u/{unit_id}/p/1"


def answers(session) -> int:
    """Count stored answers."""
    session.rollback()
    return session.scalar(select(func.count()).select_from(Answer))


BIG_SHAPES = st.sampled_from(["urlencoded", "multipart-field", "multipart-file", "raw", "parts", "chunked"])


def big_request(shape: str, size: int, csrf: str) -> dict:
    """The test client's arguments for a body of about `size` bytes in one of several shapes."""
    if shape == "urlencoded":
        return {"data": {"csrf_token": csrf, "used": "y", "age": "3" * size}}
    if shape == "multipart-field":
        return {"data": {"csrf_token": csrf, "used": "y", "comment": "ệ" * (size // 3)},
                "content_type": "multipart/form-data"}
    if shape == "multipart-file":
        return {"data": {"csrf_token": csrf, "used": (io.BytesIO(b"\0" * size), "big.bin")},
                "content_type": "multipart/form-data"}
    if shape == "parts":  # many small fields: more parts than MAX_FORM_PARTS (encoded here, in memory)
        boundary, body = encode_multipart(MultiDict([("csrf_token", csrf)] + [("used", "y")] * (size // 16)))
        return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}
    if shape == "chunked":  # no Content-Length: the limit must hold while reading the stream
        return {"input_stream": io.BytesIO(b"csrf_token=" + csrf.encode() + b"&age=" + b"1" * size),
                "content_type": "application/x-www-form-urlencoded",
                "headers": {"Transfer-Encoding": "chunked"},
                "environ_overrides": {"wsgi.input_terminated": True}}  # as gunicorn says of a chunked body
    return {"data": b"csrf_token=" + csrf.encode() + b"&used=" + b"\xff" * size,
            "content_type": "application/x-www-form-urlencoded"}


@fuzz_settings(examples=30)
@given(shape=BIG_SHAPES, size=st.integers(LIMIT // 2, 3 * LIMIT))
def test_oversized_bodies_get_413_never_500(app, session, small_limit, world, shape, size):
    """Bodies around and over the limits: 413 or a normal answer, nothing stored from a refused body."""
    client, csrf, url = started(app, world)
    before = answers(session)
    response = client.post(url, **big_request(shape, size, csrf))
    assert_no_server_error(response, f"{shape} of {size} bytes")
    if size > LIMIT and shape != "parts":
        assert response.status_code == 413, (shape, size, response.status_code)
    if response.status_code == 413:
        assert answers(session) == before
        assert "quá lớn" in response.get_data(as_text=True)
    check_database(session)


def test_body_over_the_default_limit_is_413(app, session, world):
    """The real default (16 MiB) holds too: one body a byte over it answers 413, not 500."""
    client, csrf, url = started(app, world)
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(url, data=b"csrf_token=" + csrf.encode() + b"&age=" + b"1" * limit,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


def test_oversized_bodies_on_open_link_and_data_entry(app, session, small_limit, world):
    """The open link and the clerk's pages refuse an oversized body with 413 too."""
    url, unit_id = f"/o/{world.wave_code}/{world.group_code}", world.unit_ids[0]
    client = app.test_client()
    csrf = CSRF.search(client.get(url).text).group(1)
    assert client.post(url, data={"csrf_token": csrf, "unit": str(unit_id) + "0" * LIMIT}).status_code == 413
    clerk = app.test_client()
    log_in(clerk, session, "data_entry")
    start = url.replace("/o/", "/staff/entry/")
    csrf = CSRF.search(clerk.get(start).text).group(1)
    response = clerk.post(start, data={"csrf_token": csrf, "unit_code": world.unit_codes[0],
                                       "form_number": "1", "mode": "paper", "cluster": "c" * 2 * LIMIT})
    assert response.status_code == 413


def test_chunked_body_over_the_limit_is_refused_not_cut(app, session, small_limit, world):
    """Regression: a chunked body over MAX_CONTENT_LENGTH was cut at the limit and its start saved.

    Werkzeug reads a streamed body only up to the limit; survey/bodylimit.py gives it a length first.
    """
    client, csrf, url = started(app, world)
    streamed = {"content_type": "application/x-www-form-urlencoded",
                "headers": {"Transfer-Encoding": "chunked"},
                "environ_overrides": {"wsgi.input_terminated": True}}
    head = b"csrf_token=" + csrf.encode() + b"&used=n&age=30&action=next&comment="
    cut = client.post(url, input_stream=io.BytesIO(head + b"x" * LIMIT), **streamed)
    assert cut.status_code == 413 and answers(session) == 0
    whole = client.post(url, input_stream=io.BytesIO(head), **streamed)
    assert whole.status_code == 302 and answers(session) == 2  # used and age, read from the whole body
