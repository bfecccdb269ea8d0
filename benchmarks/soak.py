"""Soak and faults: submissions at a steady rate for a long time, then under load a worker killed,
PostgreSQL restarted, Redis stopped and the instance folder's disk filled.

Not a test: it prints a table and exits 1 when an acknowledged submission was lost, a submission
was stored without being acknowledged, or the service did not recover within 10 s. Run from the
project root (`make soak`; `SOAK_SECONDS` sets the steady part, 600 by default, CI runs 60):

    python benchmarks/soak.py [--seconds 600] [--rate 200] [--fault-seconds 15]

Loopback only, every loop bounded in count and time. What it does:

1. PostgreSQL (a database made here and dropped at the end): fill a SIPAS wave whose invitations
   hold drafts answered up to the last page (benchmarks/loadgen.py), start gunicorn with the
   production settings, and post submissions due at `--rate` per second, each to its own
   invitation, for `--seconds` ("steady"). Each respondent retries a submission that was not
   acknowledged (an error page, a reset connection, no answer in 20 s) as a person would press
   again, for up to 60 s; a submission counts as acknowledged only by the redirect to its thank-you page.
2. Under the same load, `--fault-seconds` each: `kill -9` of one gunicorn worker; a restart of
   PostgreSQL (pg_ctlcluster); Redis stopped (`redis-cli shutdown nosave`) for 8 s and started again.
3. SQLite with the instance folder (database included) on a 48 MB tmpfs: the disk is filled with a
   file for 6 s under load, then the file is removed.

For each scenario: acknowledged, stored (invitations marked done), lost (acknowledged, not stored),
stored without acknowledgement, failed tries, /healthz probes that failed, and the recovery
time: from the fault (for the full disk, from when space was freed) to the sending of the last
request that failed (every request sent later succeeded at its first try). At the end the
database must hold exactly one submission per acknowledged one. PostgreSQL and Redis are started
again whatever happens, as other people use them.
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # noqa: E402
from load_benchmark import database  # noqa: E402

RECOVERY_BUDGET = 10.0
RETRY_FOR = 60.0  # a respondent presses again for this long
WAIT_FOR = 20.0  # and waits this long for an answer (gunicorn's worker timeout is 30 s)
REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
               "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
               "--logfile", "/var/log/redis/ci.log"]


def pg_cluster() -> list[str]:
    """The pg_ctlcluster arguments of the machine's cluster (version, main)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


def pg_ready() -> bool:
    """Whether PostgreSQL accepts connections on 127.0.0.1:5432."""
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check=False).returncode == 0


def redis_ready() -> bool:
    """Whether Redis answers on 127.0.0.1:6379."""
    found = subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True, text=True,
                           check=False)
    return found.stdout.strip() == "PONG"


def restore_services() -> list[str]:
    """Start PostgreSQL and Redis again if they are not running; return what was done."""
    done = []
    if not pg_ready():
        subprocess.run([*pg_cluster(), "start"], check=False)
        done.append("PostgreSQL started")
    if not redis_ready():
        subprocess.run(REDIS_START, check=False)
        done.append("Redis started")
    for _ in range(30):
        if pg_ready() and redis_ready():
            break
        time.sleep(1)
    return done


@dataclass
class Attempted:
    """One submission: its invitation, whether it was acknowledged, the failures of its tries."""

    index: int
    due: float
    acknowledged: bool = False
    failures: list = field(default_factory=list)  # (sent at, reason)
    latency: float | None = None  # ms from due to acknowledged


@dataclass
class Scenario:
    """What happened in one phase."""

    name: str
    database: str
    submissions: list = field(default_factory=list)
    began: float = 0.0
    ended: float = 0.0
    fault_at: float | None = None  # when the fault began
    recovered_from: float | None = None  # when the cause went away (freed disk), else the fault
    health_failed: int = 0
    health_probes: int = 0
    note: str = ""


class Soak:
    """The shared load of every phase: one client, one counter of fresh invitations."""

    def __init__(self, port: int, seeded: loadgen.Seeded, rate: float, in_flight: int = 16):
        self.client = loadgen.Respondent(port, seeded)
        self.port, self.seeded, self.rate, self.in_flight = port, seeded, rate, in_flight
        self.next = 0

    async def submit(self, attempt: Attempted) -> None:
        """Post one submission until acknowledged or RETRY_FOR seconds after it was due."""
        wait = 0.5
        while True:
            started = time.perf_counter()
            try:
                answer = await self.client.submit(attempt.index, timeout=WAIT_FOR)
                if loadgen.acknowledged(answer):
                    attempt.acknowledged = True
                    attempt.latency = (time.perf_counter() - attempt.due) * 1000
                    return
                reason = f"HTTP {answer.status}"
            except (TimeoutError, OSError) as exc:
                reason = type(exc).__name__
            attempt.failures.append((started, reason))
            if time.perf_counter() - attempt.due > RETRY_FOR:
                return
            await asyncio.sleep(wait)
            wait = min(wait * 2, 2.0)

    async def probe(self, scenario: Scenario, until: float) -> None:
        """GET /healthz every half second until `until`."""
        while time.perf_counter() < until:
            scenario.health_probes += 1
            try:
                answer = await loadgen.fetch(self.port, "GET", "/healthz", {}, timeout=5.0)
                scenario.health_failed += answer.status != 200
            except (TimeoutError, OSError):
                scenario.health_failed += 1
            await asyncio.sleep(0.5)

    async def phase(self, scenario: Scenario, seconds: float, actions=(), drafts: int = 10**9) -> Scenario:
        """Post submissions due at the rate for `seconds` (at most `drafts`) while running actions."""
        last = min(len(self.seeded.tokens), self.next + drafts)
        gate = asyncio.Semaphore(self.in_flight)
        scenario.began = began = time.perf_counter()
        tasks = [asyncio.create_task(self.probe(scenario, began + seconds))]

        async def act(offset: float, function):
            await asyncio.sleep(offset)
            await asyncio.to_thread(function, scenario)

        tasks += [asyncio.create_task(act(offset, function)) for offset, function in actions]

        async def one(attempt: Attempted):
            try:
                await self.submit(attempt)
            finally:
                gate.release()

        k = 0
        while True:
            due = began + k / self.rate
            if max(due, time.perf_counter()) >= began + seconds:
                break
            if self.next >= last:
                scenario.note = f"ran out of ready drafts after {time.perf_counter() - began:.0f} s"
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await gate.acquire()  # at most in_flight at once: a slower server gets a lower rate
            if time.perf_counter() >= began + seconds:
                gate.release()
                break
            attempt = Attempted(self.next, max(due, time.perf_counter()))
            self.next += 1
            scenario.submissions.append(attempt)
            tasks.append(asyncio.create_task(one(attempt)))
            k += 1
        await asyncio.gather(*tasks)
        scenario.ended = time.perf_counter()
        return scenario


def kill_worker(server: loadgen.Server):
    """An action: kill -9 one gunicorn worker."""
    def run(scenario: Scenario):
        pid = server.worker_pids()[0]
        scenario.fault_at = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        scenario.note = f"worker {pid} killed"
    return run


def restart_postgresql(scenario: Scenario):
    """An action: restart the PostgreSQL cluster."""
    scenario.fault_at = time.perf_counter()
    began = time.perf_counter()
    subprocess.run([*pg_cluster(), "restart"], check=True, capture_output=True)
    scenario.note = f"restart took {time.perf_counter() - began:.1f} s"


def stop_redis(scenario: Scenario):
    """An action: stop Redis."""
    scenario.fault_at = time.perf_counter()
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], check=False, capture_output=True)


def start_redis(scenario: Scenario):
    """An action: start Redis again."""
    subprocess.run(REDIS_START, check=True, capture_output=True)
    for _ in range(20):
        if redis_ready():
            break
        time.sleep(0.25)
    scenario.note = f"Redis down {time.perf_counter() - scenario.fault_at:.1f} s"


def fill_disk(folder: Path):
    """An action: fill the filesystem of `folder` with one file."""
    def run(scenario: Scenario):
        scenario.fault_at = time.perf_counter()
        subprocess.run(["dd", "if=/dev/zero", f"of={folder / 'filler'}", "bs=64k"], check=False,
                       capture_output=True)
        free = os.statvfs(folder)
        scenario.note = f"disk full ({free.f_bavail * free.f_frsize} bytes free)"
    return run


def free_disk(folder: Path):
    """An action: remove the filler file."""
    def run(scenario: Scenario):
        (folder / "filler").unlink(missing_ok=True)
        scenario.recovered_from = time.perf_counter()
    return run


def summary(scenario: Scenario, done: set, ids: list[int]) -> dict:
    """The figures of a scenario, given the invitations the database marks done."""
    subs = scenario.submissions
    acknowledged = {a.index for a in subs if a.acknowledged}
    stored = {a.index for a in subs if ids[a.index] in done}
    failures = [sent for a in subs for sent, _ in a.failures]
    reasons = {}
    for a in subs:
        for _, reason in a.failures:
            reasons[reason] = reasons.get(reason, 0) + 1
    start = scenario.recovered_from or scenario.fault_at
    recovery = 0.0
    if start is not None and failures:
        recovery = max(0.0, max(failures) - start)
    latencies = sorted(a.latency for a in subs if a.latency is not None)
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)] if latencies else float("nan")
    p50 = latencies[len(latencies) // 2] if latencies else float("nan")
    seconds = scenario.ended - scenario.began
    return {"name": scenario.name, "database": scenario.database, "posted": len(subs),
            "rate": len(acknowledged) / seconds if seconds else 0.0, "p50": p50, "p99": p99,
            "acknowledged": len(acknowledged), "stored": len(stored),
            "lost": len(acknowledged - stored), "unacknowledged_stored": len(stored - acknowledged),
            "failed_tries": len(failures), "reasons": reasons,
            "health": f"{scenario.health_failed}/{scenario.health_probes}",
            "recovery": recovery, "note": scenario.note}


def run_database(kind: str, folder: Path, scenarios: list[tuple[str, float, callable]], args, rows: list):
    """Fill one database, serve it, run its scenarios, check what it stored; add the rows."""
    instance = folder / "instance"
    with database(kind, folder, None) as url:
        seconds = sum(s for _, s, _ in scenarios)
        count = int(args.drafts_per_second * seconds)
        began = time.perf_counter()
        seeded = loadgen.prepare(url, instance, count)
        print(f"{kind}: {count} ready drafts in {time.perf_counter() - began:.1f} s", flush=True)
        server = loadgen.Server(url, instance, args.port, folder / "gunicorn.log")
        server.start()
        done = []
        try:
            async def run_all():
                soak = Soak(args.port, seeded, args.rate)
                await soak.client.open_session(seeded.tokens[-1])
                seeded.tokens.pop()  # its landing page was opened; it stays unsubmitted
                for name, length, actions in scenarios:
                    load = loadgen.load_average()
                    scenario = await soak.phase(Scenario(name, kind), length, actions(server),
                                                int(args.drafts_per_second * length))
                    done.append((scenario, load))
                    print(f"  {name}: {len(scenario.submissions)} posted in {length:.0f} s, load {load}",
                          flush=True)
            asyncio.run(run_all())
        finally:
            server.stop()
        counted = loadgen.stored(url, instance, seeded.wave_id, seeded.invitation_ids)
    acknowledged = 0
    for scenario, load in done:
        row = summary(scenario, counted["done"], seeded.invitation_ids)
        row["load"] = load
        rows.append(row)
        acknowledged += row["acknowledged"]
    rows.append({"name": "total", "database": kind, "acknowledged": acknowledged,
                 "submissions": counted["submissions"], "done": len(counted["done"])})


def table(rows: list[dict], args) -> str:
    """The Markdown table of every scenario."""
    lines = ["| database | scenario | posted | acknowledged/s | p50 / p99 ms | acknowledged | stored | "
             "lost | stored, not acknowledged | failed tries | /healthz failed | recovery s | load | note |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- "
             "| --- |"]
    for row in rows:
        if row["name"] == "total":
            continue
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(row["reasons"].items()))
        lines.append(
            f"| {row['database']} | {row['name']} | {row['posted']} | {row['rate']:.1f} | "
            f"{row['p50']:.0f} / {row['p99']:.0f} | {row['acknowledged']} | {row['stored']} | "
            f"**{row['lost']}** | {row['unacknowledged_stored']} | {row['failed_tries']}"
            f"{' (' + reasons + ')' if reasons else ''} | {row['health']} | {row['recovery']:.1f} | "
            f"{row['load']} | {row['note']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run the soak and the faults; print the table; restore the services whatever happens."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    parser.add_argument("--rate", type=float, default=200.0, help="submissions due per second")
    parser.add_argument("--fault-seconds", type=float, default=15.0)
    parser.add_argument("--drafts-per-second", type=float, default=120.0,
                        help="ready drafts made per second of load (the most this machine acknowledges)")
    parser.add_argument("--port", type=int, default=18941)
    args = parser.parse_args(argv)
    command, started = loadgen.invocation("benchmarks/soak.py", argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    f = args.fault_seconds
    nothing = lambda server: ()  # noqa: E731
    postgresql = [
        ("steady", args.seconds, nothing),
        ("kill -9 a gunicorn worker", f, lambda server: [(3.0, kill_worker(server))]),
        ("restart PostgreSQL", f, lambda server: [(3.0, restart_postgresql)]),
        ("stop Redis for 8 s", f, lambda server: [(3.0, stop_redis), (11.0, start_redis)]),
    ]
    rows: list[dict] = []
    mounted = None
    try:
        if not (pg_ready() and redis_ready()):
            print("PostgreSQL and Redis must run on 127.0.0.1 (5432, 6379) before the soak", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory(prefix="soak-pg-") as folder:
            run_database("postgresql", Path(folder), postgresql, args, rows)
        with tempfile.TemporaryDirectory(prefix="soak-sqlite-") as folder:
            instance = Path(folder) / "instance"
            instance.mkdir()
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=700", "tmpfs", str(instance)],
                           check=True)
            mounted = instance
            sqlite = [("fill the instance folder's disk for 6 s", max(f, 14.0),
                       lambda server: [(3.0, fill_disk(instance)), (9.0, free_disk(instance))])]
            try:
                run_database("sqlite", Path(folder), sqlite, args, rows)
            finally:
                subprocess.run(["umount", str(instance)], check=False)
                mounted = None
    finally:
        if mounted is not None:
            subprocess.run(["umount", str(mounted)], check=False)
        restored = restore_services()
        if restored:
            print("restored: " + ", ".join(restored), flush=True)
    print(f"\nSoak and faults, {started}, {loadgen.machine()}\n{command}\n"
          f"(rate due: {args.rate:g} submissions/s, at most 16 in flight; each respondent waits "
          f"{WAIT_FOR:.0f} s for an answer and presses again for {RETRY_FOR:.0f} s)\n")
    print(table(rows, args))
    problems = []
    for row in rows:
        if row["name"] == "total":
            line = (f"{row['database']}: {row['acknowledged']} acknowledged, {row['submissions']} "
                    f"submissions stored, {row['done']} invitations done")
            print(line)
            if not row["acknowledged"] == row["submissions"] == row["done"]:
                problems.append(line)
        elif row["lost"] or row["unacknowledged_stored"] or row["recovery"] > RECOVERY_BUDGET:
            problems.append(f"{row['database']} {row['name']}: lost {row['lost']}, stored without acknow"
                            f"ledgement {row['unacknowledged_stored']}, recovery {row['recovery']:.1f} s")
    for problem in problems:
        print("FAILED: " + problem)
    print("every acknowledged submission stored exactly once, nothing else stored, recovery within "
          f"{RECOVERY_BUDGET:.0f} s" if not problems else "")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
