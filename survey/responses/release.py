"""Releasing held submissions into `responses`: at least k per cell, in random order, then vacuumed.

Why a submission is not written to `responses` directly: on PostgreSQL every row a transaction
writes carries that transaction's id (`xmin`), and a submission's transaction also marks the
invitation's unit done. A response written there could be joined to its invitation on `xmin`
(`join responses r on r.xmin = iu.xmin` matched 200 of 200), and its physical position (`ctid`,
SQLite's `rowid`) would follow the order of submissions. So:

1. `service.submit` writes a `held_submissions` row in the submitting transaction.
2. `release` moves held rows into `responses`/`answers` in another transaction, a *cell* at a time
   (a cell is every value a response shares with the invitation side: wave, questionnaire
   version, group, assessed unit, stratum, cluster, mode, language), only when the cell holds at
   least `batch` (setting `RELEASE_BATCH`, k) submissions, unless forced at the end of a wave.
   Every response of a batch gets a fresh random id, the same `submitted_on` (the batch's latest
   submission day) and the same transaction id; responses and answers are inserted in random
   order, so that neither `rowid` nor `ctid` keeps the order of submissions.
3. On PostgreSQL the same transaction rewrites (with unchanged values) every `done` unit and
   `completed` invitation of the cell, so that their `xmin` becomes the release's too (SQLite rows
   have no transaction id; there it is skipped): the transaction ids
   no longer tell when each person finished, and the time order of transaction ids cannot narrow
   a response down to the submissions between two releases, only to the cell's completions.
4. `vacuum` then removes the dead row versions (held rows, deleted drafts and draft links, the old
   versions of invitation rows) on PostgreSQL, outside a transaction. On SQLite every connection
   runs with `PRAGMA secure_delete=ON` (survey/db.py), so deleted rows are zeroed in the file.

What this does not hide is documented in README ("Anonymity by construction"): a held row is
linked (by `xmin` on PostgreSQL, and by time to anyone watching the live database) until it is
released, and a cell released with fewer than k submissions at the end of a wave is only as
anonymous as its size.

Services flush, never commit: the caller commits, then calls `vacuum`.
"""

import logging
import os
import random
import threading
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from survey.db import wait_to_write
from survey.responses.models import Answer, HeldSubmission, Response, new_response_id
from survey.sampling.models import Invitation, InvitationUnit

log = logging.getLogger(__name__)

CELL = ("wave_id", "questionnaire_version_id", "group_id", "unit_id", "stratum_id", "cluster_code",
        "mode", "language")
# Tables whose dead row versions could tie a submission to its invitation until vacuumed.
TRACE_TABLES = ("held_submissions", "draft_links", "responses", "answers", "invitation_units",
                "invitations")


class ReleaseConflict(RuntimeError):
    """Another release took some of the held rows first; nothing of this one may be committed."""


@dataclass
class Released:
    """What a release did: responses released, in how many batches, and what is still held."""

    responses: int = 0
    batches: int = 0
    short: list[int] = field(default_factory=list)  # sizes of cells forced out with fewer than k
    held: int = 0


def release(session: Session, batch: int, *, force: bool = False, wave_id: int | None = None,
            rng: random.Random | None = None) -> Released:
    """Release every cell holding at least `batch` submissions (every cell when forced); flush only.

    On PostgreSQL the held rows are locked with SKIP LOCKED, so two releases at once never take the
    same rows; on SQLite, writers are serialised, and a release that finds rows gone raises
    ReleaseConflict (the caller rolls back).
    """
    if batch < 1:
        raise ValueError("a release batch holds at least one submission")
    wait_to_write(session)
    rng = rng or random.SystemRandom()
    held = HeldSubmission.__table__
    columns = [held.c[name] for name in CELL]
    # Count first, so that a release after each submission reads only the cells that are ready.
    counted = select(*columns, func.count()).group_by(*columns)
    if wave_id is not None:
        counted = counted.where(held.c.wave_id == wave_id)
    report = Released()
    responses, answers = [], []
    for *key, waiting in session.execute(counted).all():
        if waiting < batch and not force:
            report.held += waiting
            continue
        query = select(held).where(*(c.is_not_distinct_from(v) for c, v in zip(columns, key, strict=True)))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        if not rows or (len(rows) < batch and not force):  # another release holds some of them
            report.held += len(rows)
            continue
        ids = [row.id for row in rows]
        if session.execute(delete(held).where(held.c.id.in_(ids))).rowcount != len(ids):
            raise ReleaseConflict("held submissions were released by another process")
        day = max(row.submitted_on for row in rows)
        cell = dict(zip(CELL, key, strict=True))
        for row in rows:
            response_id = new_response_id()
            responses.append(cell | {
                "id": response_id, "status": "complete", "submitted_on": day, "current_page": 0,
                "device_class": row.device_class, "page_seconds": row.page_seconds,
                "form_number": row.form_number, "entry_pass": 1 if row.form_number else None})
            answers += [_answer(response_id, item) for item in row.answers]
        # Clerks' forms have no invitation; SQLite rows carry no transaction id to rewrite.
        if cell["mode"] == "online" and session.get_bind().dialect.name == "postgresql":
            _rewrite_completions(session, cell)
        report.batches += 1
        report.responses += len(rows)
        if len(rows) < batch:
            report.short.append(len(rows))
    rng.shuffle(responses)
    rng.shuffle(answers)
    if responses:
        session.execute(insert(Response.__table__), responses)
    if answers:
        session.execute(insert(Answer.__table__), answers)
    session.flush()
    return report


def cell_ready(session: Session, held: HeldSubmission, batch: int) -> bool:
    """Whether the cell of a held submission now holds at least `batch` submissions (a read only)."""
    table = HeldSubmission.__table__
    same = [table.c[name].is_not_distinct_from(getattr(held, name)) for name in CELL]
    return session.scalar(select(func.count()).select_from(table).where(*same)) >= batch


def _answer(response_id: str, item: list) -> dict:
    """Turn a held `[item_id, column, value]` back into an answers row."""
    item_id, column, value = item
    row = {"response_id": response_id, "item_id": item_id, "value_text": None,
           "value_number": None, "value_date": None, "value_list": None}
    row[column] = date.fromisoformat(value) if column == "value_date" else value
    return row


def _rewrite_completions(session: Session, cell: dict) -> None:
    """Rewrite, unchanged, the done units and completed invitations of a cell in this transaction.

    A row rewritten gets this transaction's id: afterwards every completion of the cell looks as
    if it happened at this release, so `xmin` (and its time order) cannot single out who submitted
    just before it. Open-link invitations have no stratum and no cluster; NULLs compare equal here.
    """
    invitations = select(Invitation.id).where(
        Invitation.wave_id == cell["wave_id"], Invitation.group_id == cell["group_id"],
        Invitation.stratum_id.is_not_distinct_from(cell["stratum_id"]),
        Invitation.cluster_code.is_not_distinct_from(cell["cluster_code"]))
    done = select(InvitationUnit.invitation_id).where(
        InvitationUnit.unit_id == cell["unit_id"], InvitationUnit.status == "done",
        InvitationUnit.invitation_id.in_(invitations))
    units, people = InvitationUnit.__table__, Invitation.__table__
    session.execute(update(units).where(units.c.unit_id == cell["unit_id"], units.c.status == "done",
                                        units.c.invitation_id.in_(invitations)).values(status="done"))
    session.execute(update(people).where(people.c.status == "completed", people.c.id.in_(done))
                    .values(status="completed"))


def held_counts(session: Session, units: list[int] | None = None) -> dict[tuple[int, int], int]:
    """Return how many submissions wait for release per (wave, group), of some units or all of them.

    Counts only, never rows.
    """
    query = select(HeldSubmission.wave_id, HeldSubmission.group_id, func.count())
    if units is not None:
        query = query.where(HeldSubmission.unit_id.in_(units))
    rows = session.execute(query.group_by(HeldSubmission.wave_id, HeldSubmission.group_id)).all()
    return {(wave, group): n for wave, group, n in rows}


def vacuum(engine: Engine) -> None:
    """Remove dead row versions that could tie a submission to its invitation.

    PostgreSQL: VACUUM runs outside a transaction (autocommit). It cannot remove versions that a
    transaction still open elsewhere may see; the next release's vacuum (or `flask responses
    release`, which always vacuums) removes them. SQLite: `secure_delete` zeroes deleted rows in
    the database file, but the write-ahead log (survey/db.py) still holds the pages as they were
    before (a draft, its link, a held row) until a checkpoint; `wal_checkpoint(TRUNCATE)` copies the
    log into the file and empties it. It waits for readers of the old pages up to the busy timeout;
    when one is still reading, the log is left for the next release's checkpoint.
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TRACE_TABLES:
            connection.execute(text(f"VACUUM {table}"))


def vacuum_after_release(engine: Engine, mode) -> None:
    """Vacuum after a release as the setting RELEASE_VACUUM says.

    "background" (the default): on PostgreSQL, this process's vacuum thread runs `vacuum` as soon
    as it is free, so the respondent whose submission completed a batch does not wait for six
    VACUUMs (they took 20-90 % of the submission throughput in `make bench`, and two workers
    vacuuming one table wait for each other); releases that come while it runs are covered by one
    more pass. The dead versions are gone seconds after the release instead of before the thank-you
    page; if the process dies meanwhile, the next release or `flask responses release` (which always
    vacuums) removes them. True: in the request, as before. False: never (autovacuum
    only; not for a live wave). SQLite's checkpoint is cheap and always runs in the request.
    """
    if not mode:
        return
    if mode == "background" and engine.dialect.name == "postgresql":
        _vacuum_thread(engine).wake()
        return
    vacuum(engine)


class _VacuumThread:
    """A daemon thread of one process that vacuums an engine's database when woken, coalescing calls."""

    def __init__(self, engine: Engine):
        self.engine, self.pid = engine, os.getpid()
        self.wanted = threading.Event()
        self.thread = threading.Thread(target=self._run, name="survey-vacuum", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        """Ask for a vacuum that starts after this call (one more pass if one is running)."""
        self.wanted.set()

    def _run(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            try:
                vacuum(self.engine)
            except Exception:  # noqa: BLE001 - a thread must not die; the next release tries again
                log.warning("vacuum after release failed; the next release or `flask responses release` will")


_vacuum_threads: dict[int, _VacuumThread] = {}
_vacuum_threads_lock = threading.Lock()


def _vacuum_thread(engine: Engine) -> _VacuumThread:
    """Return this process's vacuum thread for an engine (a forked worker starts its own)."""
    with _vacuum_threads_lock:
        found = _vacuum_threads.get(id(engine))
        stale = found is None or found.engine is not engine or found.pid != os.getpid()
        if stale or not found.thread.is_alive():
            found = _vacuum_threads[id(engine)] = _VacuumThread(engine)
        return found
