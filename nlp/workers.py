"""Classification in worker processes, one per core.

One process runs the transformer on every core through torch's threads, but the rest of the
classifier set (VADER, lingua, the PII matcher, n-grams, tokenization) is Python on one core.
A worker per core, each with one torch thread, keeps every core busy: about 1.25 times the
throughput of one process on two cores (``earshot classify`` on real tweets; see the README).

Workers are started fresh (``spawn``: no model state is forked), each loads the configured
pipeline once from the configuration file, and batches come back in the order they went in.
At most two batches per worker are in flight, so memory does not grow with the input.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from core.batching import tune_gc_for_batches
from core.errors import ClassificationError

T = TypeVar("T")
R = TypeVar("R")

TORCH_THREADS_ENV = "EARSHOT_TORCH_THREADS"
"""Threads each process gives torch (default: every core); workers set it to 1."""
IN_FLIGHT_PER_WORKER = 2


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as a container or taskset gives)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def torch_threads() -> int:
    value = os.environ.get(TORCH_THREADS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else usable_cores()


_STATE: dict[str, Any] = {}


def _start(config_path: str, nice: int = 0) -> None:
    os.environ[TORCH_THREADS_ENV] = "1"
    if nice:
        os.nice(nice)
    from core.config import load_config
    from nlp.pipeline import shared_pipeline

    _STATE["pipeline"] = shared_pipeline(load_config(Path(config_path)))
    tune_gc_for_batches()  # after the models are loaded: they are frozen out of collections


def _call(work: Callable[[Any, T], R], item: T) -> R:
    return work(_STATE["pipeline"], item)


class WorkerPool:
    """``workers`` processes, each with the pipeline of the configuration at ``config_path``.

    ``map(work, items)`` runs ``work(pipeline, item)`` in the workers (``work`` must be a
    module-level function) and yields the results in the order of ``items``. The processes
    start on the first ``map`` and stay until :meth:`close` (or the end of a ``with`` block),
    so a run that classifies batch after batch loads the models once per worker. ``nice``
    lowers the workers' CPU priority (``os.nice``): for a caller whose own work, beside
    theirs, is what everything waits for.
    """

    def __init__(self, config_path: Path, workers: int, *, nice: int = 0) -> None:
        if workers < 1:
            raise ValueError(f"workers must be 1 or more, got {workers}")
        self.config_path = Path(config_path)
        self.workers = workers
        self.nice = nice
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def map(self, work: Callable[[Any, T], R], items: Iterable[T]) -> Iterator[R]:
        pool = self._started()
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(_call, work, item))
                if len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool as e:
            raise self._died(e) from None
        finally:
            for future in pending:
                future.cancel()

    def submit_all(self, work: Callable[[Any, T], R], items: Iterable[T]) -> Ahead[R]:
        """Hand every item to the workers now (for a bounded batch: all of it is in flight
        at once) and return at once, so that this process goes on with other work while they
        run; :class:`Ahead` gives the results in the order of ``items``."""
        pool = self._started()
        try:
            return Ahead(self, deque(pool.submit(_call, work, item) for item in items))
        except BrokenProcessPool as e:
            raise self._died(e) from None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(str(self.config_path), self.nice),
            )
        return self._pool

    def _result(self, future: Future[R]) -> R:
        try:
            return future.result()
        except BrokenProcessPool as e:
            raise self._died(e) from None

    def _died(self, error: BrokenProcessPool) -> ClassificationError:
        self.close()
        return ClassificationError(
            f"a classification worker died ({error}); run in one process (earshot classify"
            " --workers 1, or pipeline.workers: 1) to see why"
        )


class Ahead(Iterator[R]):
    """Work handed to a :class:`WorkerPool` all at once: iterating waits for each result in
    turn; :meth:`cancel` drops what has not started (when the caller gives up on it)."""

    def __init__(self, pool: WorkerPool, futures: deque[Future[R]]) -> None:
        self._pool = pool
        self._futures = futures

    def __next__(self) -> R:
        if not self._futures:
            raise StopIteration
        return self._pool._result(self._futures.popleft())

    def cancel(self) -> None:
        while self._futures:
            self._futures.popleft().cancel()


_SHARED: dict[tuple[str, int, int], WorkerPool] = {}


def shared_pool(config_path: Path, workers: int, *, nice: int = 0) -> WorkerPool:
    """One pool per configuration, size and niceness for the whole process (closed at exit),
    so that the batches of a run, or of a backfill, reuse the same loaded workers."""
    key = (str(Path(config_path).resolve()), workers, nice)
    if key not in _SHARED:
        if not _SHARED:
            atexit.register(close_shared_pools)
        _SHARED[key] = WorkerPool(Path(config_path), workers, nice=nice)
    return _SHARED[key]


def shared_pools() -> dict[tuple[str, int, int], WorkerPool]:
    """The shared pools by (configuration path, workers, niceness)."""
    return dict(_SHARED)


def close_shared_pools() -> None:
    while _SHARED:
        _SHARED.popitem()[1].close()
