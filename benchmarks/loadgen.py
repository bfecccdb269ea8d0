"""What the load benchmark and the soak share: a database of ready drafts, gunicorn, an HTTP client.

- `prepare(url, ...)`: migrate a database to head and fill it with a SIPAS wave whose invitations
  each hold a draft answered up to the last page (one invitation is walked through the pages in
  process to get real answers; the others get copies of them in bulk), so that one POST of the last
  page with "Gửi phiếu" is one whole submission: checked, held, released.
- `Server`: gunicorn as production runs it (`survey.gunicorn_config`, SURVEY_ENV=production, JSON
  logs, Redis rate limits, ProxyFix for one proxy, 2 workers), plus SURVEY_BENCH_ENDPOINT=1 for the
  bare route that each figure is compared with.
- `Client`: an asyncio HTTP/1.1 client (one connection per request, as gunicorn's sync workers
  close each one) that looks like a respondent behind the proxy: its own X-Forwarded-For address
  per invitation, the session cookie and CSRF token of a landing page.
- `closed_loop` (N requests in flight, for a time: the most a server does) and `open_loop` (a fixed
  rate, latency counted from the moment each request was due, so a stalled server cannot hide its
  queue): both bounded in count and time, loopback only.
"""

import asyncio
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = "load-benchmark-secret-key-that-is-long-enough-0123456789"
SIPAS = ROOT / "questionnaires" / "sipas-service.yaml"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CHOICE = re.compile(r'<input id="[^"]+" name="([^"]+)"[^>]*type="(radio|checkbox)" value="([^"]*)"')
HOST = "127.0.0.1"
PUBLIC_HOST = "khaosat.bench.invalid"


# ---------------------------------------------------------------------------------------------
# Database


@dataclass
class Seeded:
    """What prepare() made: the invitations' tokens and ids, the last page and its answers."""

    tokens: list[str]
    invitation_ids: list[int]
    unit_ids: list[int]
    wave_id: int
    last_page: int  # 1-based page number of the last page
    last_answers: list[tuple[str, str]]  # form fields of the last page


def flask_app(url: str, instance: Path, **extra):
    """Create the app on a database (not production: it only seeds and counts)."""
    os.environ["SURVEY_INSTANCE_PATH"] = str(instance)
    from survey import create_app

    return create_app({"SECRET_KEY": KEY, "DATABASE_URL": url, "RATELIMIT_ENABLED": False,
                       "RATELIMIT_STORAGE_URI": "memory://", "JOBS_MODE": "sync", **extra})


def choices(html: str) -> list[tuple[str, str]]:
    """Pick an answer for each radio and checkbox group of a page: the first option but one."""
    groups: dict[str, list[str]] = {}
    for name, _kind, value in CHOICE.findall(html):
        groups.setdefault(name, []).append(value)
    return [(name, values[min(1, len(values) - 1)]) for name, values in groups.items()]


def walk_to_last_page(app, token: str, unit_id: int) -> tuple[int, list[tuple[str, str]]]:
    """Answer an invitation's pages in process up to the last; return its number and its answers."""
    from flask.testing import FlaskClient

    class Client(FlaskClient):
        def open(self, *args, **kwargs):
            with self.application.app_context():
                return super().open(*args, **kwargs)

    app.test_client_class = Client
    client = app.test_client()
    csrf = CSRF.search(client.get(f"/r/{token}").text).group(1)
    url = client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": csrf}).location
    for _ in range(40):
        html = client.get(url).text
        answers = choices(html)
        if 'name="action" value="submit"' in html:
            return int(url.rsplit("/", 1)[-1]), answers
        from werkzeug.datastructures import MultiDict

        after = client.post(url, data=MultiDict([("csrf_token", csrf), ("action", "next"), *answers]))
        if after.status_code != 302:
            raise RuntimeError(f"page {url} refused the answers: {after.status_code}")
        url = after.location
    raise RuntimeError("no last page after 40 pages")


def prepare(url: str, instance: Path, count: int, units: int = 20) -> Seeded:
    """Migrate `url` to head and add a SIPAS wave with `count` invitations holding ready drafts."""
    from sqlalchemy import insert, select

    from survey import migrate
    from survey.db import Database, db
    from survey.definitions import load
    from survey.responses.models import Answer, DraftLink, Response, new_response_id
    from survey.sampling import tokens as token_service
    from survey.sampling.models import Invitation, InvitationUnit
    from tests.factories import make_group, make_invitation, make_unit, make_version, make_wave

    app = flask_app(url, instance)
    migrate.upgrade(app)
    with app.app_context():
        version = make_version(db.session, load.read_document(SIPAS))
        wave, group = make_wave(db.session), make_group(db.session)
        made_units = [make_unit(db.session) for _ in range(units)]
        _invitation, token = make_invitation(db.session, KEY, wave=wave, group=group,
                                             units=[made_units[0]], version=version)
        ids = (version.id, wave.id, group.id, [u.id for u in made_units])
        db.session.commit()
    version_id, wave_id, group_id, unit_ids = ids
    last_page, last_answers = walk_to_last_page(app, token, unit_ids[0])
    with app.app_context():
        template = db.session.scalars(select(Response).where(Response.wave_id == wave_id)).one()
        answers = [{c: getattr(a, c) for c in ("item_id", "value_text", "value_number", "value_date",
                                               "value_list")} for a in template.answers]
        page_seconds, device = template.page_seconds, template.device_class
        made_tokens, made_ids = [], []
        for start in range(0, count, 2000):
            batch = [token_service.new_token() for _ in range(min(2000, count - start))]
            returning = insert(Invitation).returning(Invitation.id, sort_by_parameter_order=True)
            rows = db.session.execute(returning, [
                {"wave_id": wave_id, "group_id": group_id, "cluster_code": "C1", "status": "started",
                 "token_hash": token_service.token_hash(KEY, t), "language": "vi"} for t in batch])
            invitation_ids = [row[0] for row in rows]
            placed = [unit_ids[(start + n) % len(unit_ids)] for n in range(len(batch))]
            db.session.execute(insert(InvitationUnit), [
                {"invitation_id": i, "unit_id": u, "position": 0, "status": "in_progress"}
                for i, u in zip(invitation_ids, placed, strict=True)])
            response_ids = [new_response_id() for _ in batch]
            db.session.execute(insert(Response), [
                {"id": r, "wave_id": wave_id, "questionnaire_version_id": version_id, "unit_id": u,
                 "group_id": group_id, "cluster_code": "C1", "mode": "online", "language": "vi",
                 "status": "draft", "current_page": last_page - 1, "device_class": device,
                 "page_seconds": page_seconds} for r, u in zip(response_ids, placed, strict=True)])
            db.session.execute(insert(DraftLink), [
                {"response_id": r, "invitation_id": i, "unit_id": u}
                for r, i, u in zip(response_ids, invitation_ids, placed, strict=True)])
            db.session.execute(insert(Answer), [dict(a, response_id=r)
                                                for r in response_ids for a in answers])
            db.session.commit()
            made_tokens += batch
            made_ids += invitation_ids
    Database.engine(app).dispose()
    return Seeded(made_tokens, made_ids, [unit_ids[n % len(unit_ids)] for n in range(count)], wave_id,
                  last_page, last_answers)


def stored(url: str, instance: Path, wave_id: int, invitation_ids: list[int]) -> dict:
    """Count what the database holds for the wave: submissions (held and released), done invitations."""
    from sqlalchemy import func, select

    from survey.db import Database, db
    from survey.responses.models import HeldSubmission, Response
    from survey.sampling.models import InvitationUnit

    app = flask_app(url, instance)
    with app.app_context():
        held = db.session.scalar(select(func.count()).select_from(HeldSubmission)
                                 .where(HeldSubmission.wave_id == wave_id))
        released = db.session.scalar(select(func.count()).select_from(Response).where(
            Response.wave_id == wave_id, Response.status != "draft"))
        done = set(db.session.scalars(select(InvitationUnit.invitation_id).where(
            InvitationUnit.status == "done")))
    Database.engine(app).dispose()
    return {"submissions": held + released, "held": held, "released": released,
            "done": done & set(invitation_ids)}


# ---------------------------------------------------------------------------------------------
# Server


@dataclass
class Server:
    """gunicorn with the production settings on a loopback port."""

    url: str
    instance: Path
    port: int
    log: Path
    workers: int = 2
    redis_url: str = "redis://127.0.0.1:6379/14"
    prefix: str = field(default_factory=lambda: "bench-" + secrets.token_hex(6))
    process: subprocess.Popen | None = None

    def environment(self) -> dict:
        """The environment of a production server (docs/deploy.md), plus the bare route."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
        env.update({
            "SURVEY_ENV": "production", "SURVEY_SECRET_KEY": KEY, "DATABASE_URL": self.url,
            "SURVEY_INSTANCE_PATH": str(self.instance), "SURVEY_RATELIMIT_STORAGE_URI": self.redis_url,
            "SURVEY_RATELIMIT_KEY_PREFIX": self.prefix, "SURVEY_JOBS_REDIS_URL": self.redis_url,
            "SURVEY_PROXY_FIX_X_FOR": "1", "SURVEY_PROXY_FIX_X_PROTO": "1", "SURVEY_PROXY_FIX_X_HOST": "1",
            "SURVEY_PUBLIC_URL": f"https://{PUBLIC_HOST}", "SURVEY_BENCH_ENDPOINT": "1",
            "SURVEY_FRAME_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        })
        return env

    def start(self, wait: float = 30.0) -> None:
        """Start gunicorn and wait for /healthz."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:survey.gunicorn_config",
             "--bind", f"{HOST}:{self.port}", "--workers", str(self.workers), "wsgi:app"],
            cwd=ROOT, env=self.environment(), stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}); see {self.log}")
            if asyncio.run(self.healthy()):
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz in {wait:.0f} s; see {self.log}")

    async def healthy(self) -> bool:
        """Whether /healthz answers 200."""
        try:
            answer = await fetch(self.port, "GET", "/healthz", {}, timeout=2.0)
            return answer.status == 200
        except (TimeoutError, OSError):
            return False

    def worker_pids(self) -> list[int]:
        """The worker processes of the gunicorn master."""
        found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                               capture_output=True, text=True).stdout.split()
        return [int(p) for p in found]

    def stop(self) -> None:
        """Stop gunicorn (TERM, then KILL) and forget the limiter's keys in Redis."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        try:
            keys = subprocess.run(["redis-cli", "-n", self.redis_url.rsplit("/", 1)[-1], "--scan",
                                   "--pattern", f"*{self.prefix}*"], capture_output=True, text=True,
                                  timeout=10).stdout.split()
            for start in range(0, len(keys), 500):
                subprocess.run(["redis-cli", "-n", self.redis_url.rsplit("/", 1)[-1], "del",
                                *keys[start:start + 500]], capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass


# ---------------------------------------------------------------------------------------------
# Client


@dataclass
class Answer:
    """A response: status, headers (lower-case names), body."""

    status: int
    headers: dict
    body: bytes


async def fetch(port: int, method: str, path: str, headers: dict, body: bytes = b"",
                timeout: float = 10.0) -> Answer:
    """Send one HTTP/1.1 request to 127.0.0.1:port on its own connection; return the answer."""
    async def exchange() -> Answer:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close",
                    f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
        top, _, content = raw.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1."):
            raise ConnectionResetError("no HTTP answer")
        found = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            found.setdefault(name.strip().lower(), value.strip())
        return Answer(int(lines[0].split()[1]), found, content)

    return await asyncio.wait_for(exchange(), timeout)


class Respondent:
    """Requests as a respondent's browser sends them through the proxy (ProxyFix for one proxy)."""

    def __init__(self, port: int, seeded: Seeded):
        self.port, self.seeded = port, seeded
        self.cookie = self.csrf = None

    def headers(self, n: int) -> dict:
        """The proxy's headers for respondent n: a loopback client address of its own, HTTPS."""
        return {"X-Forwarded-For": f"127.{1 + n // 65025 % 250}.{n // 255 % 255}.{1 + n % 254}",
                "X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC_HOST,
                "Referer": f"https://{PUBLIC_HOST}/r/",
                **({"Cookie": self.cookie} if self.cookie else {})}

    async def open_session(self, token: str) -> None:
        """Open a landing page once: its session cookie and CSRF token serve every later post."""
        answer = await fetch(self.port, "GET", f"/r/{token}", self.headers(0))
        if answer.status != 200:
            raise RuntimeError(f"landing page answered {answer.status}")
        self.cookie = answer.headers["set-cookie"].split(";", 1)[0]
        self.csrf = CSRF.search(answer.body.decode()).group(1)

    def page_path(self, n: int) -> str:
        """The last page of invitation n."""
        return f"/r/{self.seeded.tokens[n]}/u/{self.seeded.unit_ids[n]}/p/{self.seeded.last_page}"

    async def view(self, n: int) -> Answer:
        """GET the last page of invitation n (a page with its answers)."""
        return await fetch(self.port, "GET", self.page_path(n), self.headers(n))

    async def submit(self, n: int, timeout: float = 10.0) -> Answer:
        """POST the last page of invitation n with "Gửi phiếu": one whole submission."""
        fields = [("csrf_token", self.csrf), ("action", "submit"), *self.seeded.last_answers]
        body = urllib.parse.urlencode(fields).encode()
        headers = dict(self.headers(n), **{"Content-Type": "application/x-www-form-urlencoded"})
        return await fetch(self.port, "POST", self.page_path(n), headers, body, timeout=timeout)

    async def bare(self, n: int) -> Answer:
        """GET the bare route."""
        return await fetch(self.port, "GET", "/_bench/bare", self.headers(n))

    async def durable_write(self, n: int) -> Answer:
        """GET the durable-write floor: the bare route plus one committed row of a submission's size."""
        return await fetch(self.port, "GET", "/_bench/write", self.headers(n))


def acknowledged(answer: Answer) -> bool:
    """A submission is acknowledged by the redirect to its thank-you page, and by nothing else."""
    return answer.status == 302 and answer.headers.get("location", "").endswith("/done")


# ---------------------------------------------------------------------------------------------
# Load


@dataclass
class Result:
    """Latencies (ms) of the requests that succeeded, counts of the others, the elapsed time."""

    latencies: list[float]
    failed: int
    seconds: float
    errors: dict

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """Nearest-rank percentile of the latencies (ms)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]

    def row(self) -> dict:
        """The figures of a table row."""
        return {"ok": len(self.latencies), "failed": self.failed, "rate": self.rate,
                "p50": statistics.median(self.latencies) if self.latencies else float("nan"),
                "p99": self.percentile(0.99)}


async def closed_loop(send, ok, concurrency: int, seconds: float, limit: int) -> Result:
    """Keep `concurrency` requests in flight for `seconds` (at most `limit` requests in all)."""
    latencies, errors, counter = [], {}, iter(range(limit))
    deadline = time.perf_counter() + seconds

    async def loop():
        for n in counter:
            if time.perf_counter() >= deadline:
                return
            began = time.perf_counter()
            try:
                answer = await send(n)
                key = None if ok(answer) else f"HTTP {answer.status}"
            except (TimeoutError, OSError) as exc:
                key = type(exc).__name__
            if key is None:
                latencies.append((time.perf_counter() - began) * 1000)
            else:
                errors[key] = errors.get(key, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return Result(latencies, sum(errors.values()), time.perf_counter() - began, errors)


async def open_loop(send, ok, rate: float, seconds: float, first: int = 0, in_flight: int = 64,
                    shed_after: float = 2.0) -> Result:
    """Start one request every 1/rate s for `seconds`; latency counts from when each was due.

    At most `in_flight` requests run at once; one that could not start within `shed_after` seconds
    of being due is not sent and counts as shed (errors["shed"]): a server slower than the rate
    shows as shed requests and high latency, and the run still ends on time.
    """
    latencies, errors = [], {}
    gate = asyncio.Semaphore(in_flight)
    count = int(rate * seconds)
    began = time.perf_counter()

    async def one(k: int):
        due = began + k / rate
        try:
            await asyncio.wait_for(gate.acquire(), max(0.001, due + shed_after - time.perf_counter()))
        except TimeoutError:
            errors["shed"] = errors.get("shed", 0) + 1
            return
        try:
            answer = await send(first + k)
            key = None if ok(answer) else f"HTTP {answer.status}"
        except (TimeoutError, OSError) as exc:
            key = type(exc).__name__
        finally:
            gate.release()
        if key is None:
            latencies.append((time.perf_counter() - due) * 1000)
        else:
            errors[key] = errors.get(key, 0) + 1

    tasks = []
    for k in range(count):
        delay = began + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k)))
    await asyncio.gather(*tasks)
    return Result(latencies, sum(errors.values()), time.perf_counter() - began, errors)


def invocation(script: str, argv) -> tuple[str, str]:
    """The command line that ran a benchmark script, and the time it started (UTC)."""
    import shlex

    command = "python " + " ".join(shlex.quote(a) for a in [script, *(argv or sys.argv[1:])])
    return command, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def machine() -> str:
    """The machine in one line: CPU model, cores, memory, Python."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    memory = next((int(line.split()[1]) // (1024 * 1024) for line in
                   Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0)
    return f"{model}, {os.cpu_count()} cores, {memory} GiB, Python {sys.version.split()[0]}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())
