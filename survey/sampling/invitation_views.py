"""Invitation pages: issue a wave's invitations, download links and letters, e-mail, remind; opt-out.

Coordinators (and administrators) only; a scoped coordinator issues, downloads, prints and e-mails
only for the people of their units (the unit of the person's stratum), in the queries. Downloads of
contact details, issuing and sending write audit entries. The opt-out page (/r/<token>/opt-out) is
the respondents', reached from the link in every e-mail.
"""

import re

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectChoice, SelectField

from survey.auth.access import roles_required
from survey.auth.models import record
from survey.config import ConfigError
from survey.db import db
from survey.jobs import enqueue
from survey.respond import limits
from survey.respond.views import find_invitation, province
from survey.sampling import invitation_jobs
from survey.sampling import invitations as service
from survey.sampling.models import FrameEntry, Invitation, RespondentGroup, Stratum, Unit, Wave
from survey.sampling.service import WaveError
from survey.sampling.views import ConfirmForm, _named, refusal, wave_or_404

bp = Blueprint("invitations", __name__)
COORDINATORS = ("coordinator",)
LETTERS_AT_ONCE = 300  # more people than this: print letters unit by unit
LANGUAGE_NAMES = {"vi": _l("Tiếng Việt"), "en": _l("Tiếng Anh")}


class IssueForm(FlaskForm):
    """The language of the invitations to make."""

    language = SelectField(_l("Ngôn ngữ của thư mời"), default="vi",
                           choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()])


def _scope_units(codes: list[str]) -> list[int] | None:
    """The unit ids to work on: the chosen units (404 outside the user's scope), else the user's scope."""
    scope = current_user.unit_scope
    if not codes:
        return scope
    units = db.session.scalars(select(Unit).where(Unit.code.in_(codes))).all()
    if len(units) != len(set(codes)) or any(not current_user.may_see_unit(u.id) for u in units):
        abort(404)
    return [u.id for u in units]


def _unit_label(unit_ids: list[int] | None) -> str:
    """The chosen units' names, for the confirmation page."""
    if unit_ids is None:
        return ""
    return ", ".join(_named(u) for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids))
                                                          .order_by(Unit.code)))


def _summary(wave: Wave, unit_ids: list[int] | None) -> dict:
    """Selected people, invitations made and per status, in the user's units."""
    selected = (select(func.count()).select_from(FrameEntry)
                .join(Stratum, Stratum.id == FrameEntry.stratum_id)
                .where(FrameEntry.wave_id == wave.id, FrameEntry.selection_probability.is_not(None)))
    invited = (select(Invitation.status, func.count()).join(Stratum, Stratum.id == Invitation.stratum_id)
               .where(Invitation.wave_id == wave.id, Invitation.source == "frame",
                      Invitation.frame_entry_id.is_not(None)))
    opted = (select(func.count()).select_from(Invitation).join(Stratum, Stratum.id == Invitation.stratum_id)
             .where(Invitation.wave_id == wave.id, Invitation.opted_out_at.is_not(None)))
    if unit_ids is not None:
        selected = selected.where(Stratum.unit_id.in_(unit_ids))
        invited = invited.where(Stratum.unit_id.in_(unit_ids))
        opted = opted.where(Stratum.unit_id.in_(unit_ids))
    statuses = dict(db.session.execute(invited.group_by(Invitation.status)).all())
    total = sum(statuses.values())
    return {"selected": db.session.scalar(selected), "invited": total, "statuses": statuses,
            "opted_out": db.session.scalar(opted)}


def _units_with_people(wave: Wave, unit_ids: list[int] | None) -> list[tuple[Unit, int]]:
    """The units whose people have invitations, with how many (for printing unit by unit)."""
    query = (select(Unit, func.count()).join(Stratum, Stratum.unit_id == Unit.id)
             .join(Invitation, Invitation.stratum_id == Stratum.id)
             .where(Invitation.wave_id == wave.id, Invitation.source == "frame").group_by(Unit.id)
             .order_by(Unit.code))
    if unit_ids is not None:
        query = query.where(Unit.id.in_(unit_ids))
    return [(u, n) for u, n in db.session.execute(query).all()]


def _page(wave: Wave, form: IssueForm | None = None, status: int = 200, errors: list[str] | None = None):
    """Render the wave's invitations page."""
    unit_ids = current_user.unit_scope
    config = current_app.config
    return render_template(
        "invitations/index.html", wave=wave, summary=_summary(wave, unit_ids), form=form or IssueForm(),
        confirm_form=ConfirmForm(), units=_units_with_people(wave, unit_ids), errors=errors or [],
        invitation_plan=service.plan(db.session, wave, "invitation", unit_ids),
        reminder_plan=service.plan(db.session, wave, "reminder", unit_ids),
        reminder_max=config["REMINDER_MAX"], reminder_days=config["REMINDER_INTERVAL_DAYS"],
        mail_backend=_mail_settings()[0], scoped=unit_ids is not None, named=_named), status


def _mail_settings() -> tuple[str, str | None]:
    """The configured mail backend, and why e-mail cannot be sent with it (None when it can).

    A configuration problem is shown to the coordinator (as the backend's description and, before a
    job is started, as the refusal) instead of a 500.
    """
    from survey.mail import backend

    try:
        return backend(current_app.config), None
    except ConfigError as exc:
        return str(exc), _("Chưa cấu hình máy chủ thư điện tử: %(problem)s", problem=str(exc))


@bp.get("/staff/waves/<code>/invitations")
@roles_required(*COORDINATORS)
def index(code: str):
    """The wave's invitations: issue them, download links and letters, e-mail and remind."""
    return _page(wave_or_404(code))


@bp.post("/staff/waves/<code>/invitations")
@roles_required(*COORDINATORS)
def issue(code: str):
    """Make the missing invitations of the selected people of the user's units."""
    wave = wave_or_404(code)
    form = IssueForm()
    if not form.validate_on_submit():
        return _page(wave, form, 422, [_("Xin sửa các ô được đánh dấu bên dưới.")])
    unit_ids = current_user.unit_scope
    try:
        result = service.issue(db.session, wave, current_app.config["TOKEN_KEY"], language=form.language.data,
                               unit_ids=unit_ids, per_person=current_app.config["RATED_UNITS_PER_PERSON"])
    except WaveError as exc:
        db.session.rollback()
        return _page(wave, form, 422, [refusal(exc)])
    record(db.session, "invitations.issued", target=f"wave:{wave.code}", user=current_user,
           created=result.created, language=form.language.data, scoped=unit_ids is not None)
    db.session.commit()
    flash(_("Đã tạo %(created)s thư mời (%(already)s người đã có thư mời).", created=result.created,
            already=result.already), "status")
    if result.no_questionnaire or result.no_units:
        flash(_("%(n)s người được chọn chưa có thư mời: nhóm của họ chưa được giao bảng hỏi hoặc không "
                "có đơn vị để đánh giá.", n=result.no_questionnaire + result.no_units), "notice")
    return redirect(url_for(".index", code=wave.code), 303)


def _file_name(wave: Wave, stem: str, ext: str) -> str:
    """A safe download name."""
    return f"{stem}-{re.sub(r'[^A-Za-z0-9_.-]', '_', wave.code)}.{ext}"


@bp.get("/staff/waves/<code>/invitations/links.csv")
@roles_required(*COORDINATORS)
def links_csv(code: str):
    """The personalised links of the user's units as CSV (for the province's SMS or Zalo sender)."""
    wave = wave_or_404(code)
    unit_ids = _scope_units(request.args.getlist("unit"))
    found = service.people(db.session, wave, current_app.config["TOKEN_KEY"], unit_ids=unit_ids)
    record(db.session, "invitations.links_downloaded", target=f"wave:{wave.code}", user=current_user,
           people=len(found), units=None if unit_ids is None else len(unit_ids))
    db.session.commit()
    response = Response(service.links_csv(found, service.public_base()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{_file_name(wave, "duong-dan", "csv")}"'
    return response


def _printable(code: str, template: str, action: str):
    """Letters or slips of the chosen unit (or all the user's units when few), one QR code per person."""
    import segno

    wave = wave_or_404(code)
    unit_ids = _scope_units(request.args.getlist("unit"))
    group = None
    if request.args.get("group"):
        group = db.session.scalar(select(RespondentGroup).filter_by(code=request.args["group"]))
        if group is None:
            abort(404)
    found = service.people(db.session, wave, current_app.config["TOKEN_KEY"], unit_ids=unit_ids,
                           group_id=group.id if group else None)
    if len(found) > LETTERS_AT_ONCE and not request.args.getlist("unit"):
        return render_template("invitations/choose_unit.html", wave=wave,
                               units=_units_with_people(wave, unit_ids), endpoint=request.endpoint,
                               limit=LETTERS_AT_ONCE, named=_named)
    base = service.public_base()
    printed = [(p, service.link(base, p.token), segno.make(service.link(base, p.token), error="m")
                .svg_inline(scale=3, border=2, omitsize=True)) for p in found if p.token]
    record(db.session, action, target=f"wave:{wave.code}", user=current_user, people=len(printed))
    db.session.commit()
    return render_template(template, wave=wave, printed=printed, missing=len(found) - len(printed),
                           province=province(), named=_named)


@bp.get("/staff/waves/<code>/invitations/letters")
@roles_required(*COORDINATORS)
def letters(code: str):
    """Printable A4 letters, one per person, with the link and its QR code (?unit=CODE, ?group=CODE)."""
    return _printable(code, "invitations/letters.html", "invitations.letters_printed")


@bp.get("/staff/waves/<code>/invitations/slips")
@roles_required(*COORDINATORS)
def slips(code: str):
    """Cut-out slips, eight to an A4 sheet, each with a person's link and QR code."""
    return _printable(code, "invitations/slips.html", "invitations.slips_printed")


def _mail(code: str, kind: str):
    """Preview (counts) on a first post, send on a confirmed one; audit and go back to the page."""
    wave = wave_or_404(code)
    codes = request.form.getlist("unit")
    unit_ids = _scope_units(codes)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    counts = service.plan(db.session, wave, kind, unit_ids)
    if request.form.get("confirm") != "1":
        return render_template("invitations/confirm_mail.html", wave=wave, kind=kind, counts=counts,
                               codes=codes, unit_label=_unit_label(unit_ids if codes else None), form=form,
                               reminder_max=current_app.config["REMINDER_MAX"],
                               reminder_days=current_app.config["REMINDER_INTERVAL_DAYS"],
                               action=url_for(".remind" if kind == "reminder" else ".send", code=wave.code))
    problem = _mail_settings()[1]
    if problem is not None:
        return _page(wave, status=422, errors=[problem])
    if wave.status != "open":  # the job would refuse too; say it now
        return _page(wave, status=422, errors=[refusal(WaveError(
            f"wave {wave.code} is {wave.status}", "not_open_for_mail", status=wave.status))])
    # Sending runs as a job (survey/sampling/invitation_jobs.py): the page follows its progress.
    started = enqueue(invitation_jobs.SEND_JOB, {"wave": wave.code, "kind": kind, "unit_ids": unit_ids,
                                                  "codes": codes}, current_user, wave=wave)
    db.session.commit()
    return redirect(url_for("jobs.job", job_id=started.id), 303)


@bp.post("/staff/waves/<code>/invitations/send")
@roles_required(*COORDINATORS)
def send(code: str):
    """E-mail the invitation to the selected people who have an address and were not e-mailed yet."""
    return _mail(code, "invitation")


@bp.post("/staff/waves/<code>/reminders")
@roles_required(*COORDINATORS)
def remind(code: str):
    """Remind by e-mail the people who have not completed (optionally of some units: unit=CODE...)."""
    return _mail(code, "reminder")


@bp.route("/r/<token>/opt-out", methods=["GET", "POST"])
@limits.failed_lookups
@limits.lookups
def opt_out(token: str):
    """Let an invited person stop the e-mails (a button: mail scanners that open links change nothing)."""
    invitation = find_invitation(token)
    form = ConfirmForm()
    done = invitation.opted_out_at is not None
    if not done and form.validate_on_submit():
        service.opt_out(db.session, invitation)
        db.session.commit()
        done = True
    return render_template("invitations/opt_out.html", wave=invitation.wave, form=form, done=done,
                           token=token)
