"""Batch sizes Earshot uses everywhere, and the helpers that cut items into them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

T = TypeVar("T")

SQL_BATCH = 500
"""Ids per ``IN (...)`` list or multi-row statement: well under every backend's limits."""

CLASSIFY_BATCH = 256
"""Posts per classifier call: large enough for the encoders, small enough for progress output."""


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of ``items``, each at most ``size`` long."""
    if size <= 0:
        raise ValueError(f"chunk size must be positive, got {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items from any iterable (read lazily)."""
    if size <= 0:
        raise ValueError(f"batch size must be positive, got {size}")
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
