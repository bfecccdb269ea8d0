"""Sending invitation and reminder e-mails as a job, outside the request.

A thousand e-mails take longer than a request may run (gunicorn's timeout): the page enqueues this
job and shows its progress. Each e-mail sent is committed at once, so that a job stopped half-way
(the worker restarted, the mail server went away) never sends the same e-mail twice when run again.
"""

from flask_babel import lazy_gettext as _l

from survey.auth.models import record
from survey.config import ConfigError
from survey.db import db
from survey.jobs import JobRefused, job, message
from survey.sampling import invitations as service
from survey.sampling.service import WaveError

SEND_JOB = "invitations.send"


@job(SEND_JOB, label=_l("Gửi thư mời và thư nhắc"), back=lambda p: ("invitations.index", {"code": p["wave"]}))
def send(params: dict, progress) -> dict:
    """E-mail a wave's invitations (``kind`` "invitation") or reminders, for ``unit_ids`` or all units."""
    wave = progress.wave
    kind = params["kind"]

    def sent(done: int, total: int) -> None:
        """Keep each e-mail sent (committed), then report progress."""
        db.session.commit()
        progress(done, total)

    try:
        result = service.send_invitations(db.session, wave, kind=kind, unit_ids=params.get("unit_ids"),
                                          progress=sent)
    except WaveError as exc:
        # The page checked the wave is open; it was closed in between.
        raise JobRefused(_l("Chỉ gửi được thư điện tử khi đợt khảo sát đang mở.")) from exc
    except ConfigError as exc:
        raise JobRefused(_l("Chưa cấu hình máy chủ thư điện tử: %(problem)s", problem=str(exc))) from exc
    record(db.session, f"invitations.{'reminded' if kind == 'reminder' else 'emailed'}",
           target=f"wave:{wave.code}", user=progress.user, sent=result.sent, failed=result.failed,
           units=params.get("codes") or None, stopped=result.stopped, job=progress.job_id)
    notes = []
    if result.failed:
        notes.append(message(_l("%(n)s địa chỉ bị máy chủ thư từ chối; sẽ thử lại ở lần gửi sau.",
                                n=result.failed)))
    if result.stopped:
        notes.append(message(_l("Việc gửi dừng giữa chừng vì máy chủ thư không trả lời; những thư đã gửi "
                                "được ghi lại, hãy gửi lại sau.")))
    return {"summary": message(_l("Đã gửi %(sent)s thư điện tử.", sent=result.sent)), "notes": notes,
            "sent": result.sent, "failed": result.failed,
            "links": [{"endpoint": "invitations.index", "values": {"code": wave.code},
                       "label": message(_l("Quay lại trang thư mời"))}]}
