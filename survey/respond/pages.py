"""Showing and saving questionnaire pages, for respondents and for clerks entering paper forms.

The web side of answering: reads the request and the Flask session, calls the answering service
(survey/respond/answering.py, which owns the draft's page, language, paradata and submission), commits
once, then renders, flashes or redirects.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, flash, jsonify, redirect, render_template, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError

from survey import metrics, requestlog
from survey.db import Database, db
from survey.definitions.model import Questionnaire
from survey.instruments import paper
from survey.respond import answering as answering_service
from survey.respond import flow
from survey.respond.forms import page_form, raw_values
from survey.respond.messages import error_messages, script_messages
from survey.responses import release
from survey.responses.models import HeldSubmission, Response
from survey.sampling.models import Invitation


@dataclass
class Answering:
    """One draft being answered: its definition, its URLs, and how it is submitted."""

    draft: Response
    definition: Questionnaire
    urls: object  # has page(index) and done(), and autosave(index) for a respondent
    unit: object | None
    invitation: Invitation | None = None  # whose unit is marked done on submission; none for a clerk


def language() -> str:
    """Return the language pages are shown in."""
    return str(get_locale() or "vi")


def text_language(definition: Questionnaire) -> str:
    """Return the language of the questionnaire's texts: one of its own picked with ?text= (kept in the
    session), else the page language. An imported form may be in languages the pages are not."""
    codes = [code for code, _name in definition.text_languages()]
    key = f"text_lang:{definition.id}"  # a choice for one questionnaire does not carry over to another
    wanted = request.args.get("text")
    if wanted in codes:
        session[key] = wanted
    chosen = session.get(key)
    if chosen in codes:
        return chosen
    return language() if language() in codes else codes[0]


def show(answering: Answering, index: int, form=None, errors=None, status=200, failed=False):
    """Render a page, first moving a tampered or hidden page number to an allowed one."""
    draft, definition = answering.draft, answering.definition
    view = answering_service.page_view(draft, definition, index, stay=form is not None,
                                       invitation=answering.invitation)
    if view.redirect_to is not None:
        return redirect(answering.urls.page(view.redirect_to))
    session["shown"] = [draft.id, index, time.time()]
    section = definition.sections[index]
    texts = text_language(definition)
    form = form or page_form(section, texts, view.answers)
    autosave = getattr(answering.urls, "autosave", None)
    return render_template(
        "respond/page.html", definition=definition, section=section, form=form,
        errors=error_messages(section, errors or {}, texts), lang=texts,
        position=view.position, total=view.total, is_last=view.is_last,
        back_url=answering.urls.page(view.back) if view.back is not None else None,
        answers=flow.plain(view.answers), unit=answering.unit, mode=draft.mode,
        not_shown=view.not_shown, script_messages=script_messages(),
        failed=failed, request_id=request_id(), autosave_url=autosave(index) if autosave else None,
        profile_once=section.once and answering_service.shares_profile(definition, answering.invitation),
        several_units=answering.invitation is not None and len(answering.invitation.units) > 1,
        **numbering(definition, section, view.answers, texts, view.not_shown),
    ), status


def numbering(definition: Questionnaire, section, answers: dict, texts: str, not_shown: set) -> dict:
    """Return what a page shows about where it is: its section number, the earlier sections skipped
    for these answers, and the condition in words of each item shown that the script may hide
    (without JavaScript, or before it runs, the item stays and says when to answer it)."""
    numbers, visible = definition.numbers(), set(flow.visible_pages(definition, answers))
    index = definition.sections.index(section)
    conditions = {}
    for item in section.items:
        skip = None if item.id in not_shown else paper.item_skip(item, numbers, definition, texts)
        if skip:
            conditions[item.id] = skip
    return {"section_number": definition.section_numbers()[section.id],
            "skipped": [n for n in range(1, index + 1) if n - 1 not in visible],
            "conditions": conditions}


def post(answering: Answering, index: int, before_commit: Callable[[answering_service.Outcome], None]
         | None = None):
    """Save a posted page, then show the next page, the errors, or submit.

    Parses the request, hands the page to the answering service, then commits once. A submission or a
    commit the database refuses is logged and said as it is, on the same page with the answers kept
    in the form: a 409 or 500, never a thank-you. `before_commit` adds to the same transaction (the
    clerk's audit entry of a submitted form). CSRFProtect has already refused a post without a valid
    token (see survey/errors.py).
    """
    form, outcome = _save(answering, index, _action(), before_commit)
    if outcome.failed:
        return show(answering, index, form=form, failed=True, status=outcome.status)
    if outcome.errors:
        return show(answering, index, form=form, errors=outcome.errors, status=outcome.status)
    if outcome.submitted:
        metrics.submitted(outcome.held.mode)  # committed: count it (read before the release moves it)
        release_ready(outcome.held)
        session.pop("shown", None)
        return redirect(answering.urls.done())
    if outcome.notice == "last_page":
        flash(_("Đây là trang cuối. Bấm “Gửi phiếu” để hoàn thành."), "status")
    elif outcome.notice == "required_missing":
        flash(_("Còn câu hỏi bắt buộc chưa trả lời."), "error")
    elif outcome.notice == "saved":
        flash(_("Đã lưu các câu trả lời. Ông/Bà có thể đóng trang và mở lại đường link để tiếp tục."),
              "status")
    return redirect(answering.urls.page(outcome.page))


def _action() -> str:
    """Return what the pressed button asks: "next", "back", "submit", or saving without moving on.

    "Lưu và tiếp tục sau" (name "save") and the language switch (name "switch") have names of their own,
    so that a page's forward button stays the only `action` that is not "back".
    """
    if "save" in request.form:
        return "save"
    if "switch" in request.form:
        return "switch"
    action = request.form.get("action", "next")
    return "save" if action == "autosave" else action  # only the script's own endpoint autosaves


def autosave(answering: Answering, index: int):
    """Store the page's answers posted by the page script as the person goes: JSON, never a redirect.

    Saves what is valid, stays on the page, never submits; a refused write says so (409 or 500).
    """
    _form, outcome = _save(answering, index, "autosave")
    if outcome.failed:
        return jsonify(saved=False, request_id=request_id()), outcome.status
    return jsonify(saved=True)


def _save(answering: Answering, index: int, action: str, before_commit: Callable | None = None):
    """Parse the posted page, hand it to the answering service, commit once; return (form, outcome)."""
    draft, definition = answering.draft, answering.definition
    section = definition.sections[index]
    form = page_form(section, text_language(definition), flow.answers_of(draft), formdata=request.form)
    posted = answering_service.Posted(
        values=raw_values(form, section), action=action, language=language(),
        seconds=None if action == "autosave" else _seconds_on_page(draft, index), device=_device(draft))
    outcome = answering_service.post_page(db.session, draft, definition, answering.invitation, index,
                                          posted, request_id())
    try:
        if before_commit is not None and outcome.submitted:
            before_commit(outcome)
        db.session.commit()
    except answering_service.FAILURES as error:
        db.session.rollback()
        answering_service.log_failure(error, request_id(), "saving a page")
        outcome = answering_service.Outcome(page=index, failed=True,
                                            status=answering_service.failure_status(error))
    return form, outcome


def request_id() -> str:
    """Return this request's id (survey/requestlog.py), to quote in logs and error messages."""
    return requestlog.request_id() or "-"


def release_ready(held: object | None = None) -> None:
    """Release the cells holding at least RELEASE_BATCH submissions, commit, then vacuum.

    Runs after the submission's commit, never in its transaction (that would give the responses
    the submission's transaction id). Given the submission just held, nothing is done unless its
    cell now holds a whole batch (one count, no write): this submission changed no other cell, and
    each was looked at after its own last submission. A release that collides with another one, or
    a vacuum that fails, is left for the cell's next submission or for `flask responses release`
    (hourly from cron, docs/security.md): the respondent's submission is already safe.
    """
    if isinstance(held, HeldSubmission) and not release.cell_ready(
            db.session, held, current_app.config["RELEASE_BATCH"]):
        db.session.commit()  # end the read, as a release would
        return
    try:
        released = release.release(db.session, current_app.config["RELEASE_BATCH"])
        db.session.commit()
    except (release.ReleaseConflict, DBAPIError):
        db.session.rollback()
        current_app.logger.warning("held submissions not released now; a later release will")
        return
    if released.responses:
        try:
            release.vacuum_after_release(Database.engine(current_app), current_app.config["RELEASE_VACUUM"])
        except DBAPIError:
            current_app.logger.warning("vacuum after release failed; run `flask responses release`")


def _seconds_on_page(draft: Response, index: int) -> float | None:
    """Return the seconds since this page was shown to this draft, if the session says when."""
    shown = session.get("shown")
    if isinstance(shown, list) and len(shown) == 3 and shown[:2] == [draft.id, index]:
        return time.time() - float(shown[2])
    return None


def _device(draft: Response) -> str | None:
    """Return the device class of an online respondent (none for a clerk's entry)."""
    return flow.device_class(request.headers.get("User-Agent", "")) if draft.mode == "online" else None
