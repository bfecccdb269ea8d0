"""Showing and saving questionnaire pages, for respondents and for clerks entering paper forms."""

import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, flash, redirect, render_template, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from survey.db import Database, db
from survey.definitions.model import Questionnaire
from survey.respond import flow
from survey.respond.forms import page_form, raw_values
from survey.respond.messages import error_messages, script_messages
from survey.responses import release
from survey.responses.models import Response


@dataclass
class Answering:
    """One draft being answered: its definition, its URLs, and how it is submitted."""

    draft: Response
    definition: Questionnaire
    urls: object  # has page(index) and done()
    unit: object | None
    submit: Callable[[Response], object]  # flushes the held submission; the caller commits


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


def show(answering: Answering, index: int, form=None, errors=None, status=200):
    """Render a page, first moving a tampered or hidden page number to an allowed one."""
    draft, definition = answering.draft, answering.definition
    answers = flow.answers_of(draft)
    visible = flow.visible_pages(definition, answers)
    if form is None:  # a re-shown page with errors stays where it is
        allowed = flow.resolve_page(definition, answers, index, visible)
        if allowed != index:
            return redirect(answering.urls.page(allowed))
    session["shown"] = [draft.id, index, time.time()]
    section = definition.sections[index]
    texts = text_language(definition)
    form = form or page_form(section, texts, answers)
    position = visible.index(index) if index in visible else len(visible) - 1
    return render_template(
        "respond/page.html", definition=definition, section=section, form=form,
        errors=error_messages(section, errors or {}, texts), lang=texts,
        position=position + 1, total=len(visible),
        is_last=flow.is_last_page(definition, answers, index, visible),
        back_url=answering.urls.page(visible[position - 1]) if position > 0 else None,
        answers=flow.plain(answers), unit=answering.unit, mode=draft.mode,
        not_shown=flow.not_shown(section, answers), script_messages=script_messages(),
    ), status


def post(answering: Answering, index: int):
    """Save a posted page, then show the next page, the errors, or submit.

    CSRFProtect has already refused a post without a valid token (see survey/errors.py).
    """
    draft, definition = answering.draft, answering.definition
    section = definition.sections[index]
    form = page_form(section, text_language(definition), flow.answers_of(draft), formdata=request.form)
    _record_paradata(draft, section, index)
    action = request.form.get("action", "next")
    step = flow.save_page(db.session, draft, definition, index, raw_values(form, section), action)
    draft.language = language()
    if step.errors:
        db.session.commit()
        return show(answering, index, form=form, errors=step.errors, status=422)
    if not step.submit:
        draft.current_page = step.page
        db.session.commit()
        if step.last:
            flash(_("Đây là trang cuối. Bấm “Gửi phiếu” để hoàn thành."), "status")
        return redirect(answering.urls.page(step.page))
    missing = flow.ready_to_submit(definition, draft)
    if missing is not None:
        draft.current_page = missing
        db.session.commit()
        flash(_("Còn câu hỏi bắt buộc chưa trả lời."), "error")
        return redirect(answering.urls.page(missing))
    return _submit(answering)


def _submit(answering: Answering):
    """Submit in one transaction; a concurrent second submission finds nothing left to submit.

    Then, in a transaction of its own, release the cells that now hold k submissions.
    """
    try:
        answering.submit(answering.draft)
        db.session.commit()
    except (IntegrityError, StaleDataError):
        db.session.rollback()
    else:
        release_ready()
    session.pop("shown", None)
    return redirect(answering.urls.done())


def release_ready() -> None:
    """Release the cells holding at least RELEASE_BATCH submissions, commit, then vacuum.

    Runs after the submission's commit, never in its transaction (that would give the responses
    the submission's transaction id). A release that collides with another one, or a vacuum that
    fails, is left for the next submission or for `flask responses release`: the respondent's
    submission is already safe.
    """
    try:
        released = release.release(db.session, current_app.config["RELEASE_BATCH"])
        db.session.commit()
    except (release.ReleaseConflict, DBAPIError):
        db.session.rollback()
        current_app.logger.warning("held submissions not released now; a later release will")
        return
    if released.responses and current_app.config["RELEASE_VACUUM"]:
        try:
            release.vacuum(Database.engine(current_app))
        except DBAPIError:
            current_app.logger.warning("vacuum after release failed; run `flask responses release`")


def _record_paradata(draft, section, index):
    """Add the seconds since this page was shown and the device class to the draft."""
    shown = session.get("shown")
    seconds = None
    if isinstance(shown, list) and len(shown) == 3 and shown[:2] == [draft.id, index]:
        seconds = time.time() - float(shown[2])
    device = flow.device_class(request.headers.get("User-Agent", "")) if draft.mode == "online" else None
    flow.add_paradata(draft, section.id, seconds, device)
