"""Messages a job stores for later display: kept as msgid and parameters, rendered in the reader's language.

A job runs outside any request, so it cannot know who will read its outcome, nor in which language.
It stores ``message(_l("Đã ghi %(n)s người.", n=12))``, which keeps the Vietnamese msgid and its
parameters as JSON; the job page renders it with ``render`` in the language of whoever opens it.
"""

from flask_babel import gettext
from flask_babel.speaklater import LazyString


def _plain(value):
    """Return a JSON-safe parameter value (numbers, text, booleans and None stay, anything else as text)."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def message(value) -> dict:
    """Return a storable form of a message: a lazy string keeps its msgid and parameters, text stays text."""
    if isinstance(value, LazyString) and value._func is gettext and value._args:
        # flask_babel keeps the call's arguments on the lazy string: the msgid and its parameters.
        return {"msgid": str(value._args[0]), "params": {k: _plain(v) for k, v in value._kwargs.items()}}
    return {"text": str(value)}


def msgid(value) -> str:
    """Return the text to store for a short progress message: the msgid of a lazy string without
    parameters (translated when shown), else the message as rendered now."""
    if isinstance(value, LazyString) and value._func is gettext and value._args and not value._kwargs:
        return str(value._args[0])
    return str(value)


def render(stored) -> str:
    """Render a stored message (from ``message``, a lazy string, or plain text) in the current language."""
    if isinstance(stored, LazyString):
        return str(stored)
    if isinstance(stored, dict):
        if "msgid" in stored:
            return gettext(stored["msgid"], **(stored.get("params") or {}))
        return str(stored.get("text", ""))
    return gettext(stored) if stored else ""
