"""The job kinds: ``@job("kind.name")`` registers a function to run outside the request.

A job function takes the job's parameters (a JSON dict) and a ``Progress`` and returns what the job
page should show (a dict, see survey/jobs/runner.py). Define it in a module that ``create_app``
imports (the views module that enqueues it, or one that module imports), so that the web processes,
the in-process threads and the RQ worker (which runs ``create_app`` too) all know it.
"""

from collections.abc import Callable
from dataclasses import dataclass

JobFunction = Callable[[dict, object], object]


@dataclass(frozen=True)
class JobKind:
    """A registered kind of job: its name, function, label for people, and where its page links back."""

    name: str
    function: JobFunction
    label: object  # a lazy string: rendered in the language of whoever reads it
    back: Callable[[dict], tuple[str, dict]] | None = None  # parameters -> (endpoint, URL values)


_KINDS: dict[str, JobKind] = {}


def job(name: str, label=None, back: Callable[[dict], tuple[str, dict]] | None = None):
    """Register ``fn(params, progress) -> dict`` as the job kind `name`.

    `label` names the job on its page (a lazy string; the kind's name by default); `back` gives,
    from the parameters, the endpoint and URL values of the page the job page links back to.
    """

    def decorator(function: JobFunction) -> JobFunction:
        known = _KINDS.get(name)
        if known is not None and known.function.__qualname__ != function.__qualname__:
            raise ValueError(f"job kind {name!r} is already registered by {known.function.__qualname__}")
        _KINDS[name] = JobKind(name, function, label if label is not None else name, back)
        return function

    return decorator


def find(name: str) -> JobKind | None:
    """Return the registered kind, or None."""
    return _KINDS.get(name)


def kinds() -> dict[str, JobKind]:
    """Return every registered kind by name."""
    return dict(_KINDS)
