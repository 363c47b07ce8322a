"""Earshot's listening cycle: collect (one task per source) -> classify -> store and index -> route.

Each task calls one function of :mod:`core.pipeline`; XCom carries batch ids and counts only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, task


@dag(
    schedule=timedelta(minutes=15),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["earshot"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    doc_md=__doc__,
)
def social_listening() -> None:
    @task
    def start() -> str:
        from core.config import load_config
        from core.pipeline import start_run

        return start_run(load_config())

    @task
    def sources() -> list[str]:
        from core.pipeline import source_names

        return source_names()

    @task(max_active_tis_per_dagrun=4)
    def collect(source: str, cycle: str) -> dict[str, Any]:
        from core import pipeline
        from core.config import load_config

        return pipeline.collect(load_config(), source, cycle)

    @task
    def classify(batch: dict[str, Any]) -> dict[str, Any]:
        from core import pipeline
        from core.config import load_config

        return pipeline.classify(load_config(), batch["batch_id"])

    @task
    def store_and_index(batch: dict[str, Any]) -> dict[str, Any]:
        from core import pipeline
        from core.config import load_config

        return pipeline.store_and_index(load_config(), batch["batch_id"])

    @task
    def route(batch: dict[str, Any]) -> dict[str, Any]:
        from core import pipeline
        from core.config import load_config

        return pipeline.route(load_config(), batch["batch_id"])

    @task
    def finish(cycle: str, routed: list[dict[str, Any]]) -> dict[str, Any]:
        from core import pipeline
        from core.config import load_config

        config = load_config()
        summary = pipeline.finish_run(config, cycle)
        print(pipeline.format_report(summary, pipeline.open_store(config)))
        return {"cycle": cycle, "new_posts": summary["new_posts"]}

    cycle = start()
    batches = collect.partial(cycle=cycle).expand(source=sources())
    classified = classify.expand(batch=batches)
    stored = store_and_index.expand(batch=classified)
    routed = route.expand(batch=stored)
    finish(cycle, routed)  # type: ignore[arg-type]  # XComArgs resolve at run time


social_listening()
