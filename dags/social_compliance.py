"""Compliance pass: re-check stored posts against X and Reddit and remove what was deleted,
made protected or removed by moderators, from the store, the queues and the search index."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, task


@dag(
    schedule=timedelta(days=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["earshot", "compliance"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=15)},
    doc_md=__doc__,
)
def social_compliance() -> None:
    @task
    def sources(kind: str) -> list[str]:
        from core.config import load_config

        return load_config().source_names(kind=kind)

    @task
    def check(source: str) -> dict[str, Any]:
        from core.config import load_config
        from services import pipeline

        return pipeline.compliance(load_config(), source)

    for kind, pool in (("x", "x_api"), ("reddit", "reddit_api")):
        check.override(task_id=f"check_{kind}", pool=pool).expand(
            source=sources.override(task_id=f"{kind}_sources")(kind)
        )


social_compliance()
