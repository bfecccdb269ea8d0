"""Moving through a questionnaire: saving a page, choosing the next one, submitting.

Shared by respondents (invitation links) and by clerks entering paper forms. No request here:
the views pass in what was posted and commit once.
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from survey.definitions import engine, expressions
from survey.definitions.model import Questionnaire
from survey.responses import service
from survey.responses.models import Response

MAX_PAGE_SECONDS = 3600  # a page left open over lunch is not an hour of reading
# Actions that store a page's valid answers and stay on it: "Lưu và tiếp tục sau", a language switch,
# and the page script's autosave. None of them validates, moves on or submits.
SAVING = ("save", "switch", "autosave")


@dataclass
class Step:
    """Where to go after a posted page: another page (0-based), or submission, or stay."""

    page: int | None = None
    submit: bool = False
    errors: dict | None = None
    last: bool = False


def answers_of(response: Response) -> dict:
    """Return a response's answers as item id -> typed value."""
    return {a.item_id: a.value for a in response.answers}


def visible_pages(definition: Questionnaire, answers: dict, skip: frozenset[int] = frozenset()) -> list[int]:
    """Return the 0-based indices of the pages shown for these answers (less the `skip`ped ones)."""
    return engine.visible_sections(definition, answers, skip)


def resolve_page(definition: Questionnaire, answers: dict, wanted: int, pages: list[int],
                 skip: frozenset[int] = frozenset()) -> int:
    """Return the page to show for a requested index: never past the first incomplete page.

    A tampered or stale page number is moved to a page the respondent may see; `pages` are the
    visible pages for these answers.
    """
    incomplete = engine.first_incomplete(definition, answers, skip)
    if incomplete is not None and wanted > incomplete:
        return incomplete
    following = [p for p in pages if p >= wanted]
    return following[0] if following else pages[-1]


def save_page(session: Session, draft: Response, definition: Questionnaire, page: int,
              form_values: dict, action: str, skip: frozenset[int] = frozenset()) -> Step:
    """Store a page's answers and decide where to go; invalid answers keep the respondent here.

    Going back, and saving without moving (SAVING actions: "save and go on later", a language switch,
    the script's autosave), store what is valid and never block; answers of items that the new
    answers hide are removed from the draft. The draft's current page is the answering service's to set.
    """
    section = definition.sections[page]
    before = answers_of(draft)
    result = engine.read_page(section, form_values, before)
    if result.errors and action != "back" and action not in SAVING:
        return Step(errors=result.errors)
    values = {k: v for k, v in result.values.items() if k not in result.errors}
    merged = {k: v for k, v in (before | values).items() if v is not None}
    kept = engine.prune(definition, merged)
    changed = {item_id: kept.get(item_id) for item_id in set(before) | set(values)
               if kept.get(item_id) != before.get(item_id)}
    service.save_answers(session, draft, definition, changed)
    if action in SAVING:
        return Step(page=page)
    pages = visible_pages(definition, kept, skip)
    if action == "back":
        earlier = [p for p in pages if p < page]
        target = earlier[-1] if earlier else page
    else:
        later = [p for p in pages if p > page]
        if not later:
            # Only an explicit "Gửi phiếu" submits; "Tiếp tục" on what turned out to be the
            # last page comes back to it with the submit button.
            return Step(page=page, submit=action == "submit", last=True)
        target = later[0]
    return Step(page=target)


def add_paradata(draft: Response, section_id: str, seconds: float | None, device: str | None):
    """Add time spent on a page and the device class; nothing that identifies the person.

    Durations are kept in steps of five seconds (service.coarse_seconds), never finer: precise
    durations could be matched to the spans between a web server's log lines.
    """
    if seconds is not None and seconds >= 0:
        spent = dict(draft.page_seconds or {})
        spent[section_id] = spent.get(section_id, 0) + min(seconds, MAX_PAGE_SECONDS)
        draft.page_seconds = service.coarse_seconds(spent)
    if device:
        draft.device_class = device


def device_class(user_agent: str) -> str:
    """Classify a browser as phone, tablet or desktop from its user agent."""
    agent = user_agent.lower()
    if "ipad" in agent or "tablet" in agent or ("android" in agent and "mobile" not in agent):
        return "tablet"
    if "mobi" in agent or "iphone" in agent or "android" in agent:
        return "phone"
    return "desktop"


def ready_to_submit(definition: Questionnaire, draft: Response,
                    skip: frozenset[int] = frozenset()) -> int | None:
    """Return None when every shown required item is answered, else the page to go back to."""
    return engine.first_incomplete(definition, answers_of(draft), skip)


def plain(answers: dict) -> dict:
    """Return answers as JSON-friendly values (dates as ISO text) for the page's script."""
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in answers.items()}


def not_shown(section, answers: dict) -> set[str]:
    """Return the items of a page hidden by answers on other pages (they are not rendered).

    Items that depend on the same page stay in the page, so that they work without JavaScript;
    the script hides them live, and the server drops their answers if they end up hidden.
    """
    on_page = {i.id for i in engine.page_items(section)}
    hidden = set()
    for item in section.items:
        for candidate in (item, *item.rows):
            expr = candidate.relevant_expr()
            if expr is None or expressions.references(expr) & on_page:
                continue
            if not engine.item_visible(candidate, answers):
                hidden.add(candidate.id)
    return hidden


def is_last_page(definition: Questionnaire, answers: dict, index: int, visible: list[int]) -> bool:
    """Tell whether a page ends the questionnaire whatever is answered on it.

    While a later page depends on items of this page that are not answered yet, it may still
    appear, so the button says "Tiếp tục" rather than "Gửi phiếu" until they are saved.
    """
    if index != visible[-1]:
        return False
    on_page = {item.id for item in engine.page_items(definition.sections[index])}
    for section in definition.sections[index + 1:]:
        expr = section.relevant_expr()
        deciding = expressions.references(expr) & on_page if expr is not None else set()
        if any(item_id not in answers for item_id in deciding):
            return False  # not answered yet: the later page may still appear
    return True
