"""Long work outside the request: a `jobs` table, a registry of job kinds, RQ or in-process runners.

Register a function and start it::

    from survey.jobs import job, enqueue

    @job("invitations.send", label=_l("Gửi thư mời"))
    def send(params, progress):
        return send_invitations(db.session, progress.wave, progress=progress, **params)

    record = enqueue("invitations.send", {"channel": "email"}, current_user, wave=wave)
    db.session.commit()   # the job starts after this commit
    return redirect(url_for("jobs.job", job_id=record.id))

See survey/jobs/runner.py for how jobs run (RQ worker, thread, or synchronously in tests).
"""

from survey.jobs.models import JobRecord
from survey.jobs.registry import job
from survey.jobs.runner import JobRefused, Progress, enqueue
from survey.jobs.texts import message

__all__ = ["JobRecord", "JobRefused", "Progress", "enqueue", "job", "message"]
