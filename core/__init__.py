"""Earshot's foundation: the data model, configuration, errors and small shared helpers.

It imports nothing else of Earshot's; every other package speaks in the types of
:mod:`core.models` and raises the errors of :mod:`core.errors`.
"""

from core.errors import EarshotError
from core.models import (
    Author,
    DeadLetter,
    Enrichment,
    Label,
    PiiResult,
    PiiSpan,
    Post,
    PrivateDecision,
    RoutingDecision,
)

__all__ = [
    "Author",
    "DeadLetter",
    "EarshotError",
    "Enrichment",
    "Label",
    "PiiResult",
    "PiiSpan",
    "Post",
    "PrivateDecision",
    "RoutingDecision",
]
