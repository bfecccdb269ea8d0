"""Long work outside the request: a `jobs` table, a registry of job kinds, RQ or in-process runners.

Register a function and start it::

    from survey.jobs import job, enqueue

    @job("invitations.send", label=_l("Gửi thư mời"), back=lambda p: ("waves.wave", {"code": p["wave"]}))
    def send(params, progress): return send_invitations(db.session, progress.wave, params["channel"],
                                                        progress=progress)

    record = enqueue("invitations.send", {"wave": wave.code, "channel": "email"}, current_user, wave=wave)
    db.session.commit()   # the job starts after this commit
    return redirect(url_for("jobs.job", job_id=record.id))

The function gets the parameters (JSON) and a ``Progress`` (callable as ``progress(done, total)``;
``progress.wave`` and ``progress.user`` are the job's wave and requester in the job's session) and
returns what the job page shows: a dict (``summary``, ``notes``, ``links``, ``problems`` have a
meaning, see survey/templates/jobs/job.html; other keys are listed as they are), a dataclass, a
number or None. The runner commits the job's work once, with its outcome; a job that must keep
partial work (e-mails already sent) commits as it goes. ``raise JobRefused(_l("..."))`` ends it
with a message for the user. See survey/jobs/runner.py for how jobs run (RQ worker, thread, or
synchronously in tests).
"""

from survey.jobs.models import JobRecord
from survey.jobs.registry import job
from survey.jobs.runner import JobRefused, Progress, enqueue
from survey.jobs.texts import message

__all__ = ["JobRecord", "JobRefused", "Progress", "enqueue", "job", "message"]
