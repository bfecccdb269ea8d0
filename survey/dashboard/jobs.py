"""The analysis report as a job: computed outside the request, the previous report kept until it is replaced.

The report of a scope is written to a fresh folder next to it and swapped in only when complete, so
that the analysts' page and downloads keep serving the previous report while the new one is
computed, and a failed computation leaves the previous report as it was.
"""

import os
import secrets
import shutil
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from survey.auth.models import record
from survey.db import db
from survey.jobs import JobRefused, job, message
from survey.sampling.models import Wave

REPORT_JOB = "analysis.report"
STEPS = 4


def swap_in(new: Path, folder: Path) -> None:
    """Put the complete report folder `new` in the place of `folder`, then delete the old one.

    Two renames: the old folder is moved aside, the new one takes its name (a reader between the two
    sees no report for a moment, never half of one). Runs twice if another job swapped meanwhile.
    """
    for _ in range(3):
        old = folder.parent / f".old-{secrets.token_hex(8)}"
        try:
            os.rename(folder, old)
        except FileNotFoundError:
            old = None
        try:
            os.rename(new, folder)
        except OSError:  # another job's report arrived between the two renames: try again
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            continue
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return
    raise RuntimeError(f"could not put the new report in place of {folder}")


@job(REPORT_JOB, label=_l("Tính báo cáo phân tích"), back=lambda p: ("dashboard.wave", {"code": p["wave"]}))
def compute_report(params: dict, progress) -> dict:
    """Compute a wave's report for a scope (``units``: codes, or None for every unit) under a policy."""
    progress(0, STEPS, _l("Đang đọc các phiếu hoàn thành"))
    from analysis.quality import QualityPolicy
    from analysis.report import TooManyReplicates
    from survey.dashboard.views import report_dir
    from survey.responses import export

    wave = db.session.scalar(select(Wave).filter_by(code=params["wave"]))
    if wave is None:
        raise JobRefused(_l("Không có đợt khảo sát %(code)s.", code=params["wave"]))
    units = params.get("units")
    policy = QualityPolicy(exclude_speeders=bool(params.get("exclude_speeders")),
                           exclude_straightliners=bool(params.get("exclude_straightliners")))
    progress(1, STEPS, _l("Đang tính các chỉ số và khoảng tin cậy"))
    folder = report_dir(wave, units)
    folder.parent.mkdir(parents=True, exist_ok=True)
    new = folder.parent / f".new-{secrets.token_hex(8)}"
    try:
        _written, count, found = export.write_wave_report(
            db.session, wave, current_app.config["QUESTIONNAIRE_DIRS"], new, policy=policy, units=units,
            replicates=params.get("replicates"))
        progress(3, STEPS, _l("Đang thay báo cáo cũ bằng báo cáo mới"))
        swap_in(new, folder)
    except export.NoResponses:
        raise JobRefused(_l("Đợt khảo sát chưa có phiếu hoàn thành.")) from None
    except TooManyReplicates:
        raise JobRefused(_l("Jackknife cần quá nhiều bản lặp (một bản cho mỗi đơn vị mẫu cấp 1); "
                            "hãy chọn bootstrap.")) from None
    finally:
        shutil.rmtree(new, ignore_errors=True)
    notes = []
    if found.unpinned:
        notes.append(message(_l("Đợt khảo sát chưa gắn với một phiên bản đã công bố của khung chỉ số "
                                "%(frameworks)s; báo cáo dùng phiên bản mới nhất.",
                                frameworks=", ".join(found.unpinned))))
    record(db.session, "analysis.report", target=f"wave:{wave.code}", user=progress.user,
           policy=policy.to_dict(), responses=count, units=units, job=progress.job_id,
           replicates=params.get("replicates"))
    return {"summary": message(_l("Đã tính xong báo cáo.")), "notes": notes, "responses": count,
            "links": [{"endpoint": "dashboard.wave", "values": {"code": wave.code},
                       "label": message(_l("Xem báo cáo"))}]}

