"""Load benchmark: page views and submissions over HTTP under gunicorn, next to a bare route.

Not a test: it prints a table. Run from the project root (`make bench` runs the quick version):

    python benchmarks/load_benchmark.py [--backends sqlite,postgresql] [--seconds 5] [--rounds 2]
                                        [--rate 200] [--rate-seconds 5] [--concurrency 8]

For each database (a new SQLite file; a new PostgreSQL database on 127.0.0.1:5432 made and dropped
here, or --postgres-url) it fills a SIPAS wave with invitations whose drafts are answered up to the
last page (benchmarks/loadgen.py), starts gunicorn with the production settings (SURVEY_ENV=production,
survey.gunicorn_config, JSON logs, Redis rate limits, ProxyFix, 2 workers) and SURVEY_BENCH_ENDPOINT=1,
then measures on loopback with an asyncio client:

- closed loop, `--concurrency` requests in flight, in `--rounds` rounds of `--seconds` each,
  alternating: the bare route (`GET /_bench/bare`, every hook of the app and nothing else), the
  durable-write floor (`GET /_bench/write`: the same plus one row of a submission's size inserted
  and committed, the least any acknowledged submission does), a page
  view (GET of a questionnaire page with its answers), a submission (POST of the last page with
  "Gửi phiếu": checked, held, released; a new invitation each time). The figures are requests per
  second, p50 and p99 latency, and each route's throughput as a share of the bare route's in the
  same rounds: that ratio, not the absolute figure, is what carries from this noisy shared machine.
- open loop: submissions due at `--rate` per second for `--rate-seconds`, latency counted from
  when each was due; requests that could not start within 2 s count as shed.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def database(backend: str, folder: Path, given: str | None):
    """Yield a database URL: a new SQLite file, or a PostgreSQL database made now and dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'instance' / 'survey.db'}"
        return
    if given:
        yield given
        return
    import psycopg

    name = f"bench_load_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def measure(port: int, seeded: loadgen.Seeded, args) -> dict:
    """Run the rounds and the open loop against a started server; return the results by name."""
    client = loadgen.Respondent(port, seeded)
    await client.open_session(seeded.tokens[-1])
    views = len(seeded.tokens) // 4  # the last quarter is viewed (never submitted), the rest submitted
    next_submit = 0
    found = {"bare": [], "write": [], "view": [], "submit": []}
    ok200 = lambda answer: answer.status == 200  # noqa: E731
    for _ in range(args.rounds):
        found["bare"].append(await loadgen.closed_loop(client.bare, ok200, args.concurrency, args.seconds,
                                                       10**7))
        found["write"].append(await loadgen.closed_loop(client.durable_write, ok200, args.concurrency,
                                                        args.seconds, 10**7))
        found["view"].append(await loadgen.closed_loop(
            lambda n: client.view(len(seeded.tokens) - 1 - n % views), ok200, args.concurrency,
            args.seconds, 10**7))
        first = next_submit
        limit = len(seeded.tokens) - views - first - int(args.rate * args.rate_seconds)
        result = await loadgen.closed_loop(lambda n, first=first: client.submit(first + n),
                                           loadgen.acknowledged, args.concurrency, args.seconds, limit)
        next_submit += len(result.latencies) + result.failed + args.concurrency
        found["submit"].append(result)
    found["open"] = await loadgen.open_loop(client.submit, loadgen.acknowledged, args.rate,
                                            args.rate_seconds, first=next_submit)
    return found


def merged(results: list[loadgen.Result]) -> loadgen.Result:
    """One result of several rounds."""
    errors = {}
    for result in results:
        for key, count in result.errors.items():
            errors[key] = errors.get(key, 0) + count
    return loadgen.Result([v for r in results for v in r.latencies], sum(r.failed for r in results),
                          sum(r.seconds for r in results), errors)


def run_backend(backend: str, args) -> dict:
    """Fill a database, serve it, measure; return the rows and the load averages."""
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder, \
            database(backend, Path(folder), args.postgres_url) as url:
        folder = Path(folder)
        submits = args.rounds * args.seconds * args.max_submit_rate + args.rate * args.rate_seconds
        count = int(submits) * 4 // 3
        began = time.perf_counter()
        seeded = loadgen.prepare(url, folder / "instance", count)
        print(f"{backend}: {count} ready drafts in {time.perf_counter() - began:.1f} s", flush=True)
        server = loadgen.Server(url, folder / "instance", args.port, folder / "gunicorn.log")
        load_before = loadgen.load_average()
        server.start()
        try:
            results = asyncio.run(measure(args.port, seeded, args))
        finally:
            server.stop()
        load_after = loadgen.load_average()
        submissions = loadgen.stored(url, folder / "instance", seeded.wave_id, seeded.invitation_ids)
    rows = {name: merged(results[name]).row() for name in ("bare", "write", "view", "submit")}
    rows["open"] = results["open"].row()
    rows["open"]["errors"] = results["open"].errors
    acknowledged = sum(len(r.latencies) for r in results["submit"]) + len(results["open"].latencies)
    return {"rows": rows, "load": f"{load_before} → {load_after}", "acknowledged": acknowledged,
            "stored": submissions["submissions"]}


def table(found: dict, args) -> str:
    """The Markdown table of every backend."""
    lines = ["| database | route | requests/s | p50 ms | p99 ms | share of bare | failed | load average |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for backend, result in found.items():
        rows, bare = result["rows"], result["rows"]["bare"]["rate"]
        names = {"bare": "bare route `GET /_bench/bare`",
                 "write": "durable-write floor `GET /_bench/write`",
                 "view": "page view (GET, last SIPAS page)",
                 "submit": "submission (POST \u201cGửi phiếu\u201d)"}
        for name, label in names.items():
            row = rows[name]
            lines.append(f"| {backend} | {label} | {row['rate']:.1f} | {row['p50']:.0f} | {row['p99']:.0f} | "
                         f"{row['rate'] / bare:.2f} | {row['failed']} | {result['load']} |")
        row = rows["open"]
        shed = row["errors"].get("shed", 0)
        lines.append(f"| {backend} | submissions due at {args.rate:g}/s for {args.rate_seconds:g} s | "
                     f"{row['rate']:.1f} | {row['p50']:.0f} | {row['p99']:.0f} | \u2013 | "
                     f"{row['failed']} ({shed} shed) | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run the benchmark on each backend and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", help="an existing PostgreSQL database to fill (else one is made)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each closed-loop phase")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of bare, write, view, submit")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (closed loop)")
    parser.add_argument("--rate", type=float, default=200.0, help="submissions due per second (open loop)")
    parser.add_argument("--rate-seconds", type=float, default=5.0)
    parser.add_argument("--max-submit-rate", type=float, default=150.0,
                        help="the most submissions a second expected (sizes the filled drafts)")
    parser.add_argument("--port", type=int, default=18931)
    args = parser.parse_args(argv)
    command, started = loadgen.invocation("benchmarks/load_benchmark.py", argv)
    found = {}
    for backend in args.backends.split(","):
        found[backend] = run_backend(backend, args)
    print(f"\nLoad benchmark, {started}, {loadgen.machine()}\n{command}\n")
    print(table(found, args))
    lost = {b: r["acknowledged"] - r["stored"] for b, r in found.items()}
    print("\nacknowledged vs stored submissions: " + ", ".join(
        f"{b} {r['acknowledged']} / {r['stored']}" for b, r in found.items()))
    return 0 if all(n <= 0 for n in lost.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
