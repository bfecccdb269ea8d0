"""Respondent benchmark: page weight of a SIPAS questionnaire page and server time per page.

Not a test: it prints a table and writes docs/benchmarks-respondent.md. Run from the project root:

    python benchmarks/respondent_benchmark.py [--repeat 300] [--profile] [--no-write]

(a) Page weight: the HTML of the SIPAS "access" page (the first with a Likert matrix) plus every
    resource it loads, each body gzip-compressed at level 6, and the number of requests.
    Budget: at most 30 KB in total, at most 3 requests, none to another site.
(b) Server time: page views (GET) and page saves (POST "next") through the Flask test client,
    in-process, on a seeded SQLite database; median and 90th percentile. Budget: median < 20 ms.
    The rate limiter is switched off (it would refuse the repetitions); everything else is as served.
"""

import argparse
import cProfile
import gzip
import io
import os
import pstats
import re
import shlex
import statistics
import sys
import tempfile
import time
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask.testing import FlaskClient  # noqa: E402

from survey import create_app  # noqa: E402
from survey.db import Database, db  # noqa: E402
from survey.definitions import load  # noqa: E402
from survey.models import Base  # noqa: E402
from tests.factories import make_invitation, make_version  # noqa: E402

KEY = "benchmark-secret-key-that-is-long-enough-0123456789"
SIPAS = ROOT / "questionnaires" / "sipas-service.yaml"
DOC = ROOT / "docs" / "benchmarks-respondent.md"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
RADIO = re.compile(r'<input id="[^"]+" name="([^"]+)"[^>]*type="radio" value="([^"]*)"')
WEIGHT_BUDGET, REQUEST_BUDGET, MEDIAN_BUDGET_MS = 30 * 1024, 3, 20.0
SOURCES = ("script", "img", "iframe", "source", "video", "audio")
SCREENING = {"s1_field": "1", "s2_place": "2", "s3_result_when": "1", "s4_feedback_given": "2"}


class Client(FlaskClient):
    """A test client whose every request runs in its own app context, as a server would."""

    def open(self, *args, **kwargs):
        """Run the request in a fresh app context."""
        with self.application.app_context():
            return super().open(*args, **kwargs)


class Resources(HTMLParser):
    """Collect the URLs a page makes the browser fetch: stylesheets, scripts, icons, images, frames."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        """Note the fetched URL of a tag, if any (data: URLs cost no request)."""
        attrs = dict(attrs)
        fetched = tag == "link" and attrs.get("rel") in ("stylesheet", "icon", "preload")
        url = attrs.get("href") if fetched else attrs.get("src") if tag in SOURCES else None
        if url and not url.startswith("data:"):
            self.urls.append(url)


def make_app(directory: Path):
    """Create the app on a fresh SQLite database in a temporary instance folder."""
    os.environ["SURVEY_INSTANCE_PATH"] = str(directory / "instance")
    app = create_app({"SECRET_KEY": KEY, "DATABASE_URL": f"sqlite:///{directory / 'bench.db'}",
                      "RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://"})
    app.test_client_class = Client
    Base.metadata.create_all(Database.engine(app))
    return app


def seed(app, count: int) -> list[tuple[str, int]]:
    """Publish the SIPAS questionnaire and add `count` invitations; return (token, unit id) pairs."""
    with app.app_context():
        version = make_version(db.session, load.read_document(SIPAS))
        found = []
        for _ in range(count):
            invitation, token = make_invitation(db.session, KEY, version=version)
            found.append((token, invitation.units[0].unit_id))
        db.session.commit()
    return found


def started(client, token: str, unit_id: int) -> tuple[str, str]:
    """Start answering; return the first page's URL and the session's CSRF token."""
    csrf = CSRF.search(client.get(f"/r/{token}").text).group(1)
    response = client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": csrf})
    return response.headers["Location"], csrf


def radios(html: str) -> dict[str, list[str]]:
    """Return the options of each radio group on a page."""
    found: dict[str, list[str]] = {}
    for name, value in RADIO.findall(html):
        found.setdefault(name, []).append(value)
    return found


def page_weight(app, token: str, unit_id: int) -> dict:
    """Measure the SIPAS matrix page: gzip sizes of HTML and resources, and requests."""
    client = app.test_client()
    first, csrf = started(client, token, unit_id)
    matrix_url = client.post(first, data={"csrf_token": csrf, "action": "next", **SCREENING}).location
    html = client.get(matrix_url)
    parser = Resources()
    parser.feed(html.text)
    rows = [("HTML " + matrix_url.rsplit("/", 2)[-2] + "/" + matrix_url.rsplit("/", 1)[-1], html.data)]
    third_party = [u for u in parser.urls if re.match(r"^(https?:)?//", u)]
    for url in parser.urls:
        if url not in third_party:
            rows.append((url, client.get(url).data))
    sizes = [(name, len(body), len(gzip.compress(body, compresslevel=6))) for name, body in rows]
    return {"url": matrix_url, "sizes": sizes, "requests": len(rows) + len(third_party),
            "third_party": third_party, "matrix": "class=\"matrix\"" in html.text}


def timed(function, repeat: int, warmup: int = 20) -> list[float]:
    """Call function repeatedly; return the durations in milliseconds (after a warm-up)."""
    for i in range(warmup):
        function(i)
    found = []
    for i in range(repeat):
        began = time.perf_counter()
        function(i)
        found.append((time.perf_counter() - began) * 1000)
    return found


def scenarios(app, token: str, unit_id: int) -> dict:
    """Return the measured requests: view the matrix page, save the screening page, save the matrix."""
    client = app.test_client()
    first, csrf = started(client, token, unit_id)
    matrix_url = client.post(first, data={"csrf_token": csrf, "action": "next", **SCREENING}).location
    groups = radios(client.get(matrix_url).text)

    def view(_i):
        response = client.get(matrix_url)
        assert response.status_code == 200, response.status_code

    def save_screening(i):
        data = dict(SCREENING, s1_field=str(1 + i % 7))  # a changed answer each time: a real write
        response = client.post(first, data={"csrf_token": csrf, "action": "next", **data})
        assert response.status_code == 302, response.status_code

    def save_matrix(i):
        data = {name: values[i % 2] for name, values in groups.items()}
        response = client.post(matrix_url, data={"csrf_token": csrf, "action": "next", **data})
        assert response.status_code == 302, response.status_code

    return {"GET matrix page (view)": view, "POST screening page (next)": save_screening,
            "POST matrix page (next)": save_matrix}


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def profile(function, repeat: int = 100) -> tuple[str, list[str]]:
    """Profile calls of function; return the full listing and the top project functions (ms per call)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(repeat):
        function(i)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"survey/|jinja2|sqlalchemy/orm|wtforms", 25)
    stats.sort_stats("tottime").print_stats(15)
    top = []
    for (filename, line, name), (_cc, _nc, _tt, cumulative, _callers) in sorted(
            stats.stats.items(), key=lambda kv: -kv[1][3]):
        if "/survey/" in filename and len(top) < 12:
            where = filename.split("/survey/", 1)[1]
            top.append(f"| `survey/{where}:{name}` (line {line}) | {cumulative / repeat * 1000:.1f} ms |")
    return out.getvalue(), top


def kb(size: int) -> str:
    """Show a byte count in KB with one decimal."""
    return f"{size / 1024:.1f} KB"


def report(weight: dict, times: dict, command: str, repeat: int, hot: dict | None = None) -> str:
    """Return the Markdown report."""
    total_raw = sum(s[1] for s in weight["sizes"])
    total_gz = sum(s[2] for s in weight["sizes"])
    lines = [
        "# Respondent pages: weight and server time",
        "",
        f"Measured {datetime.now():%Y-%m-%d %H:%M} with Python {sys.version.split()[0]} on SQLite, by:",
        "",
        f"    {command}",
        "",
        "## Page weight (SIPAS \u201caccess\u201d page, with a Likert matrix)",
        "",
        "Each response body compressed with gzip level 6, as a server or proxy would send it.",
        "",
        "| Resource | Raw | gzip -6 |",
        "|---|---:|---:|",
        *[f"| `{name}` | {kb(raw)} | {kb(gz)} |" for name, raw, gz in weight["sizes"]],
        f"| **Total** | {kb(total_raw)} | **{kb(total_gz)}** |",
        "",
        f"- Requests: **{weight['requests']}** (budget \u2264 {REQUEST_BUDGET}); third-party requests: "
        f"**{len(weight['third_party'])}** (budget 0).",
        f"- Transfer: **{kb(total_gz)}** (budget \u2264 {kb(WEIGHT_BUDGET)}): "
        f"{'within' if total_gz <= WEIGHT_BUDGET else 'OVER'} budget.",
        "",
        "## Server time per request (in-process Flask test client, SQLite file)",
        "",
        f"{repeat} timed repetitions after 20 warm-up calls; the rate limiter is off, everything else as "
        "served (CSRF check, session cookie, paradata, audit, templates).",
        "",
        "| Request | median | p90 | max |",
        "|---|---:|---:|---:|",
        *[f"| {name} | {statistics.median(v):.1f} ms | {percentile(v, 0.9):.1f} ms | {max(v):.1f} ms |"
          for name, v in times.items()],
        "",
        f"Budget: median under {MEDIAN_BUDGET_MS:.0f} ms \u2014 "
        + ("met by every request." if all(statistics.median(v) < MEDIAN_BUDGET_MS for v in times.values())
           else "MISSED by: " + ", ".join(n for n, v in times.items()
                                          if statistics.median(v) >= MEDIAN_BUDGET_MS) + "."),
        "",
        "These figures are for one process on the machine named above; they are a regression guard "
        "for our own code, not a comparison with anything external. Timings move with the machine's "
        "load: run it on an idle machine before drawing conclusions.",
    ]
    for name, (_listing, top) in (hot or {}).items():
        lines += ["", f"### Profile: {name} (cProfile, cumulative time per call, project code)", "",
                  "| Function | time |", "|---|---:|", *top]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """Run the benchmark, print the table, write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="timed repetitions per request")
    parser.add_argument("--profile", action="store_true", help="print cProfile hot spots of each request")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {DOC.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    command = "python " + " ".join(shlex.quote(a) for a in
                                   ["benchmarks/respondent_benchmark.py", *(argv or sys.argv[1:])])
    with tempfile.TemporaryDirectory() as directory:
        app = make_app(Path(directory))
        invitations = seed(app, 50)
        weight = page_weight(app, *invitations[0])
        times, hot = {}, {}
        for name, function in scenarios(app, *invitations[1]).items():
            times[name] = timed(function, args.repeat)
            if args.profile:
                hot[name] = profile(function)
        Database.engine(app).dispose()
    text = report(weight, times, command, args.repeat, hot)
    print(text)
    for name, (listing, _top) in hot.items():
        print(f"=== profile: {name} ===\n{listing}")
    if not args.no_write:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text, encoding="utf-8")
        print(f"written to {DOC.relative_to(ROOT)}")
    total = sum(s[2] for s in weight["sizes"])
    met = (total <= WEIGHT_BUDGET and weight["requests"] <= REQUEST_BUDGET and not weight["third_party"]
           and all(statistics.median(v) < MEDIAN_BUDGET_MS for v in times.values()))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
