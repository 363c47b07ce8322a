"""Shared pieces of Earshot: the data model, configuration, storage and the pipeline steps.

Every other package speaks in the types defined in :mod:`core.models`.
"""

from core.models import (
    Author,
    DeadLetter,
    Enrichment,
    Label,
    PiiSpan,
    Post,
    PrivateDecision,
    RoutingDecision,
)

__all__ = [
    "Author",
    "DeadLetter",
    "Enrichment",
    "Label",
    "PiiSpan",
    "Post",
    "PrivateDecision",
    "RoutingDecision",
]
