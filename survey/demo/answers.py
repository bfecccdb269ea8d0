"""Plausible simulated answers for the demo wave, entered through the same services as real ones."""

import random
from datetime import date, timedelta

from sqlalchemy.orm import Session

from survey.definitions import engine
from survey.definitions.model import Item, Questionnaire
from survey.responses import service
from survey.sampling.models import Invitation


def _choice(item: Item, rng: random.Random, mood: float):
    """Pick an option, leaning towards the better ones by the respondent's mood."""
    options = [o for o in item.options if not o.excluded]
    if item.option("9") is not None and rng.random() < 0.05:
        return "9"
    scored = [o for o in options if isinstance(o.score, int | float)]
    if len(scored) == len(options) and options:  # PAR A/B/C/D: higher fraction is better
        ranked = sorted(options, key=lambda o: o.score, reverse=True)
    else:  # SIPAS scale 1..5: higher code is better
        ranked = sorted(options, key=lambda o: o.code, reverse=True)
    position = min(int(abs(rng.gauss(0, 1.0 - mood)) * len(ranked) / 2), len(ranked) - 1)
    return ranked[position].code


def _value(item: Item, rng: random.Random, mood: float):
    """Return a random but valid answer for an item, or None to leave it out."""
    if item.type == "single_choice":
        return _choice(item, rng, mood)
    if item.type == "multiple_choice":
        codes = [o.code for o in item.options if not o.excluded]
        upper = int(item.max) if item.max is not None else 3
        return rng.sample(codes, k=min(len(codes), rng.randint(1, max(1, upper))))
    if item.type in ("integer", "decimal"):
        low = float(item.min) if item.min is not None else 0
        high = float(item.max) if item.max is not None else low + 10
        return float(rng.randint(int(low), int(min(high, low + 50))))
    return None  # free text and dates stay empty: the demo invents no words


def simulated_answers(definition: Questionnaire, rng: random.Random) -> dict:
    """Answer every shown item page by page, keeping only what passes the page rules."""
    mood = rng.uniform(0.3, 0.9)
    answers: dict = {}
    for section in definition.sections:
        if not engine.section_visible(section, answers):
            continue
        for item in engine.page_items(section):
            if not engine.item_visible(item, answers):
                continue
            value = _value(item, rng, mood)
            raw = {item.id: value if isinstance(value, list) or value is None else
                   (str(int(value)) if isinstance(value, float) else value)}
            result = engine.read_page(section, raw, answers)
            if item.id not in result.errors and result.values.get(item.id) is not None:
                answers[item.id] = result.values[item.id]
    return engine.prune(definition, answers)


def answer_invitation(session: Session, invitation: Invitation, definition: Questionnaire,
                      version_id: int, rng: random.Random, today: date) -> None:
    """Answer and submit every unit of an invitation, as its respondent would have."""
    for entry in list(invitation.units):
        draft = service.start_draft(session, invitation, entry.unit_id, version_id)
        service.save_answers(session, draft, definition, simulated_answers(definition, rng))
        draft.page_seconds = {s.id: 5 * rng.randint(2, 18) for s in definition.sections}
        draft.device_class = rng.choice(["phone", "phone", "phone", "desktop"])
        service.submit(session, draft, invitation, today=today - timedelta(days=rng.randint(0, 6)))
