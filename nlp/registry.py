"""The classifier interface and the registry of versioned classifier names.

A classifier class registers itself with :func:`register_classifier`, naming the tasks it
assigns and the tasks whose results it reads. The registry never imports a classifier module
itself: it imports the modules listed in :mod:`nlp.catalog` on the first lookup.
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple, TypeVar

from core.errors import ClassificationError, UnknownClassifierError
from core.models import Post, TaskResult
from nlp.catalog import BUILTIN_MODULES

Prior = Mapping[str, TaskResult]
"""For one post, the results of the tasks a classifier requires, by task."""


class Classifier:
    """Base class: ``predict`` returns one result per post, in order, and never mutates its
    input.

    ``prior`` holds, for each post, the results of the tasks the classifier ``requires`` (the
    pipeline runs those first), so that public-to-private can combine intent and PII.
    Subclasses keep ``__init__`` cheap, take keyword-only options and load models on first use.
    """

    name: ClassVar[str] = ""
    assigns: ClassVar[tuple[str, ...]] = ()
    requires: ClassVar[tuple[str, ...]] = ()

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> Sequence[TaskResult]:
        """One result per post for the classifier's task."""
        raise NotImplementedError

    def predict_tasks(
        self, posts: Sequence[Post], prior: Sequence[Prior]
    ) -> list[dict[str, TaskResult]]:
        """For each post, a result per assigned task. A classifier that assigns one task
        implements :meth:`predict`; one that assigns several overrides this instead."""
        if len(self.assigns) != 1:
            raise ClassificationError(
                f"classifier {self.name!r} assigns {list(self.assigns)}: it must override"
                " predict_tasks"
            )
        (task,) = self.assigns
        return [{task: result} for result in self.predict(posts, prior)]


class ClassifierSpec(NamedTuple):
    """What a registered classifier assigns and what it reads."""

    assigns: tuple[str, ...]
    requires: tuple[str, ...]


C = TypeVar("C", bound=type[Classifier])

_NAME = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*\.v\d+$")
_REGISTRY: dict[str, type[Classifier]] = {}
_loaded = False
_loading = threading.RLock()


def register_classifier(
    name: str, *, assigns: Sequence[str], requires: Sequence[str] = ()
) -> Callable[[C], C]:
    """Register a classifier class under a versioned name such as ``intent.keywords.v1``.

    ``assigns`` are the tasks it gives a result for; ``requires`` the tasks whose results it
    reads (the pipeline runs them first and passes their results as ``prior``).
    """
    assigned, required = tuple(assigns), tuple(requires)
    if not _NAME.match(name):
        raise ClassificationError(
            f"classifier name {name!r} is not of the form <task>.<method>.v<version>"
        )
    if not assigned:
        raise ClassificationError(f"classifier {name!r} assigns no task")
    if set(assigned) & set(required):
        raise ClassificationError(
            f"classifier {name!r} cannot require a task it assigns"
            f" ({sorted(set(assigned) & set(required))})"
        )

    def decorator(cls: C) -> C:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ClassificationError(f"classifier name {name!r} is already registered")
        cls.name = name
        cls.assigns = assigned
        cls.requires = required
        _REGISTRY[name] = cls
        return cls

    return decorator


def _load_builtins() -> None:
    """Import every module of the catalog once; each registers its classifier."""
    global _loaded
    if _loaded:
        return
    with _loading:
        if _loaded:
            return
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
            if not any(cls.__module__ == module for cls in _REGISTRY.values()):
                raise ClassificationError(f"catalog module {module} registers no classifier")
        _loaded = True


def available_classifiers() -> dict[str, ClassifierSpec]:
    """Every registered name, sorted, with the tasks it assigns and the tasks it requires."""
    _load_builtins()
    return {
        name: ClassifierSpec(cls.assigns, cls.requires) for name, cls in sorted(_REGISTRY.items())
    }


def classifier_class(name: str) -> type[Classifier]:
    """The class registered under ``name``."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownClassifierError(
            f"no classifier registered as {name!r}; available: {', '.join(sorted(_REGISTRY))}"
        ) from None


def get_classifier(name: str, **options: Any) -> Classifier:
    """An instance of the classifier registered under ``name``.

    Each classifier gets the options its ``__init__`` takes, out of those offered (so a
    caller can offer every option of the configuration to any classifier).
    """
    cls = classifier_class(name)
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{k: v for k, v in options.items() if k in accepted})
