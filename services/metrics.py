"""Operational metrics, sent through Airflow's StatsD/OpenTelemetry setup when Earshot runs
inside Airflow (``[metrics]`` in airflow.cfg); a no-op otherwise. Outside Airflow (the
``earshot`` command), Airflow is never imported for them: importing it reconfigures logging
and writes an ``airflow.cfg``."""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


def _stats() -> Any:
    if "airflow.sdk" not in sys.modules:  # not running in Airflow
        return None
    try:
        from airflow.sdk.observability.stats import Stats

        return Stats
    except ImportError:  # Airflow absent: metrics are off
        return None


def record_collection(source: str, *, fetched: int, new_gaps: int, rate_limited: bool) -> None:
    """Per-source counters: posts fetched, coverage gaps opened, rate-limit stops."""
    stats = _stats()
    if stats is None:
        return
    tags = {"source": source}
    stats.incr("earshot.posts_fetched", fetched, tags=tags)
    if new_gaps:
        stats.incr("earshot.coverage_gaps", new_gaps, tags=tags)
    if rate_limited:
        stats.incr("earshot.rate_limited", 1, tags=tags)


def record_breach(queue: str) -> None:
    """A case's SLA was breached (counted once per case)."""
    stats = _stats()
    if stats is None:
        return
    stats.incr("earshot.sla_breaches", 1, tags={"queue": queue})
