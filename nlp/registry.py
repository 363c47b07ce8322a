"""The classifier interface and the registry of versioned classifier names."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from core.models import Post

TASKS: tuple[str, ...] = ("language", "spam", "sentiment", "pii", "intent", "private")
"""Every task, in the order the pipeline runs them (later tasks may read earlier results)."""


class Classifier:
    """Base class: ``predict`` returns one result per post and never mutates its input.

    ``prior`` holds, for each post, the results of the tasks that ran before this one (see
    :data:`TASKS`), so a classifier such as public-to-private can combine intent and PII.
    Subclasses keep ``__init__`` cheap and load models on first use.
    """

    name: ClassVar[str] = ""
    assigns: ClassVar[tuple[str, ...]] = ()

    def predict(self, posts: Sequence[Post], prior: Sequence[Mapping[str, Any]]) -> list[Any]:
        raise NotImplementedError


_REGISTRY: dict[str, tuple[type[Classifier], tuple[str, ...]]] = {}


class UnknownClassifierError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def register_classifier(
    name: str, *, assigns: tuple[str, ...]
) -> Callable[[type[Classifier]], type[Classifier]]:
    """Register a classifier class under a versioned name such as ``intent.keywords.v1``."""
    unknown = set(assigns) - set(TASKS)
    if unknown:
        raise ValueError(f"classifier {name!r} assigns unknown tasks {sorted(unknown)}")

    def decorator(cls: type[Classifier]) -> type[Classifier]:
        if name in _REGISTRY and _REGISTRY[name][0] is not cls:
            raise ValueError(f"classifier name {name!r} is already registered")
        cls.name = name
        cls.assigns = assigns
        _REGISTRY[name] = (cls, assigns)
        return cls

    return decorator


def _load_builtins() -> None:
    # Importing each module registers its classifiers.
    import nlp.language
    import nlp.pii
    import nlp.rules
    import nlp.trained  # noqa: F401


def available_classifiers() -> dict[str, tuple[str, ...]]:
    _load_builtins()
    return {name: assigns for name, (_, assigns) in sorted(_REGISTRY.items())}


def get_classifier(name: str, **options: Any) -> Classifier:
    _load_builtins()
    if name not in _REGISTRY:
        raise UnknownClassifierError(
            f"no classifier registered as {name!r}; available: {', '.join(sorted(_REGISTRY))}"
        )
    cls = _REGISTRY[name][0]
    # Pass each classifier the options its __init__ takes, out of those the caller offers.
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{k: v for k, v in options.items() if k in accepted})
