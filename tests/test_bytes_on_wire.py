"""Bytes on the wire: hashed static names cached for a year, gzip when accepted, a favicon (no 404).

Sizes and request counts in a real browser are measured by benchmarks/bytes_on_wire.py.
"""

import gzip
import re

from survey.assets import IMMUTABLE
from tests.conftest import TEST_SECRET
from tests.factories import csrf_token, make_invitation

STATIC = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def first_page(client, session) -> str:
    """Start an invitation and return the first question page's URL."""
    invitation, token = make_invitation(session, TEST_SECRET)
    session.commit()
    unit = invitation.units[0].unit_id
    form = csrf_token(client, f"/r/{token}")
    started = client.post(f"/r/{token}/u/{unit}/start", data={"csrf_token": form})
    return started.headers["Location"]


def test_static_files_have_hashed_names_and_an_immutable_cache(app, client, session):
    """Every static URL a question page uses is hashed, immutable, gzip when accepted, 304 when known."""
    page = client.get(first_page(client, session), headers={"Accept-Encoding": "identity"})
    urls = STATIC.findall(page.text)
    assert {re.sub(r"\.[0-9a-f]{10}\.", ".", u) for u in urls} == {"/static/app.css", "/static/respond.js"}
    for url in urls:
        unhashed = client.get(re.sub(r"\.[0-9a-f]{10}\.", ".", url))
        plain = unhashed.get_data()
        unhashed.close()
        packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert packed.status_code == 200
        assert packed.headers["Cache-Control"] == IMMUTABLE
        assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
        assert gzip.decompress(packed.get_data()) == plain
        assert len(packed.get_data()) < len(plain) / 2
        identity = client.get(url, headers={"Accept-Encoding": "identity"})
        assert "Content-Encoding" not in identity.headers and identity.get_data() == plain
        again = client.get(url, headers={"If-None-Match": packed.headers["ETag"]})
        assert again.status_code == 304 and again.headers["Cache-Control"] == IMMUTABLE
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="app.css") in urls


def test_pages_are_gzip_encoded_when_accepted(client, session):
    """A question page is gzip-encoded for a client that accepts it, plain otherwise; Vary says so."""
    url = first_page(client, session)
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert packed.status_code == plain.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.get_data()) < len(plain.get_data()) / 2
    assert gzip.decompress(packed.get_data()).decode().startswith("<!doctype html>")
    assert packed.headers["Cache-Control"] == "no-store"  # pages still never cached
    assert "script-src 'self'" in packed.headers["Content-Security-Policy"]


def test_already_compressed_types_are_not_compressed_again(app, client):
    """A ZIP (or any type outside the text list) passes unchanged."""
    @app.get("/test-zip")
    def zipped():
        """A made-up already compressed body."""
        return b"PK" + b"\0" * 4000, 200, {"Content-Type": "application/zip"}

    answer = client.get("/test-zip", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in answer.headers and len(answer.get_data()) == 4002


def test_favicon(client, session):
    """/favicon.ico answers an icon (no 404); pages embed the icon, so browsers need not ask."""
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.headers["Cache-Control"].startswith("public, max-age=")
    page = client.get(first_page(client, session)).text
    assert '<link rel="icon" href="data:image/svg+xml,' in page
