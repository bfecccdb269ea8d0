"""The analysis report as a job: computed outside the request, the previous report kept until it is replaced.

The report of a scope is written to a fresh folder next to it and swapped in only when complete, so
that the analysts' page and downloads keep serving the previous report while the new one is
computed, and a failed computation leaves the previous report as it was.
"""

import os
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from survey.auth.models import record
from survey.dashboard import results
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
    from analysis.report import write_report
    from survey.dashboard.views import report_dir
    from survey.responses import export

    wave = db.session.scalar(select(Wave).filter_by(code=params["wave"]))
    if wave is None:
        raise JobRefused(_l("Không có đợt khảo sát %(code)s.", code=params["wave"]))
    units = params.get("units")
    responses = export.responses_frame(db.session, wave)
    if responses.empty or (units is not None and not responses["unit"].isin(units).any()):
        raise JobRefused(_l("Đợt khảo sát chưa có phiếu hoàn thành."))
    found = export.documents(db.session, wave, current_app.config["QUESTIONNAIRE_DIRS"])
    notes = []
    if found.unpinned:
        notes.append(message(_l("Đợt khảo sát chưa gắn với một phiên bản đã công bố của khung chỉ số "
                                "%(frameworks)s; báo cáo dùng phiên bản mới nhất.",
                                frameworks=", ".join(found.unpinned))))
    policy = QualityPolicy(exclude_speeders=bool(params.get("exclude_speeders")),
                           exclude_straightliners=bool(params.get("exclude_straightliners")))
    progress(1, STEPS, _l("Đang tính các chỉ số và khoảng tin cậy"))
    folder = report_dir(wave, units)
    folder.parent.mkdir(parents=True, exist_ok=True)
    new = folder.parent / f".new-{secrets.token_hex(8)}"
    now = datetime.now(UTC)
    try:
        write_report(responses, export.strata_frame(db.session, wave), found.questionnaires,
                     found.frameworks, new, policy=policy, wave=wave.code, units=units,
                     preface=[_preface(wave.status, now)])
        results.write_meta(new, wave, found.frameworks, len(responses), policy.min_responses, now)
        progress(3, STEPS, _l("Đang thay báo cáo cũ bằng báo cáo mới"))
        swap_in(new, folder)
    finally:
        shutil.rmtree(new, ignore_errors=True)
    record(db.session, "analysis.report", target=f"wave:{wave.code}", user=progress.user,
           policy=policy.to_dict(), responses=len(responses), units=units, job=progress.job_id)
    return {"summary": message(_l("Đã tính xong báo cáo.")), "notes": notes, "responses": len(responses),
            "links": [{"endpoint": "dashboard.wave", "values": {"code": wave.code},
                       "label": message(_l("Xem báo cáo"))}]}


def _preface(status: str, now: datetime) -> dict:
    """The HTML report's first notice: when it was computed, and whether the wave was still open."""
    stamp = now.strftime("%Y-%m-%d %H:%M UTC")
    if status in results.INTERIM_STATUSES:
        return {"vi": f"◷ Kết quả giữa kỳ: tính lúc {stamp}, khi đợt khảo sát còn mở; phiếu còn đến, số liệu "
                      "sẽ thay đổi.",
                "en": f"◷ Interim results: computed at {stamp} while the wave was still open; responses are "
                      "still arriving and the figures will change."}
    return {"vi": f"Tính lúc {stamp}; đợt khảo sát đã đóng.",
            "en": f"Computed at {stamp}; the wave was closed."}
