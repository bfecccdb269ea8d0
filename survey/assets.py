"""Bytes on the wire: static files under content-hashed names, gzip for pages, and the favicon.

- Static files are read once when the app starts, named by their content (`app.css` is served as
  `app.3f2a9c01d4.css`), gzip-compressed once, and served with `Cache-Control: public,
  max-age=31536000, immutable`: a browser fetches each version once and never asks again, and a
  changed file gets a new name. `url_for('static', filename='app.css')` gives the hashed URL, so
  templates and the Content-Security-Policy (`'self'`) stay as they are. The plain names are still
  served (Flask's own view: revalidated on each use).
- Pages and other text answers (HTML, JSON, CSV, JavaScript, CSS, SVG) of 512 bytes or more are
  gzip-compressed when the client accepts gzip, with `Vary: Accept-Encoding`. Files that are
  compressed already (ZIP, XLSX, PDF, PNG, ...) are never compressed again.
- The favicon is embedded in every page as a data: URI (no request), and `/favicon.ico` answers it
  for clients that ask anyway (no 404).

Compressing a page that holds a secret (the CSRF token) next to text an attacker chooses can leak
the secret to someone who sees the encrypted sizes of many responses (BREACH). Here the token is
session-bound and signed with a timestamp, pages reflect only what the person typed in a
CSRF-protected post, and invitation tokens are in the URL, not the body.
"""

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import Flask, Response, current_app, request

IMMUTABLE = "public, max-age=31536000, immutable"
FAVICON_CACHE = "public, max-age=86400"
COMPRESSIBLE = frozenset({
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript", "text/xml",
    "application/javascript", "application/json", "application/problem+json", "application/xml",
    "image/svg+xml"})
MIN_SIZE = 512  # below this, gzip's header and the Vary costs more than it saves
FAVICON = "favicon.svg"


@dataclass(frozen=True)
class Asset:
    """One static file: its hashed name, its bytes, its gzip bytes (None when not worth it)."""

    name: str
    hashed: str
    body: bytes
    gzipped: bytes | None
    mimetype: str


def hashed_name(name: str, body: bytes) -> str:
    """Return `dir/stem.<10 hex of sha256>.suffix` for a file's relative name and content."""
    path = Path(name)
    digest = hashlib.sha256(body).hexdigest()[:10]
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def build(folder: str | Path) -> dict[str, Asset]:
    """Read every file under the static folder; return its Asset by plain name."""
    assets = {}
    root = Path(folder)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        body = path.read_bytes()
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        packed = gzip.compress(body, compresslevel=9, mtime=0) if mimetype in COMPRESSIBLE else None
        worth = packed is not None and len(body) >= MIN_SIZE and len(packed) < len(body)
        assets[name] = Asset(name, hashed_name(name, body), body, packed if worth else None, mimetype)
    return assets


def accepts_gzip() -> bool:
    """Tell whether the request's Accept-Encoding allows gzip."""
    return request.accept_encodings.quality("gzip") > 0


def _typed(asset: Asset) -> str:
    """Return the Content-Type of an asset, with the charset of text."""
    text = asset.mimetype.startswith("text/") or asset.mimetype in ("application/javascript", "image/svg+xml")
    return f"{asset.mimetype}; charset=utf-8" if text else asset.mimetype


def asset_response(asset: Asset, cache_control: str) -> Response:
    """Answer one asset, gzip-compressed when accepted, 304 when the browser has this version."""
    etag = asset.hashed
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        use_gzip = asset.gzipped is not None and accepts_gzip()
        response = Response(asset.gzipped if use_gzip else asset.body, content_type=_typed(asset))
        if use_gzip:
            response.headers["Content-Encoding"] = "gzip"
    if asset.gzipped is not None:
        response.vary.add("Accept-Encoding")
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    return response


def compress(response: Response) -> Response:
    """Gzip a text answer of MIN_SIZE bytes or more when the client accepts it (after_request)."""
    if response.mimetype not in COMPRESSIBLE or response.direct_passthrough or response.is_streamed:
        return response
    if response.status_code in (204, 206, 304) or "Content-Encoding" in response.headers:
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip():
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    return response


def favicon_uri() -> str:
    """Return the favicon as a data: URI for the pages' <link rel="icon"> (no request)."""
    return current_app.extensions["survey.favicon_uri"]


def init_app(app: Flask) -> None:
    """Hash and compress the static files, route their hashed names, gzip answers, serve the favicon."""
    assets = build(app.static_folder)
    by_hashed = {asset.hashed: asset for asset in assets.values()}
    plain_view = app.view_functions["static"]

    def static(filename: str):
        """Serve a hashed name from memory (immutable); a plain name through Flask's view."""
        asset = by_hashed.get(filename)
        return asset_response(asset, IMMUTABLE) if asset is not None else plain_view(filename=filename)

    def hashed_url(endpoint: str, values: dict) -> None:
        """Turn url_for('static', filename=...) into the file's hashed name."""
        if endpoint == "static" and values.get("filename") in assets:
            values["filename"] = assets[values["filename"]].hashed

    def favicon():
        """The favicon, for clients that ask for /favicon.ico."""
        return asset_response(assets[FAVICON], FAVICON_CACHE)

    app.view_functions["static"] = static
    app.url_defaults(hashed_url)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    app.after_request(compress)
    icon = assets[FAVICON].body.decode().strip()
    app.extensions["survey.favicon_uri"] = "data:image/svg+xml," + quote(icon)
    app.context_processor(lambda: {"favicon_uri": favicon_uri})
